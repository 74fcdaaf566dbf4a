/**
 * Ingest on PostgreSQL beside LevelDB, in the same run on the same machine (issue 12).
 *
 * Two fresh nodes through the real composition root, one keeping its log in the data directory's
 * LevelDB and one in PostgreSQL (`openLedger(dir, { store: 'postgres://…?schema=bench_<random>' })`),
 * get the same supplier, the same warm-up and the same signed bundles (signed before any clock
 * starts), in batches of 100 (`submitMany`, what `submitAttestations` runs) at each concurrency.
 * The two stores take turns, LevelDB first at the first concurrency and PostgreSQL first at the
 * next, so a change in the machine's load during the run falls on both. Reported: bundles/s and
 * p50 / p99 per batch for each store, and PostgreSQL ÷ LevelDB.
 *
 * Then reads from a closed and reopened store with no tile cache (every tile from the store, as a
 * server's first read of it): inclusion proofs and entry reads for the same indexes on both, one
 * at a time, p50 / p99 each.
 *
 * The database is named by PEDIGREE_BENCH_PG (or PEDIGREE_TEST_PG, the tests' variable); each run
 * gets a schema of its own, `bench_<random>`, dropped at the end. The PostgreSQL server is
 * wherever the URL says: on this machine (as here) it shares the cores with the bench.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadDataDir } from '../src/config/datadir.js';
import { ed25519NoteSigner, useNativeCrypto } from '../src/crypto/node.js';
import { Ledger } from '../src/ledger/ledger.js';
import { LevelLogStore } from '../src/store/level.js';
import { PostgresLogStore, redactUrl } from '../src/store/postgres.js';
import type { LogStore } from '../src/store/store.js';
import type { Party } from '../test/attest/fixtures.js';
import { openNode, perSec, quantile, round, type BenchNode } from './common.js';
import { ingestBatch, registerSupplier, type RateLatency } from './ingest.js';

/** What the bench says, in its output and in results.json, when no PostgreSQL is configured. */
export const POSTGRES_SKIPPED = 'set PEDIGREE_BENCH_PG (or PEDIGREE_TEST_PG) to a PostgreSQL URL, postgres://user:password@host/database, to measure ingest on PostgreSQL beside LevelDB';

/** The PostgreSQL URL the bench uses: PEDIGREE_BENCH_PG, else PEDIGREE_TEST_PG, else none. */
export function benchPostgresUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.PEDIGREE_BENCH_PG || env.PEDIGREE_TEST_PG || undefined;
}

export interface LatencyRow {
  /** Calls made, one at a time. */
  count: number;
  perSec: number;
  latencyMs: { p50: number; p99: number };
}

export interface StoreReads {
  /** Inclusion proofs of entries against the whole tree, no tile cache. */
  inclusionProof: LatencyRow;
  /** One entry read by its index. */
  entry: LatencyRow;
}

export interface PostgresBenchResult {
  /** The database (password left out) and its server's version. */
  database: string;
  serverVersion: string;
  bundlesPerBatch: number;
  batch: Array<{
    concurrency: number;
    postgres: RateLatency;
    levelDb: RateLatency;
    /** postgres.bundlesPerSec ÷ levelDb.bundlesPerSec. */
    ratio: number;
  }>;
  /** The best batch rate on each store over the concurrencies, and PostgreSQL ÷ LevelDB of those. */
  postgresBatchPerSec: number;
  levelDbBatchPerSec: number;
  ratio: number;
  /** Reads once ingest is done, at this tree size (the same on both). */
  reads: { treeSize: number; postgres: StoreReads; levelDb: StoreReads; inclusionProofP50Ratio: number; entryP50Ratio: number };
  /** Failed batches, refused bundles and duplicates over every row: must be 0. */
  errors: number;
}

/** What results.json holds under `postgres`: the measurement, why it was skipped, or what failed. */
export type PostgresBenchOutcome = PostgresBenchResult | { skipped: string } | { error: string; database: string };

