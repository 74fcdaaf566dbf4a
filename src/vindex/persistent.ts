/**
 * The verifiable index kept in the log's store: the same compact sparse Merkle tree as map.ts
 * (same hashes, same shape, same proofs), with its nodes stored as records so that opening a
 * log reads nothing and an update reads and writes only the paths it changes.
 *
 *   space "vmap":  position → node. A position is a depth and the first `depth` bits of a key
 *                  hash; it holds an inner node (0x01 ‖ hash) or a leaf (0x00 ‖ key ‖ value).
 *                  An empty subtree has no record.
 *   space "vlist": lookup key → its list of log indexes (uint64 big-endian each).
 *
 * Keys are only ever added or given longer lists, so a position that once held something never
 * becomes empty, and leaves only move down. The root is not stored here: each checkpoint
 * carries it (checkpoint extension line, see `indexRootLine`).
 */
import { bytesEqual } from '../log/bytes.js';
import { sha256 } from '../log/hash.js';
import type { LogStore, StoredRecord } from '../store/store.js';
import { EMPTY, keyHash, valueHash, type Lookup, type LookupProof } from './map.js';

export type { Lookup };

export const SPACE_NODES = 'vmap';
export const SPACE_LISTS = 'vlist';
/** Longest list one key may have (bounds what one lookup returns). */
export const MAX_LIST = 1_000_000;

type Sub = { readonly kind: 'empty' } | { readonly kind: 'leaf'; readonly key: Uint8Array; readonly value: Uint8Array } | { readonly kind: 'node'; readonly hash: Uint8Array };
const EMPTY_SUB: Sub = { kind: 'empty' };
const leafHash = (k: Uint8Array, v: Uint8Array) => sha256(Uint8Array.of(0x00), k, v);
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(Uint8Array.of(0x01), l, r);
const bit = (k: Uint8Array, depth: number) => (k[depth >> 3]! >> (7 - (depth & 7))) & 1;
const hashOf = (s: Sub) => (s.kind === 'empty' ? EMPTY : s.kind === 'leaf' ? leafHash(s.key, s.value) : s.hash);

/** A copy of `key` with bit `depth` set to `value`. */
function withBit(key: Uint8Array, depth: number, value: 0 | 1): Uint8Array {
  const k = new Uint8Array(key);
  const mask = 0x80 >> (depth & 7);
  if (value) k[depth >> 3]! |= mask;
  else k[depth >> 3]! &= ~mask;
  return k;
}

/** The record key of the position at `depth` on `key`'s path. */
export function positionId(key: Uint8Array, depth: number): string {
  // new Uint8Array(view) copies, even from a Node Buffer (whose slice would be a view into the key).
  const bytes = new Uint8Array(key.subarray(0, (depth + 7) >> 3));
  if (depth & 7) bytes[bytes.length - 1]! &= 0xff << (8 - (depth & 7));
  return `${depth.toString(16).padStart(3, '0')}${Buffer.from(bytes).toString('hex')}`;
}

function encode(s: Sub): Uint8Array | undefined {
  if (s.kind === 'empty') return undefined;
  const out = new Uint8Array(s.kind === 'leaf' ? 65 : 33);
  if (s.kind === 'leaf') {
    out.set(s.key, 1);
    out.set(s.value, 33);
  } else {
    out[0] = 1;
    out.set(s.hash, 1);
  }
  return out;
}

function decode(b: Uint8Array | undefined): Sub {
  if (!b) return EMPTY_SUB;
  if (b[0] === 0 && b.length === 65) return { kind: 'leaf', key: new Uint8Array(b.subarray(1, 33)), value: new Uint8Array(b.subarray(33)) };
  if (b[0] === 1 && b.length === 33) return { kind: 'node', hash: new Uint8Array(b.subarray(1)) };
  throw new Error('corrupt index node');
}

export function encodeList(indexes: readonly number[]): Uint8Array {
  const out = Buffer.alloc(8 * indexes.length);
  indexes.forEach((v, i) => out.writeBigUInt64BE(BigInt(v), 8 * i));
  return out;
}

export function decodeList(b: Uint8Array | undefined): number[] {
  if (!b) return [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 8 <= buf.length; i += 8) out.push(Number(buf.readBigUInt64BE(i)));
  return out;
}

/** What one batch changes: its records (written atomically with the batch) and the new root. */
export interface PreparedIndex {
  readonly root: Uint8Array;
  readonly records: StoredRecord[];
  /** Makes the batch's changes visible to readers; call once the store has committed them. */
  apply(): void;
}

