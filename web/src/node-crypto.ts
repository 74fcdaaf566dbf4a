/**
 * The one piece of node:crypto the shared log code needs (SHA-256), for the browser build.
 * Everything else in the page uses WebCrypto.
 */
import { sha256 } from '@noble/hashes/sha2.js';

export function createHash(algorithm: string) {
  if (algorithm !== 'sha256') throw new Error(`unsupported hash ${algorithm}`);
  const h = sha256.create();
  const api = {
    update(data: Uint8Array) {
      h.update(data);
      return api;
    },
    digest() {
      return h.digest();
    },
  };
  return api;
}

const unavailable = () => {
  throw new Error('not available in the browser');
};
export const createPublicKey = unavailable;
export const sign = unavailable;
export const verify = unavailable;