export interface PostgresBenchOptions {
  /** Concurrencies, and the bundles for each (batches of `bundlesPerBatch` are cut from them). */
  concurrencies: number[];
  bundles: unknown[][];
  /** Submitted to each node, in batches, before any clock starts. */
  warm: unknown[];
  /** Inclusion proofs and entry reads on each store after ingest. */
  reads: number;
  bundlesPerBatch?: number;
}

/** The URL with `?schema=` set (or replaced), and the same URL without it (for a plain client). */
function withSchema(url: string, schema: string): { store: string; plain: string } {
  const u = new URL(url);
  u.searchParams.delete('schema');
  const plain = u.toString();
  u.searchParams.set('schema', schema);
  return { store: u.toString(), plain };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Connects once and returns the server's version: run before the bench's long work, so a bad URL fails at once. */
export async function postgresServerVersion(url: string): Promise<string> {
  const { plain } = withSchema(url, 'unused');
  return withClient(plain, async (c) => (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version);
}

/** Whether a schema exists (the tests check that the bench's is dropped). */
export async function schemaExists(url: string, schema: string): Promise<boolean> {
  const { plain } = withSchema(url, schema);
  return withClient(plain, async (c) => (await c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).rowCount === 1);
}

async function timeEach(count: number, call: (k: number) => Promise<unknown>): Promise<LatencyRow> {
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let k = 0; k < count; k++) {
    const s = performance.now();
    await call(k);
    latencies.push(performance.now() - s);
  }
  return { count, perSec: perSec(count, performance.now() - t0), latencyMs: { p50: round(quantile(latencies, 0.5), 3), p99: round(quantile(latencies, 0.99), 3) } };
}

/** Proofs and entry reads through a ledger reopened on `store` with no tile cache; the same indexes for every store. */
async function reads(node: BenchNode, store: LogStore, count: number): Promise<{ size: number; reads: StoreReads }> {
  const dataDir = await loadDataDir(node.dir);
  const ledger = await Ledger.open({ store, signer: ed25519NoteSigner(dataDir.config.origin, dataDir.logKey), tileCacheSize: 0 });
  try {
    const size = ledger.size;
    const at = (k: number) => (k * 7919 + 13) % size;
    await ledger.inclusionProof(at(0)); // warm-up: connections, the tree row
    const inclusionProof = await timeEach(count, (k) => ledger.inclusionProof(at(k)));
    const entry = await timeEach(count, (k) => ledger.entry(at(k + count)));
    return { size, reads: { inclusionProof, entry } };
  } finally {
    await ledger.close();
  }
}

/**
 * Ingest (and reads) on PostgreSQL beside LevelDB with the same bundles; `onSchema` is told the
 * schema made (and dropped) for the run. Throws if the database cannot be reached or written.
 */
export async function benchPostgres(url: string, opts: PostgresBenchOptions, supplier: Party, report: (msg: string) => void = () => undefined, onSchema?: (schema: string) => void): Promise<PostgresBenchResult> {
  useNativeCrypto();
  const size = opts.bundlesPerBatch ?? 100;
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  onSchema?.(schema);
  const { store: storeUrl, plain } = withSchema(url, schema);
  const serverVersion = await postgresServerVersion(url);
  let level: BenchNode | undefined;
  let postgres: BenchNode | undefined;
  let measured = false;
  try {
    level = await openNode();
    postgres = await openNode({ store: storeUrl });
    const nodes = { levelDb: level, postgres } as const;
    for (const node of [level, postgres]) {
      await registerSupplier(node, supplier);
      await ingestBatch(node, opts.warm, 1, size); // warm-up, not measured
    }
    const batch: PostgresBenchResult['batch'] = [];
    for (const [i, c] of opts.concurrencies.entries()) {
      const order = i % 2 === 0 ? (['levelDb', 'postgres'] as const) : (['postgres', 'levelDb'] as const);
      const row: Partial<Record<'levelDb' | 'postgres', RateLatency>> = {};
      for (const which of order) row[which] = await ingestBatch(nodes[which], opts.bundles[i]!, c, size);
      const r = { concurrency: c, postgres: row.postgres!, levelDb: row.levelDb!, ratio: round(row.postgres!.bundlesPerSec / row.levelDb!.bundlesPerSec, 3) };
      batch.push(r);
      report(`in-process ingest, batches of ${size}, concurrency ${c}: PostgreSQL ${r.postgres.bundlesPerSec}/s (p50 ${r.postgres.latencyMs.p50} / p99 ${r.postgres.latencyMs.p99} ms a batch), LevelDB ${r.levelDb.bundlesPerSec}/s (p50 ${r.levelDb.latencyMs.p50} / p99 ${r.levelDb.latencyMs.p99} ms); PostgreSQL ÷ LevelDB ${r.ratio}`);
    }
    await level.close();
    await postgres.close();
    const lr = await reads(level, await LevelLogStore.open((await loadDataDir(level.dir)).dbPath), opts.reads);
    const pr = await reads(postgres, await PostgresLogStore.open(storeUrl), opts.reads);
    if (lr.size !== pr.size) throw new Error(`the two ledgers differ in size after the same ingest: LevelDB ${lr.size}, PostgreSQL ${pr.size}`);
    const best = (rows: RateLatency[]) => Math.max(...rows.map((r) => r.bundlesPerSec));
    const postgresBatchPerSec = best(batch.map((b) => b.postgres));
    const levelDbBatchPerSec = best(batch.map((b) => b.levelDb));
    const result: PostgresBenchResult = {
      database: redactUrl(plain),
      serverVersion,
      bundlesPerBatch: size,
      batch,
      postgresBatchPerSec,
      levelDbBatchPerSec,
      ratio: round(postgresBatchPerSec / levelDbBatchPerSec, 3),
      reads: {
        treeSize: pr.size,
        postgres: pr.reads,
        levelDb: lr.reads,
        inclusionProofP50Ratio: round(pr.reads.inclusionProof.latencyMs.p50 / lr.reads.inclusionProof.latencyMs.p50, 2),
        entryP50Ratio: round(pr.reads.entry.latencyMs.p50 / lr.reads.entry.latencyMs.p50, 2),
      },
      errors: batch.reduce((a, b) => a + b.postgres.errors + b.levelDb.errors, 0),
    };
    measured = true;
    report(`reads at ${pr.size} entries, no tile cache, p50 / p99: inclusion proof PostgreSQL ${pr.reads.inclusionProof.latencyMs.p50} / ${pr.reads.inclusionProof.latencyMs.p99} ms, LevelDB ${lr.reads.inclusionProof.latencyMs.p50} / ${lr.reads.inclusionProof.latencyMs.p99} ms; entry PostgreSQL ${pr.reads.entry.latencyMs.p50} / ${pr.reads.entry.latencyMs.p99} ms, LevelDB ${lr.reads.entry.latencyMs.p50} / ${lr.reads.entry.latencyMs.p99} ms`);
    return result;
  } finally {
    await level?.cleanup();
    await postgres?.cleanup();
    // A failure to drop is said, and fails the measurement, but never hides the error that stopped it.
    try {
      await withClient(plain, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    } catch (e) {
      report(`could not drop the bench's schema ${schema}: ${(e as Error).message}`);
      if (measured) throw e;
    }
  }
}

/**
 * The bench's PostgreSQL part: skipped (and saying how to run it) when no URL is configured in
 * `env`; otherwise the measurement, or the error that stopped it (the rest of the bench goes on).
 */
export async function benchPostgresPart(env: NodeJS.ProcessEnv, opts: PostgresBenchOptions, supplier: Party, report: (msg: string) => void = () => undefined): Promise<PostgresBenchOutcome> {
  const url = benchPostgresUrl(env);
  if (!url) {
    report(`PostgreSQL ingest: skipped — ${POSTGRES_SKIPPED}`);
    return { skipped: POSTGRES_SKIPPED };
  }
  try {
    return await benchPostgres(url, opts, supplier, report);
  } catch (e) {
    const error = (e as Error).message;
    report(`PostgreSQL ingest: FAILED — ${error}`);
    return { error, database: redactUrl(url) };
  }
}
