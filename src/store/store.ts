/**
 * The LogStore contract. Every backend (LevelDB, memory, later PostgreSQL) runs the same
 * contract suite in test/store/contract.ts.
 *
 * - `commit` MUST apply a whole IntegrationBatch or nothing of it, and MUST NOT resolve until
 *   the batch is durable (survives a crash of the process and of the machine).
 * - `commit` MUST reject a batch whose `fromSize` is not the stored tree size, so two writers
 *   can never interleave half-trees.
 * - Reads of absent things resolve to `undefined`, never throw.
 * - A hash tile is stored at its latest width; later widths only extend earlier ones.
 */
import { PedigreeError } from '../errors.js';
import type { TileKey, TreeState } from '../log/index.js';

export interface StoredTree {
  readonly state: TreeState;
  /** The signed checkpoint note for `state`. */
  readonly checkpoint: string;
}

export interface StoredEntry {
  readonly index: number;
  readonly data: Uint8Array;
  readonly leafHash: Uint8Array;
  /** Seconds since the epoch at which the entry was integrated. */
  readonly integratedTime: number;
}

/** A key/value record in a named keyspace, written in the same atomic batch as the entries. */
export interface StoredRecord {
  readonly space: string;
  readonly key: string;
  readonly value: Uint8Array;
}

export interface IntegrationBatch {
  readonly fromSize: number;
  readonly tree: StoredTree;
  readonly entries: readonly StoredEntry[];
  readonly tiles: ReadonlyMap<TileKey, Uint8Array>;
  readonly records: readonly StoredRecord[];
}

export interface ScanOptions {
  readonly gte?: string;
  readonly lt?: string;
  readonly limit?: number;
  readonly reverse?: boolean;
}

export interface LogStore {
  readTree(): Promise<StoredTree | undefined>;
  readTile(level: number, index: number): Promise<Uint8Array | undefined>;
  readEntry(index: number): Promise<StoredEntry | undefined>;
  /** Entries [start, end) in order; stops early at the first missing one. */
  readEntries(start: number, end: number): Promise<StoredEntry[]>;
  /** Indexes of entries with these leaf hashes (undefined where absent), in one round trip. */
  findLeaves(leafHashes: readonly Uint8Array[]): Promise<Array<number | undefined>>;
  readRecord(space: string, key: string): Promise<Uint8Array | undefined>;
  /** Several records of one space in one round trip, in the order asked (undefined where absent). */
  readRecords(space: string, keys: readonly string[]): Promise<Array<Uint8Array | undefined>>;
  scanRecords(space: string, options: ScanOptions): Promise<Array<[string, Uint8Array]>>;
  commit(batch: IntegrationBatch): Promise<void>;
  close(): Promise<void>;
}

export type StoreErrorCode = 'STORE_CONFLICT' | 'STORE_CORRUPT' | 'STORE_OUTDATED' | 'STORE_UNAVAILABLE' | 'STORE_CLOSED';

export class StoreError extends PedigreeError<StoreErrorCode> {
  override readonly name = 'StoreError';
}

/** Fixed-width hex so that lexicographic key order is numeric order. */
export function indexKey(index: number): string {
  return index.toString(16).padStart(14, '0');
}

export function encodeTree(tree: StoredTree): Uint8Array {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return Buffer.from(
    JSON.stringify({
      size: tree.state.size,
      root: b64(tree.state.root),
      frontier: tree.state.frontier.map(b64),
      checkpoint: tree.checkpoint,
    }),
  );
}

export function decodeTree(bytes: Uint8Array): StoredTree {
  try {
    const j = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      size: number;
      root: string;
      frontier: string[];
      checkpoint: string;
    };
    const b = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
    return { state: { size: j.size, root: b(j.root), frontier: j.frontier.map(b) }, checkpoint: j.checkpoint };
  } catch (e) {
    throw new StoreError('STORE_CORRUPT', 'stored tree state is unreadable', { cause: e });
  }
}
