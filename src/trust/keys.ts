import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/** A key's ID (and Sigstore bundle key hint): lowercase hex SHA-256 of its SPKI DER encoding. */
export function keyIdOf(key: KeyObject | string): string {
  const pub = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(pub.export({ format: 'der', type: 'spki' })).digest('hex');
}

export function spkiPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ format: 'pem', type: 'spki' }).toString();
}
