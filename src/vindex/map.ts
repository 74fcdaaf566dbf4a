/**
 * The verifiable index: an authenticated map from lookup keys (a device, a part serial, a lot,
 * a firmware digest, a participant, a signing key) to the ordered list of log indexes that name
 * them. It is a compact sparse Merkle tree over SHA-256 key hashes: a subtree holding one key is
 * represented by that key's leaf, so an update costs O(log n) hashes and a proof holds one
 * sibling per level down to where the key's path ends. The proof shows the complete list for a
 * key, or that the key is absent.
 *
 *   key hash     = SHA-256("pedigree vindex key v1\n" ‖ key)
 *   value hash   = SHA-256(0x02 ‖ uint64be(index)…)        the ordered list of log indexes
 *   leaf hash    = SHA-256(0x00 ‖ key hash ‖ value hash)
 *   node hash    = SHA-256(0x01 ‖ left ‖ right)
 *   empty        = 32 zero bytes (no preimage: an empty subtree is never a hash)
 *
 * A node with an empty child and a leaf child is collapsed into the leaf, so every tree state
 * has exactly one shape and one root. Pure, no Node APIs: the page verifies proofs with it.
 */
import { bytesEqual, fromBase64, toBase64, utf8 } from '../log/bytes.js';
import { sha256 } from '../log/hash.js';

export const EMPTY = new Uint8Array(32);
const DEPTH = 256;

export function keyHash(key: string): Uint8Array {
  return sha256(utf8('pedigree vindex key v1\n'), utf8(key));
}

export function valueHash(indexes: readonly number[]): Uint8Array {
  const out = new Uint8Array(1 + 8 * indexes.length);
  out[0] = 0x02;
  const view = new DataView(out.buffer);
  indexes.forEach((v, i) => view.setBigUint64(1 + 8 * i, BigInt(v)));
  return sha256(out);
}

const leafHash = (k: Uint8Array, v: Uint8Array) => sha256(Uint8Array.of(0x00), k, v);
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(Uint8Array.of(0x01), l, r);
const bit = (k: Uint8Array, depth: number) => (k[depth >> 3]! >> (7 - (depth & 7))) & 1;

type Leaf = { readonly kind: 'leaf'; readonly key: Uint8Array; readonly value: Uint8Array; readonly hash: Uint8Array };
type Node = Leaf | { readonly kind: 'node'; readonly left: Tree; readonly right: Tree; readonly hash: Uint8Array };
type Tree = Node | undefined;

const hashOf = (t: Tree) => (t ? t.hash : EMPTY);
function leaf(key: Uint8Array, value: Uint8Array): Leaf {
  return { kind: 'leaf', key, value, hash: leafHash(key, value) };
}
/** A node from two children, collapsed when one is empty and the other a leaf. */
function join(left: Tree, right: Tree): Tree {
  if (!left && !right) return undefined;
  if (!left && right?.kind === 'leaf') return right;
  if (!right && left?.kind === 'leaf') return left;
  return { kind: 'node', left, right, hash: nodeHash(hashOf(left), hashOf(right)) };
}

function insert(t: Tree, key: Uint8Array, value: Uint8Array, depth: number): Tree {
  if (!t) return leaf(key, value);
  if (t.kind === 'leaf') {
    if (bytesEqual(t.key, key)) return leaf(key, value);
    // Split: push both leaves down until their paths part.
    return split(t, leaf(key, value), depth);
  }
  return bit(key, depth) === 0 ? join(insert(t.left, key, value, depth + 1), t.right) : join(t.left, insert(t.right, key, value, depth + 1));
}

function split(a: Leaf, b: Leaf, depth: number): Tree {
  if (depth >= DEPTH) throw new Error('key hash collision');
  const ba = bit(a.key, depth);
  const bb = bit(b.key, depth);
  if (ba !== bb) return ba === 0 ? join(a, b) : join(b, a);
  // `below` holds two leaves, so it is never collapsed into its parent.
  const below = split(a, b, depth + 1);
  return ba === 0 ? join(below, undefined) : join(undefined, below);
}

export interface LookupProof {
  /** Sibling hashes from the root down, one per level of the key's path. */
  readonly siblings: Uint8Array[];
  /** Where the path ends: the key's own leaf, another key's leaf, or an empty subtree. */
  readonly terminal: { readonly kind: 'empty' } | { readonly kind: 'leaf'; readonly key: Uint8Array; readonly value: Uint8Array };
}

/** The map. Values are held by the caller; the tree holds their hashes. */
export class VerifiableMap {
  private tree: Tree;

  get root(): Uint8Array {
    return hashOf(this.tree);
  }

  /** A copy sharing this map's nodes (nodes are never changed in place): changing it leaves this map as it is. */
  clone(): VerifiableMap {
    const copy = new VerifiableMap();
    copy.tree = this.tree;
    return copy;
  }

  /** Sets the value hash of `key` (a key hash). */
  set(key: Uint8Array, value: Uint8Array): void {
    if (key.length !== 32 || value.length !== 32) throw new Error('keys and values are 32-byte hashes');
    this.tree = insert(this.tree, key, value, 0);
  }

  prove(key: Uint8Array): LookupProof {
    const siblings: Uint8Array[] = [];
    let t = this.tree;
    for (let depth = 0; t && t.kind === 'node'; depth++) {
      const right = bit(key, depth) === 1;
      siblings.push(hashOf(right ? t.left : t.right));
      t = right ? t.right : t.left;
    }
    return { siblings, terminal: t ? { kind: 'leaf', key: t.key, value: t.value } : { kind: 'empty' } };
  }
}

