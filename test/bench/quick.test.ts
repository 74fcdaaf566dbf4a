/**
 * The bench's pieces at tiny sizes, so `npm run bench` keeps working: nothing here is timed
 * against a threshold; it checks that each piece runs and measures real outcomes. The PostgreSQL
 * piece runs when PEDIGREE_TEST_PG names a database; without one, the bench must report that
 * piece as skipped (checked always).
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
import { benchPostgres, benchPostgresPart, benchPostgresUrl, POSTGRES_SKIPPED, schemaExists } from '../../bench/postgres.js';
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

const PG = process.env.PEDIGREE_TEST_PG;

describe('bench PostgreSQL piece', () => {
  const supplier = benchSupplier();
  const pool = (n: number, tag: string) => signComponents(supplier, n, tag);

  it('is skipped, saying so in its output, its result and the README tables, when no PostgreSQL is configured; an unreachable one is an error', async () => {
    expect(benchPostgresUrl({})).toBeUndefined();
    expect(benchPostgresUrl({ PEDIGREE_TEST_PG: 'postgres://t@h/db' })).toBe('postgres://t@h/db');
    expect(benchPostgresUrl({ PEDIGREE_BENCH_PG: 'postgres://b@h/db', PEDIGREE_TEST_PG: 'postgres://t@h/db' })).toBe('postgres://b@h/db');
    const said: string[] = [];
    const skipped = await benchPostgresPart({}, { concurrencies: [1], bundles: [[]], warm: [], reads: 1 }, supplier, (m) => said.push(m));
    expect(skipped).toEqual({ skipped: POSTGRES_SKIPPED });
    expect(POSTGRES_SKIPPED).toMatch(/^set PEDIGREE_BENCH_PG \(or PEDIGREE_TEST_PG\)/);
    expect(said).toEqual([`PostgreSQL ingest: skipped — ${POSTGRES_SKIPPED}`]);
    expect(readmeTables({ mode: 'quick', targets: [], postgres: skipped })).toContain(`| batch ingest on PostgreSQL ÷ LevelDB | skipped: ${POSTGRES_SKIPPED} |`);
    // Nothing listens on port 1: the piece fails, says so, and hides the password.
    const failed = await benchPostgresPart({ PEDIGREE_BENCH_PG: 'postgres://u:secret@127.0.0.1:1/db' }, { concurrencies: [1], bundles: [[]], warm: [], reads: 1 }, supplier);
    expect(failed).toMatchObject({ error: expect.any(String), database: expect.not.stringContaining('secret') });
    expect(readmeTables({ mode: 'quick', targets: [], postgres: failed })).toContain('| batch ingest on PostgreSQL ÷ LevelDB | **failed**: ');
  });

  describe.skipIf(!PG)('on PostgreSQL', () => {
    it('ingests the same batches on PostgreSQL and LevelDB, reads from both with no tile cache, and drops its schema', async () => {
      const bundles = [await pool(150, 't-pg-c1'), await pool(200, 't-pg-c2')];
      let schema = '';
      const said: string[] = [];
      const r = await benchPostgres(PG!, { concurrencies: [1, 2], bundles, warm: await pool(20, 't-pg-warm'), reads: 10 }, supplier, (m) => said.push(m), (s) => (schema = s));
      expect(schema).toMatch(/^bench_[0-9a-f]{12}$/);
      expect(r.batch.map((b) => b.concurrency)).toEqual([1, 2]);
      expect(r.batch.map((b) => b.postgres.requests)).toEqual([2, 2]);
      for (const b of r.batch) {
        for (const row of [b.postgres, b.levelDb]) {
          expect(row.errors).toBe(0);
          expect(row.bundlesPerSec).toBeGreaterThan(0);
          expect(row.latencyMs.p99).toBeGreaterThanOrEqual(row.latencyMs.p50);
        }
        expect(b.levelDb.requests).toBe(b.postgres.requests);
        expect(b.ratio).toBeCloseTo(b.postgres.bundlesPerSec / b.levelDb.bundlesPerSec, 2);
      }
      expect(r.errors).toBe(0);
      expect(r.postgresBatchPerSec).toBe(Math.max(...r.batch.map((b) => b.postgres.bundlesPerSec)));
      expect(r.ratio).toBeCloseTo(r.postgresBatchPerSec / r.levelDbBatchPerSec, 2);
      expect(r.serverVersion).toMatch(/^\d+/);
      const password = new URL(PG!).password;
      if (password) expect(r.database).not.toContain(`:${password}@`);
      // Registration, the warm-up and every bundle: the same tree on both.
      expect(r.reads.treeSize).toBe(1 + 20 + 150 + 200);
      for (const reads of [r.reads.postgres, r.reads.levelDb]) {
        for (const row of [reads.inclusionProof, reads.entry]) {
          expect(row.count).toBe(10);
          expect(row.latencyMs.p50).toBeGreaterThan(0);
          expect(row.latencyMs.p99).toBeGreaterThanOrEqual(row.latencyMs.p50);
        }
      }
      expect(said.filter((m) => m.includes('PostgreSQL ÷ LevelDB'))).toHaveLength(2);
      expect(await schemaExists(PG!, schema)).toBe(false);
      const tables = readmeTables({ mode: 'quick', targets: [], ingest: { inProcess: { single: [], batch: [] }, http: { single: [], batch: [] } }, postgres: r });
      expect(tables.match(/\| in process, batches of 100, on PostgreSQL \|/g)).toHaveLength(2);
      expect(tables).toContain(`| batch ingest in process (100 a batch, concurrency 1 / 2) on PostgreSQL ${r.serverVersion}`);
      expect(tables).toContain(`**${r.batch[0]!.ratio} / ${r.batch[1]!.ratio}**`);
    }, 120_000);
  });

  describe.skipIf(!!PG)('on PostgreSQL', () => {
    it.skip('skipped: set PEDIGREE_TEST_PG to a PostgreSQL URL to run the bench\'s PostgreSQL piece at tiny sizes', () => undefined);
  });
});
