/**
 * `npm run bench`: measures the log on this machine and writes bench/results.json. Every number
 * that matters is reported as a ratio against a baseline measured in the same run, since bare
 * times on shared machines say little.
 *
 * Environment: BENCH_MAX_SIZE (default 1000000) bounds the largest tree built.
 */
import { generateKeyPairSync } from 'node:crypto';
import { p256VerifyRate } from './ingest.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ledger } from '../src/ledger/ledger.js';
import { ed25519NoteSigner, useNativeCrypto } from '../src/crypto/node.js';
import { LevelLogStore } from '../src/store/level.js';
import type { LogStore } from '../src/store/store.js';
import { tempDir } from '../test/helpers.js';

const MAX = Number(process.env.BENCH_MAX_SIZE ?? 1_000_000);
const results: Record<string, unknown> = { machine: { node: process.version, cpus: (await import('node:os')).cpus().length }, date: new Date().toISOString() };

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

// Baseline: raw ECDSA P-256 signature verification, single core.
results.p256VerifyPerSec = p256VerifyRate();
log(`raw P-256 verify: ${results.p256VerifyPerSec}/s`);

useNativeCrypto();
const dir = await tempDir('pedigree-bench-');
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
  const sizes = [10_000, 100_000, 1_000_000].filter((s) => s <= MAX);
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
    const n = 2000;
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
    ratioToP256Verify: +(appendRates[largest]! / (results.p256VerifyPerSec as number)).toFixed(2),
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

// Ingest of verified attestations through the whole pipeline (parse, verify, validate, append).
{
  const { benchIngest } = await import('./ingest.js');
  const r = await benchIngest(Number(process.env.BENCH_INGEST ?? 4000));
  results.ingest = r;
  log(`ingest: ${r.ingestPerSec}/s = ${r.ratioToP256Verify} x raw P-256 verify (${r.p256VerifyPerSec}/s); without the index ${r.ingestWithoutIndexPerSec}/s (with ÷ without = ${r.indexRatio})`);
}

// The verifiable index: build rate, lookup time and proof size at 10^4, 10^5 and 10^6 entries.
{
  const { benchIndex } = await import('./vindex.js');
  const sizes = [10_000, 100_000, 1_000_000].filter((n) => n <= Math.min(MAX, Number(process.env.BENCH_INDEX_MAX ?? 1_000_000)));
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
  const rows = await benchSbom(Number(process.env.BENCH_SBOM_COMPONENTS ?? 10_000));
  results.sbom = rows;
  for (const r of rows) log(`SBOM ${r.format}, ${r.components} components, ${r.megabytes} MB: read ${r.readComponentsMs} ms, ingest ${r.ingestMs} ms (${r.ingestWithoutIndexMs} ms without the index), evidence ${r.evidenceMs} ms / ${r.evidenceMegabytes} MB, verify ${r.verifyMs} ms`);
}

// Device verification of a 200-component device.
{
  const { benchDevice } = await import('./device.js');
  const r = await benchDevice(200);
  results.device = r;
  log(`device verification, ${r.components} components: ${r.verifyMs} ms (evidence package ${r.evidenceMs} ms)`);
}

const out = join(import.meta.dirname, 'results.json');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
log(`wrote ${out}`);
