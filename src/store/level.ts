/**
 * LevelDB backend. Each concern has its own sublevel; one integration is one `db.batch` across
 * them with `sync: true`, so a crash leaves either the old tree or the new one.
 */
import { Level } from 'level';
import {
  StoreError,
  decodeTree,
  encodeTree,
  indexKey,
  type IntegrationBatch,
  type LogStore,
  type ScanOptions,
  type StoredEntry,
  type StoredTree,
} from './store.js';

function openSub(db: Level<string, Uint8Array>, name: string) {
  return db.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
}
type Sub = ReturnType<typeof openSub>;

const TREE_KEY = 'tree';

export class LevelLogStore implements LogStore {
  private readonly db: Level<string, Uint8Array>;
  private readonly meta: Sub;
  private readonly entries: Sub;
  private readonly times: Sub;
  private readonly leaves: Sub;
  private readonly tiles: Sub;
  private readonly spaces = new Map<string, Sub>();
  private size: number | undefined;

  private constructor(db: Level<string, Uint8Array>) {
    this.db = db;
    const sub = (name: string) => openSub(db, name);
    this.meta = sub('meta');
    this.entries = sub('entry');
    this.times = sub('time');
    this.leaves = sub('leaf');
    this.tiles = sub('tile');
  }

  static async open(location: string): Promise<LevelLogStore> {
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (e) {
      const locked = /lock/i.test(String((e as { cause?: unknown }).cause ?? e));
      throw new StoreError(
        'STORE_UNAVAILABLE',
        locked ? `the ledger database at ${location} is in use by another process` : `cannot open the ledger database at ${location}`,
        { cause: e },
      );
    }
    const store = new LevelLogStore(db);
    store.size = (await store.readTree())?.state.size ?? 0;
    return store;
  }

  private space(name: string): Sub {
    if (!/^[a-z0-9_-]{1,32}$/.test(name)) throw new StoreError('STORE_CORRUPT', `bad record space ${name}`);
    let s = this.spaces.get(name);
    if (!s) {
      s = openSub(this.db, `r-${name}`);
      this.spaces.set(name, s);
    }
    return s;
  }