/**
 * Checks a lookup proof against a root: returns the value hash the map holds for `key`, or
 * undefined when the proof shows the key absent. Throws when the proof does not lead to `root`.
 */
export function verifyLookup(root: Uint8Array, key: Uint8Array, proof: LookupProof): Uint8Array | undefined {
  const n = proof.siblings.length;
  if (n > DEPTH || key.length !== 32 || root.length !== 32) throw new Error('malformed lookup proof');
  const t = proof.terminal;
  let h: Uint8Array;
  if (t.kind === 'leaf') {
    if (t.key.length !== 32 || t.value.length !== 32) throw new Error('malformed lookup proof');
    // Another key's leaf can end the path only if it shares the path so far.
    for (let d = 0; d < n; d++) if (bit(t.key, d) !== bit(key, d)) throw new Error('the proof ends at a leaf off the key’s path');
    h = leafHash(t.key, t.value);
  } else {
    h = EMPTY;
  }
  // Canonical shape: the level above a leaf or an empty end has a non-empty sibling.
  if (n > 0 && bytesEqual(proof.siblings[n - 1]!, EMPTY)) throw new Error('the proof is not in canonical form');
  for (let d = n - 1; d >= 0; d--) {
    const s = proof.siblings[d]!;
    if (s.length !== 32) throw new Error('malformed lookup proof');
    h = bit(key, d) === 1 ? nodeHash(s, h) : nodeHash(h, s);
  }
  if (!bytesEqual(h, root)) throw new Error('the lookup proof does not lead to the root');
  return t.kind === 'leaf' && bytesEqual(t.key, key) ? t.value : undefined;
}

/** The whole list for a key, checked: its indexes, or [] when the proof shows the key absent. */
export function verifyList(root: Uint8Array, key: string, indexes: readonly number[], proof: LookupProof): void {
  const got = verifyLookup(root, keyHash(key), proof);
  const want = indexes.length === 0 ? undefined : valueHash(indexes);
  if (got === undefined ? want !== undefined : want === undefined || !bytesEqual(got, want)) throw new Error(`the list for ${key} is not the one the index holds`);
}


/** The checkpoint extension line that commits the index root: "pedigree/vindex/v2 <base64 root>". */
export const INDEX_LINE_PREFIX = 'pedigree/vindex/v2 ';

export function indexRootLine(root: Uint8Array): string {
  return `${INDEX_LINE_PREFIX}${toBase64(root)}`;
}

/** The index root a checkpoint commits, or undefined when it has no (well-formed) index line. */
export function indexRootOf(extensions: readonly string[]): Uint8Array | undefined {
  const lines = extensions.filter((l) => l.startsWith(INDEX_LINE_PREFIX));
  if (lines.length !== 1) return undefined;
  try {
    const root = fromBase64(lines[0]!.slice(INDEX_LINE_PREFIX.length));
    return root.length === 32 ? root : undefined;
  } catch {
    return undefined;
  }
}

export interface Lookup {
  readonly key: string;
  /** Every log index filed under the key, ascending; empty when the key is absent. */
  readonly indexes: number[];
  readonly proof: LookupProof;
}

/** A lookup as JSON (evidence packages, GraphQL): hashes in base64. */
export interface LookupJson {
  key: string;
  indexes: number[];
  proof: { siblings: string[]; leaf?: { key: string; value: string } };
}

export function lookupToJson(l: Lookup): LookupJson {
  const t = l.proof.terminal;
  return {
    key: l.key,
    indexes: l.indexes,
    proof: { siblings: l.proof.siblings.map(toBase64), ...(t.kind === 'leaf' && { leaf: { key: toBase64(t.key), value: toBase64(t.value) } }) },
  };
}

/** Reads a lookup from untrusted JSON; throws a plain message when it is malformed. Bounded. */
export function lookupFromJson(input: unknown, maxIndexes = 1_000_000): Lookup {
  const j = input as Partial<LookupJson> | null;
  if (typeof j !== 'object' || j === null || typeof j.key !== 'string' || j.key.length > 512) throw new Error('a lookup needs a key');
  if (!Array.isArray(j.indexes) || j.indexes.length > maxIndexes) throw new Error(`the lookup for ${j.key} has no list of indexes`);
  let last = -1;
  for (const i of j.indexes) {
    if (!Number.isSafeInteger(i) || (i as number) <= last) throw new Error(`the list for ${j.key} is not ascending log indexes`);
    last = i as number;
  }
  const p = j.proof;
  if (typeof p !== 'object' || p === null || !Array.isArray(p.siblings) || p.siblings.length > DEPTH) throw new Error(`the lookup for ${j.key} has no proof`);
  const hash = (v: unknown) => {
    const b = fromBase64(String(v));
    if (b.length !== 32) throw new Error(`the proof for ${j.key} has a hash that is not 32 bytes`);
    return b;
  };
  const siblings = p.siblings.map(hash);
  const terminal: LookupProof['terminal'] = p.leaf === undefined ? { kind: 'empty' } : { kind: 'leaf', key: hash(p.leaf?.key), value: hash(p.leaf?.value) };
  return { key: j.key, indexes: j.indexes as number[], proof: { siblings, terminal } };
}
