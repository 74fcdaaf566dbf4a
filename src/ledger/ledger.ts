/**
 * The ledger: a tiled Merkle log over a LogStore. Appends go through the sequencer; each batch
 * is integrated by the pure tree code and committed as one atomic, durable store batch together
 * with its signed checkpoint. Proofs are assembled from tiles, O(log n) tile reads each.
 */
import {
  EMPTY_TREE,
  HASH_SIZE,

  TILE_WIDTH,
  bytesEqual,
  consistencyRanges,
  inclusionRanges,
  integrate,
  leafHash,
  nodesAtLevel,
  parseCheckpoint,
  parseNote,
  rangeHash,
  rootOfFrontier,
  signCheckpoint,
  tileWidth,
  type NoteSigner,
  type TileReader,
  type TreeState,
} from '../log/index.js';
import type { LogStore, ScanOptions, StoredEntry, StoredRecord, StoredTree } from '../store/store.js';
import { StoreError } from '../store/store.js';
import { LedgerError } from './errors.js';
import { DEFAULT_SEQUENCER, Sequencer, type SequencerOptions, type Settled } from './sequencer.js';
import { EMPTY as EMPTY_INDEX, indexRootLine, indexRootOf, type Lookup } from '../vindex/map.js';
import { PersistentIndex } from '../vindex/persistent.js';

/** Entries are length-prefixed with a uint16 in entry bundles (C2SP tlog-tiles). */
export const MAX_ENTRY_BYTES = 0xffff;
const DEFAULT_TILE_CACHE = 4096;
/** Records space mapping an entry identity to its log index. */
const SPACE_IDENTITY = 'identity';

export interface LedgerOptions {
  readonly store: LogStore;
  /** The log's checkpoint signer; its name is the checkpoint origin. */
  readonly signer: NoteSigner;
  /** Milliseconds since the epoch. */
  readonly clock?: () => number;
  readonly sequencer?: Partial<SequencerOptions>;
  /** Full tiles kept in memory (default 4096, about 32 MiB); 0 reads every tile from the store. */
  readonly tileCacheSize?: number;
  /** Verifiable-index nodes and lists kept in memory (default 262,144 each); 0 reads them all from the store. */
  readonly indexCacheSize?: number;
  /**
   * File entries in the verifiable index (default true). false leaves every list empty, so the
   * checkpoint commits the empty index: only for measuring what the index costs (bench).
   */
  readonly indexing?: boolean;
}

/** One committed state of the log and its verifiable index, as `Ledger.readIndex` shows it. */
export interface IndexView {
  /** The signed checkpoint committing both the tree and the index root. */
  readonly checkpoint: string;
  readonly size: number;
  readonly indexRoot: Uint8Array;
  /** The complete list of log indexes for each key, with its proof against `indexRoot`. */
  lookup(keys: readonly string[]): Promise<Lookup[]>;
}

/**
 * What the entries of one batch share while they are admitted, in log order: notes left by the
 * entries admitted before (get/set/has), and the records they asked to read (AppendRequest
 * reads), as committed before this batch, fetched for the whole batch in one round trip.
 */
export class BatchScope {
  private readonly notes = new Map<string, unknown>();
  constructor(private readonly stored: ReadonlyMap<string, Uint8Array | undefined> = new Map()) {}
  get(key: string): unknown {
    return this.notes.get(key);
  }
  set(key: string, value: unknown): void {
    this.notes.set(key, value);
  }
  has(key: string): boolean {
    return this.notes.has(key);
  }
  /** A record read for this batch; undefined when absent (or not asked for in `reads`). */
  record(space: string, key: string): Uint8Array | undefined {
    return this.stored.get(`${space}\u0000${key}`);
  }
}