export class PersistentIndex {
  private current: Uint8Array;
  /** Positions and lists as committed (null: known absent), least recently used first. */
  private readonly nodes = new Map<string, Uint8Array | null>();
  private readonly lists = new Map<string, Uint8Array | null>();
  private readers = 0;
  private writing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly store: LogStore,
    root: Uint8Array,
    private readonly cacheSize = 1 << 18,
  ) {
    this.current = root;
  }

  get root(): Uint8Array {
    return this.current;
  }

  private remember(cache: Map<string, Uint8Array | null>, id: string, value: Uint8Array | null): void {
    if (this.cacheSize <= 0) return;
    cache.delete(id);
    cache.set(id, value);
    if (cache.size > this.cacheSize) cache.delete(cache.keys().next().value!);
  }

  /** Nodes read ahead for the batch being prepared (committed values), consulted before the cache. */
  private readAhead = new Map<string, Uint8Array | null>();
  private preparing = false;

  private async readSpace(space: string, cache: Map<string, Uint8Array | null>, ids: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    const out: Array<Uint8Array | undefined> = new Array(ids.length);
    const missing: number[] = [];
    ids.forEach((id, i) => {
      const c = cache === this.nodes && this.readAhead.has(id) ? this.readAhead.get(id) : cache.get(id);
      if (c === undefined) missing.push(i);
      else out[i] = c ?? undefined;
    });
    if (missing.length > 0) {
      const got = await this.store.readRecords(space, missing.map((i) => ids[i]!));
      missing.forEach((i, j) => {
        // Plain copies: a store may hand out Node Buffers, whose slice() is a view, not a copy.
        const v = got[j] === undefined ? undefined : new Uint8Array(got[j]!);
        out[i] = v;
        this.remember(cache, ids[i]!, v ?? null);
        if (cache === this.nodes && this.preparing) this.readAhead.set(ids[i]!, v ?? null);
      });
    }
    return out;
  }

  /**
   * Reads every node the update of these keys will visit, one level at a time: one store read
   * per level for the whole batch instead of one per node, the paths the update then walks
   * served from `readAhead`. It follows the update's own rule: only an inner node on a path
   * that still has keys to place has its children read.
   */
  private async readPaths(top: Sub, updates: ReadonlyArray<{ key: Uint8Array }>): Promise<void> {
    let groups: Array<{ depth: number; cur: Sub; keys: ReadonlyArray<{ key: Uint8Array }> }> = [{ depth: 0, cur: top, keys: updates }];
    while (groups.length > 0) {
      const open = groups.filter((g) => g.cur.kind === 'node' && g.keys.length > 0 && g.depth < 256);
      if (open.length === 0) return;
      const ids = open.flatMap((g) => {
        const k = g.keys[0]!.key;
        return [positionId(withBit(k, g.depth, 0), g.depth + 1), positionId(withBit(k, g.depth, 1), g.depth + 1)];
      });
      const got = await this.readSpace(SPACE_NODES, this.nodes, ids);
      groups = open.flatMap((g, i) => {
        const left = g.keys.filter((u) => bit(u.key, g.depth) === 0);
        const right = g.keys.filter((u) => bit(u.key, g.depth) === 1);
        return [
          { depth: g.depth + 1, cur: decode(got[2 * i]), keys: left },
          { depth: g.depth + 1, cur: decode(got[2 * i + 1]), keys: right },
        ];
      });
    }
  }

  private async children(key: Uint8Array, depth: number): Promise<[Sub, Sub]> {
    const [l, r] = await this.readSpace(SPACE_NODES, this.nodes, [positionId(withBit(key, depth, 0), depth + 1), positionId(withBit(key, depth, 1), depth + 1)]);
    return [decode(l), decode(r)];
  }

  /**
   * Appends log indexes to keys' lists: computes the new lists, the changed nodes and the new
   * root without making anything visible. `additions` maps a lookup key to indexes above every
   * index it already lists, ascending.
   */
  async prepare(additions: ReadonlyMap<string, readonly number[]>): Promise<PreparedIndex> {
    const keys = [...additions.keys()];
    const oldLists = await this.readSpace(SPACE_LISTS, this.lists, keys);
    const records: StoredRecord[] = [];
    const newLists = new Map<string, Uint8Array>();
    const updates: Array<{ key: Uint8Array; value: Uint8Array }> = [];
    keys.forEach((k, i) => {
      const list = [...decodeList(oldLists[i]), ...additions.get(k)!];
      if (list.length > MAX_LIST) throw new Error(`the index list for ${k} would exceed ${MAX_LIST} entries`);
      const bytes = encodeList(list);
      newLists.set(k, bytes);
      records.push({ space: SPACE_LISTS, key: k, value: bytes });
      updates.push({ key: keyHash(k), value: valueHash(list) });
    });
    const writes = new Map<string, Uint8Array>();
    const rootId = positionId(new Uint8Array(32), 0);
    let root = this.current;
    if (updates.length > 0) {
      const [stored] = await this.readSpace(SPACE_NODES, this.nodes, [rootId]);
      this.preparing = true;
      try {
        await this.readPaths(decode(stored), updates);
        const top = await this.update(0, decode(stored), updates, writes);
        const enc = encode(top);
        if (enc) writes.set(rootId, enc);
        root = hashOf(top);
      } finally {
        this.preparing = false;
        this.readAhead = new Map();
      }
    }
    for (const [id, value] of writes) records.push({ space: SPACE_NODES, key: id, value });
    return {
      root,
      records,
      apply: () => {
        for (const [id, value] of writes) this.remember(this.nodes, id, value);
        for (const [k, value] of newLists) this.remember(this.lists, k, value);
        this.current = root;
      },
    };
  }

  private async update(depth: number, cur: Sub, ups: Array<{ key: Uint8Array; value: Uint8Array }>, writes: Map<string, Uint8Array>): Promise<Sub> {
    if (ups.length === 0) return cur;
    if (ups.length === 1 && (cur.kind === 'empty' || (cur.kind === 'leaf' && bytesEqual(cur.key, ups[0]!.key)))) return { kind: 'leaf', ...ups[0]! };
    if (depth >= 256) throw new Error('key hash collision');
    let left: Sub = EMPTY_SUB;
    let right: Sub = EMPTY_SUB;
    if (cur.kind === 'node') [left, right] = await this.children(ups[0]!.key, depth);
    else if (cur.kind === 'leaf' && !ups.some((u) => bytesEqual(u.key, cur.key))) ups = [...ups, { key: cur.key, value: cur.value }];
    const lu = ups.filter((u) => bit(u.key, depth) === 0);
    const ru = ups.filter((u) => bit(u.key, depth) === 1);
    const [nl, nr] = await Promise.all([this.update(depth + 1, left, lu, writes), this.update(depth + 1, right, ru, writes)]);
    // A subtree holding a single leaf is that leaf (map.ts `join`).
    if (nl.kind === 'empty' && nr.kind !== 'node') return nr;
    if (nr.kind === 'empty' && nl.kind === 'leaf') return nl;
    // Children that changed are written; an untouched child of an existing node stays as it is.
    // (In a fresh split every non-empty child holds updates: the old leaf is among `ups`.)
    const l = encode(nl);
    const r = encode(nr);
    if (l && lu.length > 0) writes.set(positionId(lu[0]!.key, depth + 1), l);
    if (r && ru.length > 0) writes.set(positionId(ru[0]!.key, depth + 1), r);
    return { kind: 'node', hash: nodeHash(hashOf(nl), hashOf(nr)) };
  }

  /**
   * Runs `fn` while no batch is being made visible, so every read inside it sees one committed
   * state: one root, one set of lists, the checkpoint that commits them.
   */
  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writing) await this.writing;
    this.readers++;
    try {
      return await fn();
    } finally {
      if (--this.readers === 0) this.drained?.();
    }
  }

  /** Runs `fn` (a store commit and `apply`) once current readers are done; new readers wait. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.writing) await this.writing;
    let release!: () => void;
    this.writing = new Promise((r) => (release = r));
    try {
      if (this.readers > 0) await new Promise<void>((r) => (this.drained = r));
      this.drained = undefined;
      return await fn();
    } finally {
      this.writing = undefined;
      release();
    }
  }

  /** The committed list for each key with its proof against `root` (call inside `read`). */
  async lookup(keys: readonly string[]): Promise<Lookup[]> {
    const lists = await this.readSpace(SPACE_LISTS, this.lists, keys);
    const rootId = positionId(new Uint8Array(32), 0);
    const [top] = await this.readSpace(SPACE_NODES, this.nodes, [rootId]);
    return Promise.all(
      keys.map(async (key, i) => {
        const kh = keyHash(key);
        const siblings: Uint8Array[] = [];
        let cur = decode(top);
        for (let depth = 0; cur.kind === 'node'; depth++) {
          const [l, r] = await this.children(kh, depth);
          const right = bit(kh, depth) === 1;
          siblings.push(hashOf(right ? l : r));
          cur = right ? r : l;
        }
        const terminal: LookupProof['terminal'] = cur.kind === 'leaf' ? { kind: 'leaf', key: cur.key, value: cur.value } : { kind: 'empty' };
        return { key, indexes: decodeList(lists[i]), proof: { siblings, terminal } };
      }),
    );
  }
}

