/**
 * PostgreSQL backend (the `pg` driver), for a ledger that outgrows one machine. One integration
 * is one transaction: it locks the tree row, checks that the batch starts at the stored size,
 * writes entries, tiles, records (the search and verifiable indexes among them) and the new tree,
 * and commits; a crash leaves the old tree or the new one. Keys are stored as bytes, so records
 * scan in the same byte order as LevelDB's, whatever they contain (index keys hold NUL bytes,
 * which PostgreSQL text cannot). The schema is versioned (MIGRATIONS): a store applies the
 * missing versions when it opens, one opener at a time (an advisory lock), and refuses a database
 * written by a newer version.
 */
import pg from 'pg';
import { StoreError, decodeTree, encodeTree, type IntegrationBatch, type LogStore, type ScanOptions, type StoredEntry, type StoredTree } from './store.js';

/** Each version's statements, applied in order in one transaction. Never edit a released one: add the next. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE pedigree_tree (id smallint PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, tree bytea);
   INSERT INTO pedigree_tree (id, size, tree) VALUES (1, 0, NULL);
   CREATE TABLE pedigree_entries (idx bigint PRIMARY KEY, data bytea NOT NULL, leaf_hash bytea NOT NULL, integrated_time bigint NOT NULL);
   CREATE INDEX pedigree_entries_leaf ON pedigree_entries (leaf_hash);
   CREATE TABLE pedigree_tiles (level integer NOT NULL, idx bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (level, idx));
   CREATE TABLE pedigree_records (space text NOT NULL, key bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (space, key));
   CREATE TABLE pedigree_meta (key text PRIMARY KEY, value text NOT NULL);`,
];

/** The advisory lock key migrations serialise on ("pedigree" as a 64-bit number). */
const MIGRATION_LOCK = 0x7065646967726565n;
/**
 * The advisory lock the one writer (the sequencing server) holds for as long as it runs: one per
 * schema, so ledgers in other schemas of the same database never wait on each other. Its two
 * keys are a fixed namespace ("pedg") and the schema name's hash.
 */
const WRITER_LOCK_SQL = 'SELECT pg_try_advisory_lock(1885693031, hashtext($1)) AS ok';

/** A store URL without its ?schema= parameter, and the schema it names (default "pedigree"). */
export function splitStoreUrl(url: string): { url: string; schema: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError('STORE_UNAVAILABLE', 'the store URL is not a URL such as postgres://user@host/database');
  }
  const schema = u.searchParams.get('schema') ?? 'pedigree';
  u.searchParams.delete('schema');
  return { url: u.toString(), schema };
}

export interface PostgresStoreOptions {
  /** The schema the tables live in (created if missing); default "pedigree". */
  readonly schema?: string;
  /** Pool size; default 8. */
  readonly maxConnections?: number;
  /**
   * Take the writer lock: only one process at a time may integrate into a database (a second is
   * refused while the first runs; a crashed one's lock goes with its connection).
   */
  readonly writer?: boolean;
  /** A connection already holding the writer lock (tryWriterLock): the store writes through the lock it holds. */
  readonly writerClient?: pg.Client;
  /** Refuse every commit: a server that follows the writer and serves reads. */
  readonly readOnly?: boolean;
  /** The ledger this database must hold (its origin and log key): a database is bound to the first ledger that writes it. */
  readonly ledger?: { readonly origin: string; readonly logPublicKey: string };
}

const unavailable = (what: string, e: unknown) => new StoreError('STORE_UNAVAILABLE', `${what}: ${(e as Error).message}`, { cause: e });
const keyBytes = (k: string) => Buffer.from(k, 'utf8');
const asNumber = (v: string | number) => Number(v);

