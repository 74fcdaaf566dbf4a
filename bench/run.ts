/**
 * `npm run bench [-- --quick]`: measures the ledger on this machine and writes bench/results.json
 * (with --quick, bench/results-quick.json, `"mode": "quick"`). Every number that matters is
 * reported beside a baseline measured in the same run (raw P-256 verify × cores, a bare
 * node:http server, `node -e 0`), since bare times on a shared machine say little; the
 * `targets` section lists each target with its threshold, the measured value and whether it is met.
 *
 * --quick (under 2 minutes on a 2-core machine) uses smaller sizes, listed in `notes`: trees of
 * 10^4 and 10^5 (not 10^6), fewer requests per concurrency, 5,000 attestations for the footprint
 * (not 100,000), a 10^4 index and 1,000-component SBOMs.
 *
 * PostgreSQL (postgres.ts): with PEDIGREE_BENCH_PG (or PEDIGREE_TEST_PG) set to a PostgreSQL URL,
 * in-process batch ingest on PostgreSQL is measured beside LevelDB with the same bundles, in a
 * schema of its own dropped at the end (`postgres` in the results); without it that part is
 * skipped, and the output and `postgres.skipped` say so. A URL that cannot be reached stops the
 * bench at the start, before the long work.
 *
 * Environment: BENCH_MAX_SIZE bounds the largest tree built; BENCH_INDEX_MAX the largest index
 * (default 10^5; 10^6 takes about half an hour); BENCH_SBOM_COMPONENTS, BENCH_FOOTPRINT and
 * BENCH_PORT (two ports from it, default 18610) as named.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ledger } from '../src/ledger/ledger.js';
import { ed25519NoteSigner, useNativeCrypto } from '../src/crypto/node.js';
import { LevelLogStore } from '../src/store/level.js';
import type { LogStore } from '../src/store/store.js';
import { tempDir } from '../test/helpers.js';
import { benchSupplier, log, openNode, round, signComponents } from './common.js';
import { ingestBatch, ingestSingle, p256VerifyRate, registerSupplier, type RateLatency } from './ingest.js';
import { benchPostgresPart, benchPostgresUrl, postgresServerVersion, type PostgresBenchOutcome } from './postgres.js';
import { targets } from './targets.js';

const QUICK = process.argv.includes('--quick');
const CONCURRENCIES = [1, 16, 64, 200];
const BATCH_CONCURRENCIES = [1, 4];
const settings = QUICK
  ? { verifyN: 3000, sizes: [10_000, 100_000], proofsPerSize: 500, singleRequests: (c: number) => Math.max(200, 4 * c), batches: 8, seconds: 2, indexIngest: 1000, indexMax: 10_000, sbom: 1000, deviceRuns: 5, footprint: 5000, cliRuns: 3, postgresReads: 200 }
  : { verifyN: 10_000, sizes: [10_000, 100_000, 1_000_000], proofsPerSize: 2000, singleRequests: (c: number) => Math.max(2000, 20 * c), batches: 30, seconds: 5, indexIngest: 4000, indexMax: 100_000, sbom: 10_000, deviceRuns: 20, footprint: 100_000, cliRuns: 7, postgresReads: 1000 };
const MAX = Number(process.env.BENCH_MAX_SIZE ?? Infinity);
const PORT = Number(process.env.BENCH_PORT ?? 18610);
const started = performance.now();
const cores = availableParallelism();
const results: Record<string, any> = {
  mode: QUICK ? 'quick' : 'full',
  machine: { node: process.version, cpus: cpus().length, cores, loadAverageAtStart: round(loadavg()[0]!, 1) },
  date: new Date().toISOString(),
  notes: QUICK
    ? [
        `quick mode: trees of ${settings.sizes.join(' and ')} entries (not 10^6), ${settings.proofsPerSize} proofs per size`,
        `quick mode: footprint (RSS, disk) after ${(Number(process.env.BENCH_FOOTPRINT) || settings.footprint).toLocaleString('en-US')} attestations, not 100,000`,
        `quick mode: ${settings.singleRequests(1)}–${settings.singleRequests(200)} requests per concurrency, ${settings.batches} batches per concurrency, ${settings.seconds} s bare and proof runs, a 10^4 index, ${settings.sbom}-component SBOMs`,
      ]
    : [],
};

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

// PostgreSQL, if configured: reachable now, or the bench stops before its long work.
const postgresUrl = benchPostgresUrl();
if (postgresUrl) {
  try {
    log(`PostgreSQL ${await postgresServerVersion(postgresUrl)}: ingest will be measured on it beside LevelDB`);
  } catch (e) {
    log(`PEDIGREE_BENCH_PG / PEDIGREE_TEST_PG is set, but the database cannot be reached: ${(e as Error).message}`);
    process.exit(2);
  }
} else log('PostgreSQL: not configured (PEDIGREE_BENCH_PG unset); its ingest will be skipped');

// Baseline: raw ECDSA P-256 signature verification, one core; the machine's is that × cores.
const verify1 = p256VerifyRate(settings.verifyN);
results.p256Verify = { singleCorePerSec: verify1, cores, perSecTimesCores: verify1 * cores };
results.p256VerifyPerSec = verify1;
const verifyTimesCores = verify1 * cores;
log(`raw P-256 verify: ${verify1}/s on one core, × ${cores} cores = ${verifyTimesCores}/s`);

useNativeCrypto();
const dir = await tempDir('pedigree-bench-tree-');
const { privateKey } = generateKeyPairSync('ed25519');
const signer = ed25519NoteSigner('bench.pedigree.local/log', privateKey);

/** Counts tile reads so proofs can be shown to cost O(log n) reads. */
function counting(store: LogStore): { store: LogStore; reads: () => number; reset: () => void } {
  let reads = 0;
  const orig = store.readTile.bind(store);
  store.readTile = async (l, i) => {
    reads++;
    return orig(l, i);
  };
  return { store, reads: () => reads, reset: () => (reads = 0) };
}