export interface AppendRequest {
  readonly data: Uint8Array;
  /**
   * What makes two entries the same (default: the leaf hash). An entry whose identity is
   * already in the log, or earlier in its batch, resolves to the existing index with
   * `duplicate: true` and writes nothing.
   */
  readonly identity?: string;
  /**
   * Decides the entry inside the sequencer, in log order, just before it gets `index`: returns
   * the records (indexes, stored bundles) written atomically with it, or throws to refuse this
   * entry alone; nothing of a refused entry is written and its index goes to the next one.
   * `scope` is shared by the entries of one batch, so rules can see what was admitted before.
   */
  readonly admit?: (index: number, integratedTime: number, scope: BatchScope) => StoredRecord[] | Promise<StoredRecord[]>;
  /** Records `admit` needs to see, read once for the whole batch before admission (scope.record). */
  readonly reads?: ReadonlyArray<{ readonly space: string; readonly key: string }>;
  /** Called when the batch that admitted this entry could not be committed. */
  readonly abandon?: () => void;
  /**
   * The verifiable-index keys the entry is filed under (src/vindex/keys.ts): its index is
   * appended to each key's list in the same atomic batch, and the checkpoint commits the root.
   */
  readonly lookupKeys?: readonly string[];
}

export interface AppendResult {
  readonly index: number;
  readonly leafHash: Uint8Array;
  readonly integratedTime: number;
  /** True when the same entry was already in the log and nothing was written. */
  readonly duplicate: boolean;
}

export interface InclusionProof {
  readonly index: number;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly leafHash: Uint8Array;
  readonly hashes: Uint8Array[];
}

export interface ConsistencyProof {
  readonly fromSize: number;
  readonly toSize: number;
  readonly fromRoot: Uint8Array;
  readonly toRoot: Uint8Array;
  readonly hashes: Uint8Array[];
}

type Listener = (tree: StoredTree) => void;

export class Ledger {
  private tree: StoredTree;
  private readonly store: LogStore;
  private readonly signer: NoteSigner;
  private readonly clock: () => number;
  private readonly sequencer: Sequencer<AppendRequest, AppendResult>;
  private readonly fullTiles = new Map<string, Uint8Array>();
  /** Reads of the current tree's tiles in flight or done; emptied whenever the tree grows. */
  private readonly partialTiles = new Map<string, Promise<Uint8Array | undefined>>();
  private generation = 0;
  private readonly tileCacheSize: number;
  private readonly listeners = new Set<Listener>();
  private readonly index: PersistentIndex;
  private readonly indexing: boolean;

  private constructor(options: LedgerOptions, tree: StoredTree, indexRoot: Uint8Array) {
    this.store = options.store;
    this.signer = options.signer;
    this.clock = options.clock ?? Date.now;
    this.tree = tree;
    this.tileCacheSize = options.tileCacheSize ?? DEFAULT_TILE_CACHE;
    this.index = new PersistentIndex(options.store, indexRoot, options.indexCacheSize);
    this.indexing = options.indexing ?? true;
    this.sequencer = new Sequencer((items) => this.integrateBatch(items), { ...DEFAULT_SEQUENCER, ...options.sequencer });
  }

  /** Opens the log from its stored tree state (never replaying entries); an empty store gets a signed size-0 checkpoint. */
  static async open(options: LedgerOptions): Promise<Ledger> {
    let tree = await options.store.readTree();
    if (!tree) {
      tree = { state: EMPTY_TREE, checkpoint: signCheckpoint({ origin: options.signer.name, ...EMPTY_TREE, extensions: [indexRootLine(EMPTY_INDEX)] }, options.signer) };
      await options.store.commit({ fromSize: 0, tree, entries: [], tiles: new Map(), records: [] });
    }
    const cp = parseCheckpoint(parseNote(tree.checkpoint).text);
    if (!bytesEqual(rootOfFrontier(tree.state.frontier), tree.state.root) || cp.size !== tree.state.size || !bytesEqual(cp.root, tree.state.root)) {
      throw new StoreError('STORE_CORRUPT', 'stored tree state does not match its checkpoint');
    }
    if (cp.origin !== options.signer.name) {
      throw new StoreError('STORE_CORRUPT', `stored checkpoint is for ${cp.origin}, not ${options.signer.name}`);
    }
    const indexRoot = indexRootOf(cp.extensions);
    if (!indexRoot) {
      throw new StoreError('STORE_OUTDATED', 'the stored checkpoint commits no verifiable index of this version (pedigree/vindex/v2): this data directory was made by an older Pedigree; create a new one with `pedigree init`');
    }
    return new Ledger(options, tree, indexRoot);
  }

  /**
   * Runs `fn` on one committed state of the log and its index: every lookup inside it is
   * proved against the root the view's checkpoint commits. Batches wait to become visible
   * while `fn` runs, so keep it to reading lists and entries.
   */
  readIndex<T>(fn: (view: IndexView) => Promise<T>): Promise<T> {
    return this.index.read(() => {
      const view: IndexView = { checkpoint: this.tree.checkpoint, size: this.tree.state.size, indexRoot: this.index.root, lookup: (keys) => this.index.lookup(keys) };
      return fn(view);
    });
  }