  async readTree(): Promise<StoredTree | undefined> {
    const bytes = await this.meta.get(TREE_KEY);
    return bytes === undefined ? undefined : decodeTree(bytes);
  }

  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    return this.tiles.get(`${level}/${indexKey(index)}`);
  }

  async readEntry(index: number): Promise<StoredEntry | undefined> {
    const key = indexKey(index);
    const [data, time] = await Promise.all([this.entries.get(key), this.times.get(key)]);
    if (data === undefined) return undefined;
    return this.toEntry(index, data, time);
  }

  private toEntry(index: number, data: Uint8Array, time: Uint8Array | undefined): StoredEntry {
    if (time === undefined || time.length !== 40) throw new StoreError('STORE_CORRUPT', `entry ${index} has no time record`);
    const view = Buffer.from(time.buffer, time.byteOffset, time.byteLength);
    return { index, data, integratedTime: Number(view.readBigUInt64BE(0)), leafHash: new Uint8Array(time.subarray(8)) };
  }

  async readEntries(start: number, end: number): Promise<StoredEntry[]> {
    if (end <= start) return [];
    const range = { gte: indexKey(start), lt: indexKey(end) };
    const [data, times] = await Promise.all([this.entries.values(range).all(), this.times.values(range).all()]);
    const out: StoredEntry[] = [];
    for (let i = 0; i < data.length && i < times.length; i++) {
      out.push(this.toEntry(start + i, data[i]!, times[i]));
    }
    return out;
  }

  async findLeaves(leafHashes: readonly Uint8Array[]): Promise<Array<number | undefined>> {
    if (leafHashes.length === 0) return [];
    const values = await this.leaves.getMany(leafHashes.map((h) => Buffer.from(h).toString('hex')));
    return values.map((v) => (v === undefined ? undefined : Number(Buffer.from(v).readBigUInt64BE(0))));
  }

  async readRecord(space: string, key: string): Promise<Uint8Array | undefined> {
    return this.space(space).get(key);
  }

  async readRecords(space: string, keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    if (keys.length === 0) return [];
    return this.space(space).getMany([...keys]);
  }

  async scanRecords(space: string, options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    const range: Record<string, unknown> = { limit: options.limit ?? -1, reverse: options.reverse ?? false };
    if (options.gte !== undefined) range.gte = options.gte;
    if (options.lt !== undefined) range.lt = options.lt;
    return this.space(space).iterator(range).all();
  }

  async commit(batch: IntegrationBatch): Promise<void> {
    if (batch.fromSize !== this.size) {
      throw new StoreError('STORE_CONFLICT', `batch starts at ${batch.fromSize} but the stored tree has ${this.size}`);
    }
    // Every record's place is worked out before anything is written, so a bad one (an unknown
    // space) refuses the whole batch before it starts.
    const puts: Array<[Sub, string, Uint8Array]> = [];
    for (const e of batch.entries) {
      const key = indexKey(e.index);
      puts.push([this.entries, key, e.data], [this.times, key, encodeTime(e.integratedTime, e.leafHash)]);
      const idx = Buffer.alloc(8);
      idx.writeBigUInt64BE(BigInt(e.index));
      puts.push([this.leaves, Buffer.from(e.leafHash).toString('hex'), idx]);
    }
    for (const [key, value] of batch.tiles) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      puts.push([this.tiles, `${level}/${indexKey(index)}`, value]);
    }
    for (const r of batch.records) puts.push([this.space(r.space), r.key, r.value]);
    puts.push([this.meta, TREE_KEY, encodeTree(batch.tree)]);
    // After a failed write (a full disk), LevelDB may refuse every later one until it is
    // reopened: the next commit reopens it first, at most once a second, so the ledger recovers
    // by itself when the cause goes away. A failed batch wrote nothing (it is atomic).
    if (this.failedAt !== undefined && Date.now() - this.failedAt >= 1000) {
      this.failedAt = undefined;
      await this.db.close().catch(() => undefined);
      await this.db.open();
      // Sublevels close with their database and are opened again one by one.
      await Promise.all([this.meta, this.entries, this.times, this.leaves, this.tiles, ...this.spaces.values()].map((sub) => sub.open()));
    }
    try {
      // A chained batch: the same one atomic write as the array form, without building an
      // operation object per record first (a little cheaper per record on the main thread).
      const write = this.db.batch();
      try {
        for (const [sublevel, key, value] of puts) write.put(key, value, { sublevel });
      } catch (e) {
        await write.close();
        throw e;
      }
      await write.write({ sync: true });
    } catch (e) {
      this.failedAt = Date.now();
      throw e;
    }
    this.size = batch.tree.state.size;
  }

  /**
   * Every key and value of the database (all sublevels, raw), as they are at one instant, in
   * chunks: for `pedigree backup` (src/store/backup.ts). It reads one LevelDB snapshot, and every
   * commit is one atomic batch, so the copy holds whole commits only (tree, entries, tiles,
   * records, index and checkpoint agree). Chunks hold about `chunkBytes` (bundles may be large).
   * Closing the store ends it with an error.
   */
  async *snapshot(chunkBytes = 1 << 20): AsyncGenerator<Array<[Uint8Array, Uint8Array]>> {
    const snapshot = this.db.snapshot();
    try {
      // nextv stops reading once a chunk passes highWaterMarkBytes.
      const it = this.db.iterator<Uint8Array, Uint8Array>({ snapshot, keyEncoding: 'view', valueEncoding: 'view', highWaterMarkBytes: chunkBytes });
      try {
        for (let chunk = await it.nextv(4096); chunk.length > 0; chunk = await it.nextv(4096)) yield chunk;
      } finally {
        await it.close();
      }
    } finally {
      await snapshot.close();
    }
  }

  /** When the last write failed, while the next has not yet reopened the store. */
  private failedAt: number | undefined;

  async close(): Promise<void> {
    await this.db.close();
  }
}

function encodeTime(seconds: number, leafHash: Uint8Array): Uint8Array {
  const b = Buffer.alloc(40);
  b.writeBigUInt64BE(BigInt(seconds), 0);
  Buffer.from(leafHash).copy(b, 8);
  return b;
}