try {
  const dbPath = join(dir.path, 'db');
  const c = counting(await LevelLogStore.open(dbPath));
  let ledger = await Ledger.open({ store: c.store, signer });
  const appendRates: Record<string, number> = {};
  const proofs: Record<string, { proofsPerSec: number; tileReadsPerProof: number }> = {};
  const coldProofs: Record<string, { proofsPerSec: number; tileReadsPerProof: number }> = {};
  const sizes = settings.sizes.filter((s) => s <= MAX);
  let appendedMs = 0;
  for (const size of sizes) {
    const t0 = performance.now();
    while (ledger.size < size) {
      const from = ledger.size;
      const n = Math.min(8192, size - from);
      await Promise.all(Array.from({ length: n }, (_, i) => ledger.append({ data: Buffer.from(`bench-entry-${from + i}-${'p'.repeat(64)}`) })));
    }
    appendedMs += performance.now() - t0;
    appendRates[String(size)] = rate(size, appendedMs);
    // Proofs for random indexes against the full tree, cold per call except for cached full tiles.
    const n = settings.proofsPerSize;
    c.reset();
    const p0 = performance.now();
    for (let i = 0; i < n; i++) await ledger.inclusionProof(Math.floor(Math.random() * size));
    proofs[String(size)] = { proofsPerSec: rate(n, performance.now() - p0), tileReadsPerProof: +(c.reads() / n).toFixed(2) };
    // The same with no tile cache: every proof reads its tiles from LevelDB.
    const cold = await Ledger.open({ store: c.store, signer, tileCacheSize: 0 });
    c.reset();
    const q0 = performance.now();
    for (let i = 0; i < n; i++) await cold.inclusionProof(Math.floor(Math.random() * size));
    coldProofs[String(size)] = { proofsPerSec: rate(n, performance.now() - q0), tileReadsPerProof: +(c.reads() / n).toFixed(2) };
    log(`size ${size}: uncached proofs ${JSON.stringify(coldProofs[String(size)])}`);
    log(`size ${size}: append ${appendRates[String(size)]}/s cumulative, proofs ${JSON.stringify(proofs[String(size)])}`);
  }
  await ledger.close();
  // Start-up: open the store and the ledger at the largest size (reads the tree state only).
  const s0 = performance.now();
  const reopened = await LevelLogStore.open(dbPath);
  ledger = await Ledger.open({ store: reopened, signer });
  const startupMs = performance.now() - s0;
  await ledger.close();

  const largest = String(sizes[sizes.length - 1]);
  const smallest = String(sizes[0]);
  results.append = {
    entriesPerSecAtSize: appendRates,
    ratioToP256Verify: round(appendRates[largest]! / verify1),
  };
  results.inclusionProofs = {
    cachedAtSize: proofs,
    uncachedAtSize: coldProofs,
    uncachedRateRatioLargestToSmallest: +(coldProofs[largest]!.proofsPerSec / coldProofs[smallest]!.proofsPerSec).toFixed(2),
    uncachedReadsRatioLargestToSmallest: +(coldProofs[largest]!.tileReadsPerProof / coldProofs[smallest]!.tileReadsPerProof).toFixed(2),
  };
  results.startup = { treeSize: Number(largest), milliseconds: +startupMs.toFixed(1) };
  log(`start-up at ${largest}: ${startupMs.toFixed(1)} ms`);
} finally {
  await dir.remove();
}

