/**
 * The signature checks the log core and the verifier need: Ed25519 (log key: checkpoints,
 * entry timestamps, evidence) and ECDSA P-256 with SHA-256 (participants' DSSE signatures).
 * Portable by default (@noble/curves, pure JS, the browser runs it); a host with native
 * crypto hands in faster ones once at start-up. Both must accept exactly the same signatures.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { bytesEqual } from './bytes.js';

export interface SignatureCheckers {
  /** `publicKey` is the raw 32-byte key. */
  ed25519(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean;
  /** `spki` is the SubjectPublicKeyInfo DER; `signature` is DER (r, s), high or low S. */
  p256(spki: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean;
}

/** SPKI DER prefix of an uncompressed P-256 key (id-ecPublicKey, prime256v1, BIT STRING of 66). */
const P256_SPKI_PREFIX = Uint8Array.from([0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]);
/** SPKI DER prefix of an Ed25519 key (RFC 8410). */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** The uncompressed point of a P-256 SPKI key, or undefined when it is not one. */
export function p256Point(spki: Uint8Array): Uint8Array | undefined {
  if (spki.length !== P256_SPKI_PREFIX.length + 65 || !bytesEqual(spki.subarray(0, P256_SPKI_PREFIX.length), P256_SPKI_PREFIX)) return undefined;
  return spki.subarray(P256_SPKI_PREFIX.length);
}

/** The raw key of an Ed25519 SPKI key, or undefined when it is not one. */
export function ed25519FromSpki(spki: Uint8Array): Uint8Array | undefined {
  if (spki.length !== ED25519_SPKI_PREFIX.length + 32 || !bytesEqual(spki.subarray(0, ED25519_SPKI_PREFIX.length), ED25519_SPKI_PREFIX)) return undefined;
  return spki.subarray(ED25519_SPKI_PREFIX.length);
}

const portable: SignatureCheckers = {
  ed25519: (publicKey, signature, message) => {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  p256: (spki, signature, message) => {
    const point = p256Point(spki);
    if (!point) return false;
    try {
      return p256.verify(signature, message, point, { prehash: true, lowS: false, format: 'der' });
    } catch {
      return false;
    }
  },
};

let impl: SignatureCheckers = portable;

export function useSignatureCheckers(checkers: SignatureCheckers): void {
  impl = checkers;
}

export function verifyEd25519(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  return impl.ed25519(publicKey, signature, message);
}

export function verifyP256(spki: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  return impl.p256(spki, signature, message);
}
