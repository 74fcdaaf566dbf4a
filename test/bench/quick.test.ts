/**
 * The bench's pieces at tiny sizes, so `npm run bench` keeps working: nothing here is timed
 * against a threshold; it checks that each piece runs and measures real outcomes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCli } from '../../bench/cli.js';
import { benchSupplier, openNode, signComponents } from '../../bench/common.js';
import { benchDevice } from '../../bench/device.js';
import { benchFootprint } from '../../bench/footprint.js';
import { benchHttp } from '../../bench/http.js';
import { ingestBatch, ingestSingle, p256VerifyRate, registerSupplier } from '../../bench/ingest.js';
import { readmeTables, replaceInReadme } from '../../bench/readme-table.js';
import { targets } from '../../bench/targets.js';

describe('bench pieces, tiny', () => {
  const supplier = benchSupplier();
  const pool = (n: number, tag: string) => signComponents(supplier, n, tag);
  let saved: string;
  beforeAll(async () => {
    saved = await mkdtemp(join(tmpdir(), 'pedigree-bench-test-'));
  });
  afterAll(async () => {
    await rm(saved, { recursive: true, force: true });
  });

  it('ingests distinct bundles in process, single and batched, with rates and latencies', async () => {
    expect(p256VerifyRate(200)).toBeGreaterThan(0);
    const node = await openNode();
    try {
      await registerSupplier(node, supplier);
      const single = await ingestSingle(node, await pool(40, 't-single'), 16);
      expect(single.errors).toBe(0);
      expect(single.bundlesPerSec).toBeGreaterThan(0);
      expect(single.latencyMs.p99).toBeGreaterThanOrEqual(single.latencyMs.p50);
      const batch = await ingestBatch(node, await pool(150, 't-batch'), 2);
      expect(batch).toMatchObject({ requests: 2, errors: 0 });
      expect(batch.bundlesPerSec).toBeGreaterThan(0);
      // The same bundles again are duplicates, and counted as such.
      expect((await ingestBatch(node, await pool(10, 't-batch'), 1)).errors).toBe(10);
      expect(node.ledger.size).toBe(1 + 40 + 150);
    } finally {
      await node.cleanup();
    }
  });

  it('drives a served ledger and a bare node:http server with the same requests', async () => {
    const r = await benchHttp({ single: [{ concurrency: 1, requests: 10 }, { concurrency: 8, requests: 24 }], batch: [{ concurrency: 2, batches: 2 }], proofConcurrency: 4, seconds: 1, port: 18680 }, supplier, pool);
    for (const row of [...r.single, ...r.batch]) {
      expect(row.errors).toBe(0);
      expect(row.bundlesPerSec).toBeGreaterThan(0);
      expect(row.bare.requestsPerSec).toBeGreaterThan(0);
      // Rounded to 3 places: a batch of 100 against the bare server on a busy machine can round to 0.
      expect(Number.isFinite(row.ratioToBare) && row.ratioToBare >= 0).toBe(true);
    }
    expect(r.single.map((s) => s.requests)).toEqual([10, 24]);
    expect(r.inclusionProof.errors).toBe(0);
    expect(r.inclusionProof.treeSize).toBeGreaterThan(200);
    expect(r.inclusionProof.requestsPerSec).toBeGreaterThan(0);
    expect(r.inclusionProof.ratioToBare).toBeCloseTo(r.inclusionProof.requestsPerSec / r.inclusionProof.bare.requestsPerSec, 2);
  }, 120_000);

  it('verifies a device of 200 component attestations offline (PASS), then times the CLI on the saved package', async () => {
    const d = await benchDevice(200, 1, saved);
    expect(d).toMatchObject({ components: 200, componentAttestations: 200, verdict: 'PASS' });
    expect(d.offlineVerifyMs).toBeGreaterThan(0);
    const c = benchCli(saved, 1);
    expect(c.verifyEvidenceExit).toBe(0);
    expect(c.packageBundles).toBe(d.bundles);
    expect(c.helpRatio).toBeGreaterThan(0);
    expect(c.verifyEvidenceRatio).toBeGreaterThan(0);
  }, 120_000);

  it('measures RSS and disk after ingest in a child process, and reports targets with booleans', async () => {
    const f = await benchFootprint(300);
    expect(f.attestations).toBe(300);
    expect(f.rssMegabytes).toBeGreaterThan(10);
    expect(f.bundleBytes).toBeGreaterThan(300 * 500);
    expect(f.diskRatio).toBeGreaterThan(0);
    const list = targets({ mode: 'quick', footprint: f, device: { offlineVerifyMs: 50, verdict: 'PASS' }, cli: { helpRatio: 9, verifyEvidenceRatio: 2, verifyEvidenceExit: 0 } });
    expect(list.length).toBeGreaterThanOrEqual(7);
    for (const t of list) expect(typeof t.met).toBe('boolean');
    expect(list.find((t) => t.id === 'device.verifyMs')).toMatchObject({ measured: 50, met: true });
    expect(list.find((t) => t.id === 'cli.helpRatio')).toMatchObject({ measured: 9, met: false });
    expect(list.find((t) => t.id === 'http.inclusionProofRatioToBare')).toMatchObject({ measured: null, met: false });
    expect(list.find((t) => t.id === 'footprint.rssMegabytes')!.note).toContain('300 attestations');
    const tables = readmeTables({ mode: 'quick', targets: list });
    expect(tables).toContain('| target | threshold | measured | |');
    expect(replaceInReadme('a\n<!-- bench:begin -->\nold\n<!-- bench:end -->\nb', tables)).toBe(`a\n<!-- bench:begin -->\n${tables.trimEnd()}\n<!-- bench:end -->\nb`);
  }, 120_000);
});