// Ingest: in process and over HTTP, single submissions at each concurrency and batches of 100.
{
  const supplier = benchSupplier();
  const pool = (count: number, tag: string) => signComponents(supplier, count, tag);
  const withRatio = <T extends { bundlesPerSec: number }>(row: T) => ({ ...row, ratioToVerifyTimesCores: round(row.bundlesPerSec / verifyTimesCores, 3) });
  const single: RateLatency[] = [];
  const batch: RateLatency[] = [];
  let postgres: PostgresBenchOutcome;
  {
    // Signed before the clock starts; one node for every concurrency, each with its own bundles.
    const singles = await Promise.all(CONCURRENCIES.map((c) => pool(settings.singleRequests(c), `in-c${c}`)));
    const batches = await Promise.all(BATCH_CONCURRENCIES.map((c) => pool(settings.batches * 100, `in-batch-c${c}`)));
    const postgresWarm = postgresUrl ? await pool(200, 'pg-warm') : [];
    const node = await openNode();
    try {
      await registerSupplier(node, supplier);
      await ingestSingle(node, await pool(200, 'in-warm'), 16); // warm-up
      for (const [i, c] of CONCURRENCIES.entries()) {
        single.push(withRatio(await ingestSingle(node, singles[i]!, c)));
        log(`in-process ingest, single, concurrency ${c}: ${JSON.stringify(single[single.length - 1])}`);
      }
      for (const [i, c] of BATCH_CONCURRENCIES.entries()) {
        batch.push(withRatio(await ingestBatch(node, batches[i]!, c)));
        log(`in-process ingest, batches of 100, concurrency ${c}: ${JSON.stringify(batch[batch.length - 1])}`);
      }
    } finally {
      await node.cleanup();
    }
    // The same batches on PostgreSQL beside a fresh LevelDB node (or skipped, saying so).
    postgres = await benchPostgresPart(process.env, { concurrencies: BATCH_CONCURRENCIES, bundles: batches, warm: postgresWarm, reads: settings.postgresReads }, supplier, log);
    if ('batch' in postgres) for (const row of postgres.batch) Object.assign(row, { postgres: withRatio(row.postgres), levelDb: withRatio(row.levelDb) });
  }
  const { benchHttp } = await import('./http.js');
  const http = await benchHttp(
    {
      single: CONCURRENCIES.map((c) => ({ concurrency: c, requests: settings.singleRequests(c) })),
      batch: BATCH_CONCURRENCIES.map((c) => ({ concurrency: c, batches: settings.batches })),
      proofConcurrency: 64,
      seconds: settings.seconds,
      port: PORT,
    },
    supplier,
    pool,
    log,
  );
  const best = (rows: Array<{ bundlesPerSec: number }>) => Math.max(...rows.map((r) => r.bundlesPerSec));
  const httpBatch = best(http.batch);
  const inBatch = best(batch);
  results.ingest = {
    p256VerifyTimesCores: verifyTimesCores,
    inProcess: { single, batch },
    http: { single: http.single.map(withRatio), batch: http.batch.map(withRatio) },
    /** The best batch rate over HTTP (the service as clients use it) ÷ (one core's verify rate × cores). */
    batchPerSec: httpBatch,
    batchRatioToVerifyTimesCores: round(httpBatch / verifyTimesCores, 3),
    inProcessBatchPerSec: inBatch,
    inProcessBatchRatioToVerifyTimesCores: round(inBatch / verifyTimesCores, 3),
    errors: [...single, ...batch, ...http.single, ...http.batch].reduce((a, r) => a + r.errors, 0),
  };
  results.http = { inclusionProof: http.inclusionProof };
  results.postgres = postgres;
  log(`batch ingest: HTTP ${httpBatch}/s = ${results.ingest.batchRatioToVerifyTimesCores} × verify × cores; in process ${inBatch}/s = ${results.ingest.inProcessBatchRatioToVerifyTimesCores} ×`);
}

