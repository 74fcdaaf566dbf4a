/**
 * Ingest of verified attestations, measured against the raw P-256 verify rate of this machine
 * in the same run. Bundles are signed before the clock starts: signing is the supplier's cost,
 * not the ledger's.
 *
 * In process: single submissions from 1, 16, 64 or 200 concurrent callers (each submits its next
 * bundle when the last is acknowledged), and batches of up to MAX_BATCH (`submitMany`, what the
 * GraphQL `submitAttestations` mutation runs). Over HTTP: see http.ts.
 */
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { signStatement } from '../src/attest/sign.js';
import { registration, type Party } from '../test/attest/fixtures.js';
import { benchSupplier, openNode, perSec, quantile, round, signComponents, type BenchNode } from './common.js';

/** Raw single-core ECDSA P-256 (SHA-256, 512-byte message) verifications per second on this machine: the baseline. */
export function p256VerifyRate(n = 5000): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const msg = Buffer.alloc(512, 7);
  const sig = createSign('sha256').update(msg).sign(privateKey);
  for (let i = 0; i < Math.min(500, n); i++) createVerify('sha256').update(msg).verify(publicKey, sig); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (!createVerify('sha256').update(msg).verify(publicKey, sig)) throw new Error('verify failed');
  return perSec(n, performance.now() - t0);
}

export interface RateLatency {
  concurrency: number;
  /** Requests (or calls) made. */
  requests: number;
  /** Bundles acknowledged per second (for batches, bundles, not requests). */
  bundlesPerSec: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p99: number };
  /** Calls that failed or bundles that were refused or came back as duplicates. */
  errors: number;
}

/** Runs `work` over the items from `concurrency` callers, each taking the next item when its last call returns. */
export async function closedLoop<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<number>): Promise<{ ms: number; latencies: number[]; errors: number }> {
  let next = 0;
  let errors = 0;
  const latencies: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const s = performance.now();
        try {
          errors += await work(item);
        } catch {
          errors++;
        }
        latencies.push(performance.now() - s);
      }
    }),
  );
  return { ms: performance.now() - t0, latencies, errors };
}

/** Registers the bench supplier on a node (in process). */
export async function registerSupplier(node: BenchNode, supplier: Party): Promise<void> {
  await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
}

/** Single submissions in process at one concurrency; every bundle must be new to the log. */
export async function ingestSingle(node: BenchNode, bundles: readonly unknown[], concurrency: number): Promise<RateLatency> {
  const r = await closedLoop(bundles, concurrency, async (b) => ((await node.attestations.submit(b)).duplicate ? 1 : 0));
  return summarise(concurrency, bundles.length, bundles.length, r);
}

/** Batches of `size` bundles (`submitMany`) in process at one concurrency. */
export async function ingestBatch(node: BenchNode, bundles: readonly unknown[], concurrency: number, size = 100): Promise<RateLatency> {
  const batches: unknown[][] = [];
  for (let i = 0; i < bundles.length; i += size) batches.push(bundles.slice(i, i + size));
  const r = await closedLoop(batches, concurrency, async (b) => (await node.attestations.submitMany(b)).filter((x) => 'error' in x || x.duplicate).length);
  return summarise(concurrency, batches.length, bundles.length, r);
}

function summarise(concurrency: number, requests: number, bundles: number, r: { ms: number; latencies: number[]; errors: number }): RateLatency {
  return {
    concurrency,
    requests,
    bundlesPerSec: perSec(bundles - r.errors, r.ms),
    requestsPerSec: perSec(requests, r.ms),
    latencyMs: { p50: round(quantile(r.latencies, 0.5), 2), p99: round(quantile(r.latencies, 0.99), 2) },
    errors: r.errors,
  };
}

export interface IngestResult {
  p256VerifyPerSec: number;
  /** With the verifiable index, as the ledger runs (single submissions, `wave` at a time). */
  ingestPerSec: number;
  ratioToP256Verify: number;
  /** The same bundles into a ledger that files nothing in the index, in the same run. */
  ingestWithoutIndexPerSec: number;
  /** ingestPerSec ÷ ingestWithoutIndexPerSec: what the index costs ingest. */
  indexRatio: number;
  bundles: number;
}

async function ingestRate(supplier: Party, bundles: unknown[], wave: number, indexing: boolean): Promise<number> {
  const node = await openNode({ indexing });
  try {
    await registerSupplier(node, supplier);
    const t0 = performance.now();
    for (let i = 0; i < bundles.length; i += wave) await Promise.all(bundles.slice(i, i + wave).map((b) => node.attestations.submit(b)));
    return perSec(bundles.length, performance.now() - t0);
  } finally {
    await node.cleanup();
  }
}

/** What the verifiable index costs ingest: the same bundles with and without it. */
export async function benchIngest(count = 4000, wave = 500): Promise<IngestResult> {
  const supplier = benchSupplier();
  const bundles = await signComponents(supplier, count, 'idx');
  const baseline = p256VerifyRate();
  const without = await ingestRate(supplier, bundles, wave, false);
  const rate = await ingestRate(supplier, bundles, wave, true);
  return {
    p256VerifyPerSec: baseline,
    ingestPerSec: rate,
    ratioToP256Verify: round(rate / baseline),
    ingestWithoutIndexPerSec: without,
    indexRatio: round(rate / without),
    bundles: count,
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  console.log(await benchIngest(Number(process.env.BENCH_INGEST ?? 4000)));
}