/** A connection string for display: the password left out. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

export class PostgresLogStore implements LogStore {
  private size = 0;

  private writerClient: pg.Client | undefined;
  private readOnly = false;

  private constructor(
    private readonly pool: pg.Pool,
    readonly schema: string,
  ) {}

  /** Connects, creates the schema if needed and applies missing migrations. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresLogStore> {
    // A URL may name the schema (?schema=name), so one database can hold several ledgers.
    const split = splitStoreUrl(url);
    url = split.url;
    const schema = options.schema ?? split.schema;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new StoreError('STORE_UNAVAILABLE', `the schema name ${JSON.stringify(schema.slice(0, 70))} is not a plain lowercase identifier`);
    const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 8, options: `-c search_path=${schema}` });
    // An idle connection that fails (the server restarted) must not crash the process.
    pool.on('error', () => undefined);
    const store = new PostgresLogStore(pool, schema);
    try {
      await store.migrate();
      if (options.ledger) await store.bind(options.ledger);
      if (options.writerClient) store.writerClient = options.writerClient;
      else if (options.writer) await store.lockWriter(url);
      store.readOnly = options.readOnly === true;
      store.size = asNumber((await pool.query<{ size: string }>('SELECT size FROM pedigree_tree WHERE id = 1')).rows[0]!.size);
    } catch (e) {
      await store.writerClient?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (e instanceof StoreError) throw e;
      throw unavailable(`cannot open the ledger database at ${redactUrl(url)}`, e);
    }
    return store;
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS pedigree_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const have = asNumber((await client.query<{ v: string | null }>('SELECT max(version) AS v FROM pedigree_migrations')).rows[0]!.v ?? 0);
      if (have > MIGRATIONS.length) {
        throw new StoreError('STORE_OUTDATED', `the database's schema is version ${have}, newer than this program knows (${MIGRATIONS.length}); run a newer pedigree`);
      }
      for (let v = have + 1; v <= MIGRATIONS.length; v++) {
        await client.query(MIGRATIONS[v - 1]!);
        await client.query('INSERT INTO pedigree_migrations (version) VALUES ($1)', [v]);
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** Binds an empty database to this ledger, or checks it holds this ledger. */
  private async bind(ledger: { origin: string; logPublicKey: string }): Promise<void> {
    const want = JSON.stringify({ origin: ledger.origin, logPublicKey: ledger.logPublicKey.trim() });
    await this.pool.query("INSERT INTO pedigree_meta (key, value) VALUES ('ledger', $1) ON CONFLICT (key) DO NOTHING", [want]);
    const have = (await this.pool.query<{ value: string }>("SELECT value FROM pedigree_meta WHERE key = 'ledger'")).rows[0]!.value;
    if (have !== want) {
      const origin = (JSON.parse(have) as { origin?: string }).origin;
      throw new StoreError('STORE_CONFLICT', `this database (schema ${this.schema}) holds the ledger ${JSON.stringify(origin)} with another log key, not this data directory's ${JSON.stringify(ledger.origin)}; give each ledger its own database or schema`);
    }
  }

  /**
   * Takes the writer lock if it is free, on a connection of its own that then holds it (give it
   * to open as `writerClient`); undefined when another process holds it.
   */
  static async tryWriterLock(storeUrl: string): Promise<pg.Client | undefined> {
    const { url, schema } = splitStoreUrl(storeUrl);
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.query<{ ok: boolean }>(WRITER_LOCK_SQL, [schema])).rows[0]!.ok) return client;
    } catch (e) {
      await client.end().catch(() => undefined);
      throw unavailable('the ledger database did not answer', e);
    }
    await client.end().catch(() => undefined);
    return undefined;
  }

  /** The tree size the database holds now (another process may be writing it). */
  async storedSize(): Promise<number> {
    return asNumber((await this.query<{ size: string }>('SELECT size FROM pedigree_tree WHERE id = 1')).rows[0]!.size);
  }

  /** Where the writer serves (for the servers that hand it submissions). */
  async setLeader(url: string): Promise<void> {
    await this.query("INSERT INTO pedigree_meta (key, value) VALUES ('leader', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [url]);
  }

  async leader(): Promise<string | undefined> {
    return (await this.query<{ value: string }>("SELECT value FROM pedigree_meta WHERE key = 'leader'")).rows[0]?.value;
  }

  /** Holds the writer lock on a connection of its own for as long as the store is open. */
  private async lockWriter(url: string): Promise<void> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    const got = (await client.query<{ ok: boolean }>(WRITER_LOCK_SQL, [this.schema])).rows[0]!.ok;
    if (!got) {
      await client.end().catch(() => undefined);
      throw new StoreError('STORE_UNAVAILABLE', `another pedigree process is writing to this database (it holds the writer lock); run one ledger server per database`);
    }
    this.writerClient = client;
  }

  /** The schema version the database is at. */
  async schemaVersion(): Promise<number> {
    return asNumber((await this.query<{ v: string | null }>('SELECT max(version) AS v FROM pedigree_migrations')).rows[0]!.v ?? 0);
  }

  private async query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (e) {
      throw unavailable('the ledger database did not answer', e);
    }
  }

  private checkSpace(name: string): void {
    if (!/^[a-z0-9_-]{1,32}$/.test(name)) throw new StoreError('STORE_CORRUPT', `bad record space ${name}`);
  }

  async readTree(): Promise<StoredTree | undefined> {
    const row = (await this.query<{ tree: Buffer | null }>('SELECT tree FROM pedigree_tree WHERE id = 1')).rows[0];
    return row?.tree ? decodeTree(new Uint8Array(row.tree)) : undefined;
  }

  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    const row = (await this.query<{ data: Buffer }>('SELECT data FROM pedigree_tiles WHERE level = $1 AND idx = $2', [level, index])).rows[0];
    return row ? new Uint8Array(row.data) : undefined;
  }

  async readEntry(index: number): Promise<StoredEntry | undefined> {
    return (await this.readEntries(index, index + 1))[0];
  }

  async readEntries(start: number, end: number): Promise<StoredEntry[]> {
    if (end <= start) return [];
    const rows = (await this.query<{ idx: string; data: Buffer; leaf_hash: Buffer; integrated_time: string }>('SELECT idx, data, leaf_hash, integrated_time FROM pedigree_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx', [start, end])).rows;
    const out: StoredEntry[] = [];
    for (const r of rows) {
      const index = asNumber(r.idx);
      if (index !== start + out.length) break; // stops at the first missing one
      out.push({ index, data: new Uint8Array(r.data), leafHash: new Uint8Array(r.leaf_hash), integratedTime: asNumber(r.integrated_time) });
    }
    return out;
  }

  async findLeaves(leafHashes: readonly Uint8Array[]): Promise<Array<number | undefined>> {
    if (leafHashes.length === 0) return [];
    const rows = (await this.query<{ leaf_hash: Buffer; idx: string }>('SELECT leaf_hash, min(idx) AS idx FROM pedigree_entries WHERE leaf_hash = ANY($1::bytea[]) GROUP BY leaf_hash', [leafHashes.map((h) => Buffer.from(h))])).rows;
    const found = new Map(rows.map((r) => [r.leaf_hash.toString('hex'), asNumber(r.idx)]));
    return leafHashes.map((h) => found.get(Buffer.from(h).toString('hex')));
  }

  async readRecord(space: string, key: string): Promise<Uint8Array | undefined> {
    return (await this.readRecords(space, [key]))[0];
  }

  async readRecords(space: string, keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    this.checkSpace(space);
    if (keys.length === 0) return [];
    const rows = (await this.query<{ key: Buffer; value: Buffer }>('SELECT key, value FROM pedigree_records WHERE space = $1 AND key = ANY($2::bytea[])', [space, keys.map(keyBytes)])).rows;
    const found = new Map(rows.map((r) => [r.key.toString('utf8'), new Uint8Array(r.value)]));
    return keys.map((k) => found.get(k));
  }

  async scanRecords(space: string, options: ScanOptions): Promise<Array<[string, Uint8Array]>> {
    this.checkSpace(space);
    const where = ['space = $1'];
    const values: unknown[] = [space];
    if (options.gte !== undefined) where.push(`key >= $${values.push(keyBytes(options.gte))}`);
    if (options.lt !== undefined) where.push(`key < $${values.push(keyBytes(options.lt))}`);
    const limit = options.limit !== undefined && options.limit >= 0 ? ` LIMIT $${values.push(options.limit)}` : '';
    const rows = (await this.query<{ key: Buffer; value: Buffer }>(`SELECT key, value FROM pedigree_records WHERE ${where.join(' AND ')} ORDER BY key ${options.reverse ? 'DESC' : 'ASC'}${limit}`, values)).rows;
    return rows.map((r) => [r.key.toString('utf8'), new Uint8Array(r.value)]);
  }

  async commit(batch: IntegrationBatch): Promise<void> {
    if (this.readOnly) throw new StoreError('STORE_UNAVAILABLE', 'this server follows the writer and writes nothing');
    for (const r of batch.records) this.checkSpace(r.space);
    // One row per record key: the last write of a key in a batch wins, as in LevelDB.
    const records = new Map<string, { space: string; key: Buffer; value: Buffer }>();
    for (const r of batch.records) records.set(`${r.space}\u0000${r.key}`, { space: r.space, key: keyBytes(r.key), value: Buffer.from(r.value) });
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw unavailable('the ledger database did not answer', e);
    }
    try {
      await client.query('BEGIN');
      const size = asNumber((await client.query<{ size: string }>('SELECT size FROM pedigree_tree WHERE id = 1 FOR UPDATE')).rows[0]!.size);
      if (batch.fromSize !== size) throw new StoreError('STORE_CONFLICT', `batch starts at ${batch.fromSize} but the stored tree has ${size}`);
      if (batch.entries.length > 0) {
        await client.query('INSERT INTO pedigree_entries (idx, data, leaf_hash, integrated_time) SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[])', [
          batch.entries.map((e) => e.index),
          batch.entries.map((e) => Buffer.from(e.data)),
          batch.entries.map((e) => Buffer.from(e.leafHash)),
          batch.entries.map((e) => e.integratedTime),
        ]);
      }
      if (batch.tiles.size > 0) {
        const tiles = [...batch.tiles].map(([k, v]) => [...k.split('/').map(Number), Buffer.from(v)] as [number, number, Buffer]);
        await client.query('INSERT INTO pedigree_tiles (level, idx, data) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[]) ON CONFLICT (level, idx) DO UPDATE SET data = EXCLUDED.data', [
          tiles.map((t) => t[0]),
          tiles.map((t) => t[1]),
          tiles.map((t) => t[2]),
        ]);
      }
      if (records.size > 0) {
        const rows = [...records.values()];
        await client.query('INSERT INTO pedigree_records (space, key, value) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) ON CONFLICT (space, key) DO UPDATE SET value = EXCLUDED.value', [
          rows.map((r) => r.space),
          rows.map((r) => r.key),
          rows.map((r) => r.value),
        ]);
      }
      await client.query('UPDATE pedigree_tree SET size = $1, tree = $2 WHERE id = 1', [batch.tree.state.size, Buffer.from(encodeTree(batch.tree))]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (e instanceof StoreError) throw e;
      throw unavailable('the integration could not be written', e);
    } finally {
      client.release();
    }
    this.size = batch.tree.state.size;
  }

  async close(): Promise<void> {
    await this.writerClient?.end().catch(() => undefined);
    this.writerClient = undefined;
    await this.pool.end();
  }
}
