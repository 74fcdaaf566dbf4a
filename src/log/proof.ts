/**
 * RFC 9162 section 2.1.3 (inclusion) and 2.1.4 (consistency) proofs.
 *
 * Deciding which subtrees a proof needs (`inclusionRanges`, `consistencyRanges`) is kept apart
 * from fetching their hashes, so a store can serve each range from tiles and the algorithms can
 * be tested without any storage at all.
 */
import { bytesEqual } from './bytes.js';
import { HASH_SIZE, nodeHash } from './hash.js';
import { LogError } from './errors.js';

/** A half-open range of leaves [start, end) whose Merkle tree hash (MTH) a proof needs. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

function largestPowerOfTwoBelow(n: number): number {
  // n >= 2 here; the loop stays in float-safe integers (sizes are bounded by 2^53).
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new LogError('INVALID_ARGUMENT', `${name} must be a non-negative integer`);
  }
}

/** Ranges of PATH(index, D[0:size]) in proof order (from the leaf upwards). */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  checkSize('index', index);
  checkSize('treeSize', size);
  if (index >= size) {
    throw new LogError('INDEX_OUT_OF_RANGE', `index ${index} is outside a tree of size ${size}`);
  }
  const out: LeafRange[] = [];
  const path = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n <= 1) return;
    const k = largestPowerOfTwoBelow(n);
    if (m < k) {
      path(m, start, start + k);
      out.push({ start: start + k, end });
    } else {
      path(m - k, start + k, end);
      out.push({ start, end: start + k });
    }
  };
  path(index, 0, size);
  return out;
}

/** Ranges of PROOF(m, D[0:n]) (RFC 9162 2.1.4.1) in proof order. Empty when m == n or m == 0. */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  checkSize('fromSize', m);
  checkSize('toSize', n);
  if (m > n) {
    throw new LogError('TREE_SIZE_OUT_OF_RANGE', `fromSize ${m} is larger than toSize ${n}`);
  }
  const out: LeafRange[] = [];
  if (m === 0 || m === n) return out;
  const sub = (mm: number, start: number, end: number, b: boolean): void => {
    const nn = end - start;
    if (mm === nn) {
      if (!b) out.push({ start, end });
      return;
    }
    const k = largestPowerOfTwoBelow(nn);
    if (mm <= k) {
      sub(mm, start, start + k, b);
      out.push({ start: start + k, end });
    } else {
      sub(mm - k, start + k, end, false);
      out.push({ start, end: start + k });
    }
  };
  sub(m, 0, n, true);
  return out;
}

function checkHashes(proof: readonly Uint8Array[]): void {
  for (const p of proof) {
    if (p.length !== HASH_SIZE) throw new LogError('PROOF_MALFORMED', 'proof hash is not 32 bytes');
  }
}

function isOdd(n: number): boolean {
  return n % 2 === 1;
}

function isPowerOfTwo(n: number): boolean {
  while (n > 1 && n % 2 === 0) n /= 2;
  return n === 1;
}

function half(n: number): number {
  return Math.floor(n / 2);
}

/** Computes the root implied by an inclusion proof (RFC 9162 2.1.3.2). */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkSize('index', index);
  checkSize('treeSize', size);
  if (index >= size) {
    throw new LogError('INDEX_OUT_OF_RANGE', `index ${index} is outside a tree of size ${size}`);
  }
  if (leaf.length !== HASH_SIZE) throw new LogError('PROOF_MALFORMED', 'leaf hash is not 32 bytes');
  checkHashes(proof);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new LogError('PROOF_MALFORMED', 'inclusion proof is too long');
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new LogError('PROOF_MALFORMED', 'inclusion proof is too short');
  return r;
}

export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  if (!bytesEqual(computed, root)) {
    throw new LogError('ROOT_MISMATCH', 'inclusion proof does not lead to the expected root');
  }
}

/**
 * Verifies a consistency proof (RFC 9162 2.1.4.2). A proof from the empty tree is rejected as
 * meaningless: every tree extends the empty one, so callers treat size 0 as trivially consistent
 * before asking for a proof.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkSize('fromSize', size1);
  checkSize('toSize', size2);
  if (size1 > size2) {
    throw new LogError('TREE_SIZE_OUT_OF_RANGE', `fromSize ${size1} is larger than toSize ${size2}`);
  }
  if (size1 === 0) {
    throw new LogError('PROOF_MALFORMED', 'a consistency proof from the empty tree proves nothing');
  }
  if (size1 === size2) {
    if (proof.length > 0) throw new LogError('PROOF_MALFORMED', 'sizes are equal but the proof is not empty');
    if (!bytesEqual(root1, root2)) throw new LogError('ROOT_MISMATCH', 'equal sizes with different roots');
    return;
  }
  if (proof.length === 0) throw new LogError('PROOF_MALFORMED', 'consistency proof is empty');
  checkHashes(proof);
  const path = [...proof];
  // A first tree whose size is a power of two is itself a node of the second tree, so its root
  // is the starting point and the proof omits it.
  if (isPowerOfTwo(size1)) path.unshift(root1);
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new LogError('PROOF_MALFORMED', 'consistency proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new LogError('PROOF_MALFORMED', 'consistency proof is too short');
  if (!bytesEqual(fr, root1)) throw new LogError('ROOT_MISMATCH', 'consistency proof does not match the first root');
  if (!bytesEqual(sr, root2)) throw new LogError('ROOT_MISMATCH', 'consistency proof does not match the second root');
}
