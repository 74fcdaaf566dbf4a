/**
 * Node's side of the log's cryptography: Ed25519 keys held as KeyObjects (key files), signing
 * with them, and Node's native SHA-256 for the log core. The log core and the verifier are
 * pure and portable; only the ledger process and the CLI use this file.
 */
import { createHash, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { LogError, ed25519Signer, ed25519Verifier, p256Point, toHex, useSha256, useSignatureCheckers, verifierKeyString as keyString, type NoteSigner, type NoteVerifier } from '../log/index.js';

/** Raw 32-byte Ed25519 public key from a KeyObject. */
export function ed25519Raw(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new LogError('INVALID_ARGUMENT', 'not an Ed25519 key');
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

export function ed25519NoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  return ed25519Signer(name, ed25519Raw(privateKey), (m) => new Uint8Array(cryptoSign(null, m, privateKey)));
}

export function ed25519NoteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  return ed25519Verifier(name, ed25519Raw(publicKey));
}

export function verifierKeyString(name: string, publicKey: KeyObject): string {
  return keyString(name, ed25519Raw(publicKey));
}

/** Hands Node's native SHA-256 to the log core (same bytes as the portable one, faster). */
export function useNativeSha256(): void {
  useSha256((parts) => {
    const h = createHash('sha256');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  });
}

/** Public keys seen by the native checkers, parsed once each (bounded). */
const keyCache = new Map<string, KeyObject>();
function cached(id: string, make: () => KeyObject): KeyObject {
  let k = keyCache.get(id);
  if (!k) {
    if (keyCache.size >= 4096) keyCache.clear();
    k = make();
    keyCache.set(id, k);
  }
  return k;
}

/** Hands Node's native Ed25519 and P-256 checks to the log core and the verifier. */
export function useNativeSignatureCheckers(): void {
  useSignatureCheckers({
    ed25519: (publicKey, signature, message) => {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      const key = cached(`ed:${toHex(publicKey)}`, () => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' }));
      return cryptoVerify(null, message, key, signature);
    },
    p256: (spki, signature, message) => {
      if (!p256Point(spki)) return false;
      try {
        const key = cached(`p256:${toHex(spki)}`, () => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
        return cryptoVerify('sha256', message, key, signature);
      } catch {
        return false;
      }
    },
  });
}

/** Native SHA-256 and signature checks, for Node entry points (ledger, CLI, benchmarks). */
export function useNativeCrypto(): void {
  useNativeSha256();
  useNativeSignatureCheckers();
}