  get origin(): string {
    return this.signer.name;
  }

  get size(): number {
    return this.tree.state.size;
  }

  get state(): TreeState {
    return this.tree.state;
  }

  /** The latest signed checkpoint (C2SP signed note). */
  get checkpoint(): string {
    return this.tree.checkpoint;
  }

  /** Calls `fn` after each durable integration with the new tree; returns an unsubscribe. */
  onIntegrated(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves with the entry's index only once the batch holding it is durable. */
  append(request: AppendRequest): Promise<AppendResult> {
    const n = request.data.length;
    if (n === 0) return Promise.reject(new LedgerError('ENTRY_EMPTY', 'an entry must not be empty'));
    if (n > MAX_ENTRY_BYTES) {
      return Promise.reject(new LedgerError('ENTRY_TOO_LARGE', `an entry is at most ${MAX_ENTRY_BYTES} bytes, got ${n}`));
    }
    return this.sequencer.submit(request);
  }

  private async integrateBatch(items: AppendRequest[]): Promise<Array<Settled<AppendResult>>> {
    const from = this.tree.state;
    const now = Math.floor(this.clock() / 1000);
    const results: Array<Settled<AppendResult>> = [];
    const fresh: StoredEntry[] = [];
    const records: StoredRecord[] = [];
    const admitted: AppendRequest[] = [];
    const inBatch = new Map<string, AppendResult>();
    const additions = new Map<string, number[]>();
    try {
      const hashes = items.map((item) => leafHash(item.data));
      // Every read admission needs, for the whole batch, in one round trip per keyspace.
      const wanted = new Map<string, Set<string>>([[SPACE_IDENTITY, new Set(items.flatMap((i) => (i.identity === undefined ? [] : [i.identity])))]]);
      for (const item of items) for (const r of item.reads ?? []) (wanted.get(r.space) ?? wanted.set(r.space, new Set()).get(r.space)!).add(r.key);
      const [stored, ...spaces] = await Promise.all([
        this.store.findLeaves(hashes),
        ...[...wanted].map(async ([space, keys]) => {
          const list = [...keys];
          const values = await this.store.readRecords(space, list);
          return list.map((k, i) => [`${space}\u0000${k}`, values[i]] as const);
        }),
      ]);
      const read = new Map(spaces.flat());
      const scope = new BatchScope(read);
      const known = items.map((item) => (item.identity === undefined ? undefined : read.get(`${SPACE_IDENTITY}\u0000${item.identity}`)));
      for (const [n, item] of items.entries()) {
        const lh = hashes[n]!;
        const keys = [Buffer.from(lh).toString('hex'), ...(item.identity === undefined ? [] : [`id:${item.identity}`])];
        const seen = keys.map((k) => inBatch.get(k)).find((r) => r !== undefined);
        if (seen) {
          results.push({ ok: true, value: { ...seen, duplicate: true } });
          continue;
        }
        const idBytes = known[n];
        const existing = stored[n] ?? (idBytes ? Number(Buffer.from(idBytes).toString('utf8')) : undefined);
        if (existing !== undefined) {
          const old = await this.store.readEntry(existing);
          const r = { index: existing, leafHash: old?.leafHash ?? lh, integratedTime: old?.integratedTime ?? now, duplicate: true };
          for (const k of keys) inBatch.set(k, r);
          results.push({ ok: true, value: r });
          continue;
        }
        const index = from.size + fresh.length;
        let own: StoredRecord[] = [];
        if (item.admit) {
          try {
            own = await item.admit(index, now, scope);
          } catch (error) {
            results.push({ ok: false, error });
            continue;
          }
          admitted.push(item);
        }
        const r = { index, leafHash: lh, integratedTime: now, duplicate: false };
        for (const k of keys) inBatch.set(k, r);
        results.push({ ok: true, value: r });
        fresh.push({ index, data: item.data, leafHash: lh, integratedTime: now });
        records.push(...own);
        if (this.indexing) for (const k of new Set(item.lookupKeys ?? [])) (additions.get(k) ?? additions.set(k, []).get(k)!).push(index);
        if (item.identity !== undefined) records.push({ space: SPACE_IDENTITY, key: item.identity, value: Buffer.from(String(index)) });
      }
      if (fresh.length === 0) return results;
      const { state, tiles } = await integrate(from, fresh.map((e) => e.leafHash), (l, i) => this.store.readTile(l, i));
      const index = await this.index.prepare(additions);
      const checkpoint = signCheckpoint({ origin: this.signer.name, size: state.size, root: state.root, extensions: [indexRootLine(index.root)] }, this.signer);
      const tree = { state, checkpoint };
      await this.index.exclusive(async () => {
        await this.store.commit({ fromSize: from.size, tree, entries: fresh, tiles, records: [...records, ...index.records] });
        this.tree = tree;
        this.generation++;
        this.partialTiles.clear();
        this.keepTiles(tiles);
        index.apply();
      });
    } catch (e) {
      // Undo in reverse order what admission decided for entries that were not written.
      for (const item of admitted.reverse()) item.abandon?.();
      if (e instanceof LedgerError) throw e;
      // Writes are failing (a full disk, a failing device): say so until one succeeds again.
      this.writeFailure ??= { since: Math.floor(this.clock() / 1000), reason: '' };
      this.writeFailure.reason = `the log cannot write: ${e instanceof Error ? e.message : String(e)}`.slice(0, 300);
      throw new LedgerError('STORE_FAILED', 'the log could not store this batch; nothing was written', { cause: e });
    }
    this.writeFailure = undefined;
    for (const fn of this.listeners) {
      try {
        fn(this.tree);
      } catch {
        // A listener's failure must not undo or delay an acknowledged append.
      }
    }
    return results;
  }

  /** The latest write failure, until a write succeeds again. */
  private writeFailure: { since: number; reason: string } | undefined;

  /** "ok", or "degraded" with the reason and since when, while writes fail (reads go on). */
  health(): { status: 'ok' | 'degraded'; reason?: string; since?: number } {
    return this.writeFailure ? { status: 'degraded', ...this.writeFailure } : { status: 'ok' };
  }

  async entry(index: number): Promise<StoredEntry> {
    this.checkIndex(index, this.size);
    const e = await this.store.readEntry(index);
    if (!e) throw new StoreError('STORE_CORRUPT', `entry ${index} is missing`);
    return e;
  }

  async entries(start: number, end: number): Promise<StoredEntry[]> {
    return this.store.readEntries(start, Math.min(end, this.size));
  }

  /** The index of the entry appended with this identity (AppendRequest.identity), if any. */
  async findIdentity(identity: string): Promise<number | undefined> {
    const bytes = await this.store.readRecord(SPACE_IDENTITY, identity);
    return bytes ? Number(Buffer.from(bytes).toString('utf8')) : undefined;
  }

  /** A record written with an entry (see AppendRequest.admit). */
  readRecord(space: string, key: string): Promise<Uint8Array | undefined> {
    return this.store.readRecord(space, key);
  }

  scanRecords(space: string, options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    return this.store.scanRecords(space, options);
  }

  private checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0) throw new LedgerError('INVALID_ARGUMENT', 'logIndex must be a non-negative integer');
    if (index >= size) throw new LedgerError('INDEX_OUT_OF_RANGE', `logIndex ${index} is not in a tree of size ${size}`);
  }

  private checkTreeSize(size: number, name = 'treeSize'): void {
    if (!Number.isSafeInteger(size) || size < 0) throw new LedgerError('INVALID_ARGUMENT', `${name} must be a non-negative integer`);
    if (size > this.size) throw new LedgerError('TREE_SIZE_OUT_OF_RANGE', `${name} ${size} is larger than the log (${this.size})`);
  }

  /**
   * A tile reader over two caches: full tiles (immutable, kept up to `tileCacheSize`) and the
   * current tree's partial tiles (shared as promises, so a burst of proofs after a commit reads
   * and hashes each partial tile once; emptied whenever the tree grows).
   */
  private tileReader(): TileReader {
    // Within one proof each tile is read once even with caching off.
    const local = new Map<string, Promise<Uint8Array | undefined>>();
    return (level, index) => {
      const key = `${level}/${index}`;
      const full = this.fullTiles.get(key);
      if (full) return Promise.resolve(full);
      const shared = this.partialTiles.get(key) ?? local.get(key);
      if (shared) return shared;
      const generation = this.generation;
      const pending = this.store.readTile(level, index).then((tile) => {
        if (tile && tile.length === TILE_WIDTH * HASH_SIZE && this.tileCacheSize > 0) {
          if (this.fullTiles.size >= this.tileCacheSize) this.fullTiles.delete(this.fullTiles.keys().next().value!);
          this.fullTiles.set(key, tile);
          this.partialTiles.delete(key);
        }
        return tile;
      });
      // Only a read that no integration has overtaken may stand for the current tree.
      local.set(key, pending);
      if (this.tileCacheSize > 0 && generation === this.generation) this.partialTiles.set(key, pending);
      pending.catch(() => this.partialTiles.delete(key));
      return pending;
    };
  }

  /**
   * The tiles a commit built are the new tree's: the receipts' proofs that follow read them from
   * memory instead of reading back what was just written.
   */
  private keepTiles(tiles: ReadonlyMap<string, Uint8Array>): void {
    if (this.tileCacheSize <= 0) return;
    for (const [key, tile] of tiles) {
      if (tile.length === TILE_WIDTH * HASH_SIZE) {
        if (this.fullTiles.size >= this.tileCacheSize) this.fullTiles.delete(this.fullTiles.keys().next().value!);
        this.fullTiles.set(key, tile);
      } else {
        this.partialTiles.set(key, Promise.resolve(tile));
      }
    }
  }

  async rootAt(size: number, read: TileReader = this.tileReader()): Promise<Uint8Array> {
    this.checkTreeSize(size);
    if (size === this.size) return this.tree.state.root;
    return rangeHash({ start: 0, end: size }, read);
  }

  async inclusionProof(index: number, treeSize: number = this.size): Promise<InclusionProof> {
    this.checkTreeSize(treeSize);
    this.checkIndex(index, treeSize);
    const read = this.tileReader();
    const hashes = await Promise.all(inclusionRanges(index, treeSize).map((r) => rangeHash(r, read)));
    const leaf = await rangeHash({ start: index, end: index + 1 }, read);
    return { index, treeSize, root: await this.rootAt(treeSize, read), leafHash: leaf, hashes };
  }

  async consistencyProof(fromSize: number, toSize: number = this.size): Promise<ConsistencyProof> {
    this.checkTreeSize(fromSize, 'fromSize');
    this.checkTreeSize(toSize, 'toSize');
    if (fromSize > toSize) throw new LedgerError('TREE_SIZE_OUT_OF_RANGE', `fromSize ${fromSize} is larger than toSize ${toSize}`);
    const read = this.tileReader();
    const hashes = await Promise.all(consistencyRanges(fromSize, toSize).map((r) => rangeHash(r, read)));
    return { fromSize, toSize, fromRoot: await this.rootAt(fromSize, read), toRoot: await this.rootAt(toSize, read), hashes };
  }

  /**
   * A hash tile as served at tile/<L>/<N>[.p/<W>]: the full tile, or the first W hashes of a
   * tile that has at least W. Undefined when the tree does not have it.
   */
  async hashTile(level: number, index: number, width?: number): Promise<Uint8Array | undefined> {
    const have = tileWidth(this.size, level, index);
    const want = width ?? TILE_WIDTH;
    if (have < want || nodesAtLevel(this.size, level) === 0) return undefined;
    const tile = await this.tileReader()(level, index);
    if (!tile || tile.length < want * HASH_SIZE) throw new StoreError('STORE_CORRUPT', `tile ${level}/${index} is short`);
    return tile.subarray(0, want * HASH_SIZE);
  }

  /** An entry bundle as served at tile/entries/<N>[.p/<W>]: uint16-length-prefixed entries. */
  async entryBundle(index: number, width?: number): Promise<Uint8Array | undefined> {
    const have = tileWidth(this.size, 0, index);
    const want = width ?? TILE_WIDTH;
    if (have < want) return undefined;
    const start = index * TILE_WIDTH;
    const entries = await this.store.readEntries(start, start + want);
    if (entries.length !== want) throw new StoreError('STORE_CORRUPT', `entry bundle ${index} is short`);
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(e.data.length);
      parts.push(len, e.data);
    }
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    await this.sequencer.close();
    await this.store.close();
  }
}

