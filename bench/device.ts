/**
 * Device verification of a 200-component device: collect the graph from the log, evaluate the
 * release policy. Reports milliseconds per verification and per evidence package.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { resolvePredicateType } from '../src/attest/predicates.js';
import { signStatement, statement } from '../src/attest/sign.js';
import { defaultPolicy } from '../src/provenance/policy-io.js';
import { GTIN, party, registration, udi } from '../test/attest/fixtures.js';
import { verifyEvidence } from '../src/verify/evidence.js';
import { startNode } from '../test/helpers.js';

export interface DeviceBenchResult {
  components: number;
  verifyMs: number;
  evidenceMs: number;
  /** The shared verifier on the package: every signature and proof checked, verdict re-derived. */
  offlineVerifyMs: number;
  bundles: number;
  verdict: string;
}

export async function benchDevice(components = 200, runs = 20): Promise<DeviceBenchResult> {
  const node = await startNode();
  try {
    const t = (n: string) => resolvePredicateType(n).uri;
    const sup = party('bench-sup');
    const maker = party('bench-maker');
    const ci = party('bench-ci');
    const qa = party('bench-qa');
    for (const [p, roles] of [[sup, ['supplier']], [maker, ['manufacturer']], [ci, ['builder']], [qa, ['qa']]] as const) {
      await node.attestations.submit(await signStatement(registration(p, [...roles], p === maker ? { products: [GTIN] } : {}), node.adminKey));
    }
    const submit = async (st: Record<string, unknown>, p: typeof sup) => node.attestations.submit(await signStatement(st, p.privateKey));
    const parts = Array.from({ length: components }, (_, i) => `bench-sup:P${i % 8}:SN${i}`);
    for (let i = 0; i < parts.length; i += 10) {
      await submit(statement(parts.slice(i, i + 10).map((p) => ({ digest: { partSerial: p } })), t('component'), { partNumber: 'P', componentType: 'part' }), sup);
    }
    const fw = createHash('sha256').update('bench firmware').digest('hex');
    const fs = [{ digest: { sha256: fw } }];
    await submit(statement(fs, t('firmware'), { name: 'fw', version: '1' }), maker);
    await submit(statement(fs, t('slsa-provenance'), { buildDefinition: { buildType: 'x', externalParameters: {} }, runDetails: { builder: { id: 'ci' } } }), ci);
    await submit(statement(fs, 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.5' }), maker);
    await submit(statement(fs, t('test-result'), { result: 'PASSED', configuration: [] }), qa);
    const u = udi('BENCH-1');
    const device = [{ digest: { udi: u } }];
    await submit(statement(device, t('device-assembly'), { model: 'Bench', assembledAt: '2026-01-01T00:00:00Z', components: parts.map((p) => ({ componentType: 'part', supplier: 'bench-sup', partSerial: p })), firmware: [{ name: 'fw', digest: { sha256: fw } }] }), maker);
    await submit(statement(device, t('slsa-vsa'), { verifier: { id: 'g' }, timeVerified: '2026-01-01T00:00:00Z', resourceUri: u, policy: {}, verificationResult: 'PASSED', verifiedLevels: [] }), maker);
    const policy = defaultPolicy();
    let verdict = '';
    await node.devices.verify(u, policy); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) verdict = (await node.devices.verify(u, policy)).evaluation.verdict;
    const verifyMs = (performance.now() - t0) / runs;
    const e0 = performance.now();
    for (let i = 0; i < 5; i++) await node.devices.evidence(u, policy);
    const evidenceMs = (performance.now() - e0) / 5;
    const pkg = await node.devices.evidence(u, policy);
    const root = node.attestations.trustedRoot();
    const now = Math.floor(Date.now() / 1000);
    verifyEvidence(pkg, root, { udi: u, policy, now }); // warm-up
    const v0 = performance.now();
    let outcome = '';
    for (let i = 0; i < 5; i++) outcome = verifyEvidence(pkg, root, { udi: u, policy, now }).outcome;
    const offlineVerifyMs = (performance.now() - v0) / 5;
    if (outcome !== verdict) throw new Error(`offline verification says ${outcome}, the server ${verdict}`);
    return { components, verifyMs: +verifyMs.toFixed(1), evidenceMs: +evidenceMs.toFixed(1), offlineVerifyMs: +offlineVerifyMs.toFixed(1), bundles: pkg.bundles.length, verdict };
  } finally {
    await node.cleanup();
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  console.log(await benchDevice());
}
