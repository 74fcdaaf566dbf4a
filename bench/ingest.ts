/**
 * Ingest of verified attestations, measured against the raw P-256 verify rate of this machine
 * in the same run. Bundles are signed before the clock starts: signing is the supplier's cost,
 * not the ledger's.
 */
import { createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { signStatement } from '../src/attest/sign.js';
import { componentStatement, party, registration, type Party } from '../test/attest/fixtures.js';
import { startNode } from '../test/helpers.js';

export interface IngestResult {
  p256VerifyPerSec: number;
  /** With the verifiable index, as the ledger runs. */
  ingestPerSec: number;
  ratioToP256Verify: number;
  /** The same bundles into a ledger that files nothing in the index, in the same run. */
  ingestWithoutIndexPerSec: number;
  /** ingestPerSec ÷ ingestWithoutIndexPerSec: what the index costs ingest. */
  indexRatio: number;
  bundles: number;
}

async function ingestRate(supplier: Party, bundles: unknown[], wave: number, indexing: boolean): Promise<number> {
  const node = await startNode({ indexing });
  try {
    await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
    const t0 = performance.now();
    for (let i = 0; i < bundles.length; i += wave) await Promise.all(bundles.slice(i, i + wave).map((b) => node.attestations.submit(b)));
    return Math.round((bundles.length / (performance.now() - t0)) * 1000);
  } finally {
    await node.cleanup();
  }
}

/** Raw single-core ECDSA P-256 verifications per second on this machine: the baseline. */
export function p256VerifyRate(): number {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const msg = Buffer.alloc(512, 7);
  const sig = createSign('sha256').update(msg).sign(privateKey);
  const n = 5000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (!createVerify('sha256').update(msg).verify(publicKey, sig)) throw new Error('verify failed');
  return Math.round((n / (performance.now() - t0)) * 1000);
}

export async function benchIngest(count = 4000, wave = 500): Promise<IngestResult> {
  // One supplier and one set of bundles for both ledgers.
  const supplier = party('bench-supplier');
  const bundles: unknown[] = [];
  for (let i = 0; i < count; i++) bundles.push(await signStatement(componentStatement('bench-supplier', 'PS-100', [`SN${i}`]), supplier.privateKey));
  const baseline = p256VerifyRate();
  const without = await ingestRate(supplier, bundles, wave, false);
  const rate = await ingestRate(supplier, bundles, wave, true);
  return {
    p256VerifyPerSec: baseline,
    ingestPerSec: rate,
    ratioToP256Verify: +(rate / baseline).toFixed(2),
    ingestWithoutIndexPerSec: without,
    indexRatio: +(rate / without).toFixed(2),
    bundles: count,
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  console.log(await benchIngest(Number(process.env.BENCH_INGEST ?? 4000)));
}