// What the verifiable index costs ingest (the same bundles with and without it).
{
  const { benchIngest } = await import('./ingest.js');
  const r = await benchIngest(Number(process.env.BENCH_INGEST ?? settings.indexIngest));
  results.ingest.index = r;
  log(`ingest with the index ${r.ingestPerSec}/s, without ${r.ingestWithoutIndexPerSec}/s (with ÷ without = ${r.indexRatio})`);
}

// A 200-component device: the server's verdict, its evidence package, and that package verified
// offline (all cryptography, policy evaluated); then the CLI's start-up against node -e 0.
{
  const { benchDevice } = await import('./device.js');
  const { benchCli } = await import('./cli.js');
  const saved = await mkdtemp(join(tmpdir(), 'pedigree-bench-evidence-'));
  try {
    const r = await benchDevice(200, settings.deviceRuns, saved);
    results.device = r;
    log(`device, ${r.components} components (${r.componentAttestations} component attestations, ${r.bundles} in the package): verdict ${r.verdict}, server ${r.verifyMs} ms, evidence ${r.evidenceMs} ms, offline verification ${r.offlineVerifyMs} ms (median; mean ${r.offlineVerifyMeanMs} ms)`);
    results.cli = benchCli(saved, settings.cliRuns);
    log(`CLI: ${JSON.stringify(results.cli)}`);
  } finally {
    await rm(saved, { recursive: true, force: true });
  }
}

// Footprint: RSS and disk after N attestations, in a child process.
{
  const { benchFootprint } = await import('./footprint.js');
  results.footprint = await benchFootprint(Number(process.env.BENCH_FOOTPRINT) || settings.footprint);
  log(`footprint: ${JSON.stringify(results.footprint)}`);
}

// The verifiable index: build rate, lookup time and proof size at 10^4, 10^5 (and 10^6 on request).
{
  const { benchIndex } = await import('./vindex.js');
  const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= Math.min(MAX, Number(process.env.BENCH_INDEX_MAX ?? settings.indexMax)));
  const rows = [];
  for (const n of sizes) {
    const r = await benchIndex(n);
    rows.push(r);
    log(`index at ${n}: built ${r.buildEntriesPerSec}/s, lookup ${r.coldLookupMs} ms cold / ${r.warmLookupMs} ms warm, proof ${r.proofSiblings} hashes, ${r.proofBytes} bytes`);
  }
  results.index = rows;
}

// Large SBOMs: ingest and index cost, and the firmware's evidence package.
{
  const { benchSbom } = await import('./sbom.js');
  const rows = await benchSbom(Number(process.env.BENCH_SBOM_COMPONENTS ?? settings.sbom));
  results.sbom = rows;
  for (const r of rows) log(`SBOM ${r.format}, ${r.components} components, ${r.megabytes} MB: read ${r.readComponentsMs} ms, ingest ${r.ingestMs} ms (${r.ingestWithoutIndexMs} ms without the index), evidence ${r.evidenceMs} ms / ${r.evidenceMegabytes} MB, verify ${r.verifyMs} ms`);
}

results.machine.loadAverageAtEnd = round(loadavg()[0]!, 1);
results.targets = targets(results);
results.seconds = round((performance.now() - started) / 1000, 1);
log(results.postgres.skipped ? `PostgreSQL ingest: skipped — ${results.postgres.skipped}` : results.postgres.error ? `PostgreSQL ingest: FAILED — ${results.postgres.error}` : `PostgreSQL ingest: ${results.postgres.postgresBatchPerSec}/s, LevelDB ${results.postgres.levelDbBatchPerSec}/s in the same run (PostgreSQL ÷ LevelDB ${results.postgres.ratio})`);
for (const t of results.targets) log(`target ${t.id}: ${t.measured} ${t.unit} (${t.op} ${t.threshold}) ${t.met ? 'met' : 'NOT met'}${t.note ? ` — ${t.note}` : ''}`);
const out = join(import.meta.dirname, QUICK ? 'results-quick.json' : 'results.json');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${out} in ${results.seconds} s`);
