/**
 * Node's side of the log's cryptography: Ed25519 keys held as KeyObjects (key files), signing
 * with them, and Node's native SHA-256 for the log core. The log core and the verifier are
 * pure and portable; only the ledger process and the CLI use this file.
 */
import { createHash, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { LogError, ed25519Signer, ed25519Verifier, useSha256, verifierKeyString as keyString, type NoteSigner, type NoteVerifier } from '../log/index.js';

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
