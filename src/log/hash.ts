/**
 * RFC 9162 section 2.1.1 hashing: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || l || r),
 * and the hash of the empty tree is SHA-256 of the empty string.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** An incremental SHA-256: what the log needs of a hash function. */
export type Sha256 = (parts: readonly Uint8Array[]) => Uint8Array;

const portable: Sha256 = (parts) => {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
};
let impl: Sha256 = portable;

/**
 * The log core runs anywhere with a portable SHA-256; a host with a faster one (Node's
 * native crypto) hands it in once at start-up. Both give the same bytes.
 */
export function useSha256(hash: Sha256): void {
  impl = hash;
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  return impl(parts);
}

export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, entry);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

export const EMPTY_ROOT: Uint8Array = sha256();

/** Root of a list of leaf hashes, computed directly from the RFC's recursive definition. */
export function rootFromLeafHashes(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  // Fold level by level; an odd node at the right edge is promoted unchanged, which is the
  // iterative form of MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
  let level = leaves.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

