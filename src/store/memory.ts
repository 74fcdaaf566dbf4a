/**
 * In-memory backend for tests and demos. `faults` lets a test fail or delay any commit or read
 * to exercise the sequencer's and the server's error paths; a failed commit applies nothing.
 */
import {
  StoreError,

  type IntegrationBatch,
  type LogStore,
  type ScanOptions,
  type StoredEntry,
  type StoredTree,
} from './store.js';

export interface MemoryFaults {
  /** Called before a batch is applied; throwing (or rejecting) aborts the commit. */
  beforeCommit?: (batch: IntegrationBatch) => void | Promise<void>;
  /** Called before every read; throwing makes that read fail. */
  beforeRead?: (what: string) => void | Promise<void>;
}

export class MemoryLogStore implements LogStore {
  private tree: StoredTree | undefined;
  private readonly entries: StoredEntry[] = [];
  private readonly leaves = new Map<string, number>();
  private readonly tiles = new Map<string, Uint8Array>();
  private readonly spaces = new Map<string, Map<string, Uint8Array>>();
  private closed = false;
  faults: MemoryFaults;

  constructor(faults: MemoryFaults = {}) {
    this.faults = faults;
  }

  private async read(what: string): Promise<void> {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store is closed');
    await this.faults.beforeRead?.(what);
  }

  async readTree(): Promise<StoredTree | undefined> {
    await this.read('tree');
    return this.tree;
  }

  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    await this.read(`tile ${level}/${index}`);
    return this.tiles.get(`${level}/${index}`);
  }

  async readEntry(index: number): Promise<StoredEntry | undefined> {
    await this.read(`entry ${index}`);
    return this.entries[index];
  }

  async readEntries(start: number, end: number): Promise<StoredEntry[]> {
    await this.read(`entries ${start}..${end}`);
    return this.entries.slice(start, Math.max(start, end));
  }

  async findLeaves(leafHashes: readonly Uint8Array[]): Promise<Array<number | undefined>> {
    await this.read('leaves');
    return leafHashes.map((h) => this.leaves.get(Buffer.from(h).toString('hex')));
  }

  async readRecord(space: string, key: string): Promise<Uint8Array | undefined> {
    await this.read(`record ${space}`);
    return this.spaces.get(space)?.get(key);
  }

  async readRecords(space: string, keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    await this.read(`records ${space}`);
    const m = this.spaces.get(space);
    return keys.map((k) => m?.get(k));
  }

  async scanRecords(space: string, o: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    await this.read(`scan ${space}`);
    const all = [...(this.spaces.get(space) ?? new Map<string, Uint8Array>()).entries()]
      .filter(([k]) => (o.gte === undefined || k >= o.gte) && (o.lt === undefined || k < o.lt))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (o.reverse) all.reverse();
    return o.limit !== undefined && o.limit >= 0 ? all.slice(0, o.limit) : all;
  }

  async commit(batch: IntegrationBatch): Promise<void> {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'store is closed');
    const size = this.tree?.state.size ?? 0;
    if (batch.fromSize !== size) {
      throw new StoreError('STORE_CONFLICT', `batch starts at ${batch.fromSize} but the stored tree has ${size}`);
    }
    await this.faults.beforeCommit?.(batch);
    // Nothing below can throw, so the batch lands whole.
    for (const e of batch.entries) {
      this.entries[e.index] = e;
      this.leaves.set(Buffer.from(e.leafHash).toString('hex'), e.index);
    }
    for (const [k, v] of batch.tiles) this.tiles.set(k, v);
    for (const r of batch.records) {
      let s = this.spaces.get(r.space);
      if (!s) this.spaces.set(r.space, (s = new Map()));
      s.set(r.key, r.value);
    }
    this.tree = batch.tree;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

