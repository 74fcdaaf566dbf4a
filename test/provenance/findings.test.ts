/**
 * One test per finding code, each from real signed attestations in a real ledger.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildGraph } from '../../src/provenance/graph.js';
import { evaluate, type FindingCode, type Policy, type Verdict } from '../../src/provenance/policy.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { startNode, type TestNode } from '../helpers.js';
import { buildScenario, type ScenarioOptions } from './scenario.js';

let node: TestNode | undefined;
afterEach(async () => {
  await node?.cleanup();
  node = undefined;
});

const base = defaultPolicy();
const withSteps = (steps: Policy['steps'], extra: Partial<Policy> = {}): Policy => ({ ...base, ...extra, steps: { ...base.steps, ...steps } });

async function run(o: ScenarioOptions, policy: Policy = base, now?: number) {
  node = await startNode();
  const s = await buildScenario(node, o);
  const { evaluation } = await node.devices.verify(s.udi, policy, now);
  return evaluation;
}

function expectFinding(e: Awaited<ReturnType<typeof run>>, code: FindingCode, verdict: Verdict) {
  expect(e.findings.map((f) => f.code)).toContain(code);
  expect(e.verdict).toBe(verdict);
  const f = e.findings.find((x) => x.code === code)!;
  expect(f.message.length).toBeGreaterThan(10);
}

describe('device verification findings', () => {
  it('a complete chain passes with no findings', async () => {
    const e = await run({});
    expect(e.findings).toEqual([]);
    expect(e.verdict).toBe('PASS');
  });

  it.each([
    ['ASSEMBLY_MISSING', { skip: ['assembly'] }],
    ['COMPONENT_UNATTESTED', { skip: ['component'] }],
    ['FIRMWARE_UNATTESTED', { skip: ['firmware'] }],
    ['BUILD_MISSING', { skip: ['build'] }],
    ['SBOM_MISSING', { skip: ['sbom'] }],
    ['TEST_MISSING', { skip: ['test'] }],
    ['RELEASE_MISSING', { skip: ['release'] }],
  ] as Array<[FindingCode, ScenarioOptions]>)('%s: a required step without an attestation is INCOMPLETE', async (code, o) => {
    expectFinding(await run(o), code, 'INCOMPLETE');
  });

  it('CUSTODY_MISSING and INSTALLATION_MISSING when the policy requires them', async () => {
    const e = await run({ skip: ['custody', 'installation'] }, withSteps({ custody: { required: true }, installation: { required: true } }));
    expectFinding(e, 'CUSTODY_MISSING', 'INCOMPLETE');
    expectFinding(e, 'INSTALLATION_MISSING', 'INCOMPLETE');
  });

  it('THRESHOLD_NOT_MET: one QA signature where the policy wants two', async () => {
    expectFinding(await run({}, withSteps({ test: { required: true, roles: ['qa'], threshold: 2 } })), 'THRESHOLD_NOT_MET', 'INCOMPLETE');
  });

  it('SIGNER_REVOKED: a component attested after its supplier key was compromised fails', async () => {
    const e = await run({ compromiseSupplierFrom: '2020-01-01T00:00:00Z' });
    expectFinding(e, 'SIGNER_REVOKED', 'FAIL');
    expect(e.findings.find((f) => f.code === 'SIGNER_REVOKED')!.message).toContain('compromise');
  });

  it('entries integrated before a revocation stay valid', async () => {
    const e = await run({ compromiseSupplierFrom: '2099-01-01T00:00:00Z' });
    expect(e.verdict).toBe('PASS');
  });

  it('SIGNER_NOT_ALLOWED: the policy names other participants for a step (a warning; the step then counts as missing)', async () => {
    const e = await run({}, withSteps({ component: { required: true, participants: ['someone-else'] } }));
    expectFinding(e, 'SIGNER_NOT_ALLOWED', 'INCOMPLETE');
    expect(e.findings.find((f) => f.code === 'SIGNER_NOT_ALLOWED')!.severity).toBe('warning');
    expect(e.findings.map((f) => f.code)).toContain('COMPONENT_UNATTESTED');
  });

  it('SIGNER_UNKNOWN: a key the registry does not know', async () => {
    node = await startNode();
    const s = await buildScenario(node, {});
    const { graph } = await node.devices.verify(s.udi, base);
    const e = evaluate(graph, base, { now: Math.floor(Date.now() / 1000), signer: () => undefined });
    expectFinding(e, 'SIGNER_UNKNOWN', 'FAIL');
    // The same graph rebuilt from its own nodes gives the same answer: evaluation is pure.
    expect(evaluate(buildGraph(graph.udi, [graph.assembly!, ...graph.releases]), base, { now: 0, signer: () => undefined }).verdict).toBe('FAIL');
  });

  it('EVIDENCE_TOO_OLD: tests older than the policy allows', async () => {
    const later = Math.floor(Date.now() / 1000) + 800 * 86_400;
    expectFinding(await run({}, base, later), 'EVIDENCE_TOO_OLD', 'FAIL');
  });

  it('COMPONENT_SUPPLIER_MISMATCH: attested by a supplier other than the one the assembly names', async () => {
    expectFinding(await run({ assemblyNamesOtherSupplier: true }), 'COMPONENT_SUPPLIER_MISMATCH', 'FAIL');
  });

  it('TEST_FAILED: a failed test run', async () => {
    expectFinding(await run({ testResult: 'FAILED' }), 'TEST_FAILED', 'FAIL');
  });

  it('RELEASE_FAILED: the release decision says FAILED', async () => {
    expectFinding(await run({ releaseResult: 'FAILED' }), 'RELEASE_FAILED', 'FAIL');
  });

  it.each(['lot', 'partSerial', 'firmware', 'device'] as const)('RECALLED: a recall of the %s', async (on) => {
    expectFinding(await run({ advisory: { kind: 'recall', severity: 'medium', on } }), 'RECALLED', 'FAIL');
  });

  it('ADVISORY_BLOCKING: a critical advisory on the firmware', async () => {
    expectFinding(await run({ advisory: { kind: 'advisory', severity: 'critical', on: 'firmware' } }), 'ADVISORY_BLOCKING', 'FAIL');
  });

  it('ADVISORY_NOTICE: a low advisory is reported but does not block', async () => {
    const e = await run({ advisory: { kind: 'advisory', severity: 'low', on: 'partSerial' } });
    expectFinding(e, 'ADVISORY_NOTICE', 'PASS');
  });

  it('a policy can let recalls through and block medium advisories instead', async () => {
    const e = await run({ advisory: { kind: 'recall', severity: 'medium', on: 'lot' } }, { ...base, advisories: { recallsBlock: false, block: ['medium'] } });
    expectFinding(e, 'ADVISORY_BLOCKING', 'FAIL');
  });
});

describe('policies', () => {
  it('rejects an invalid policy with a clear error', async () => {
    const { parsePolicy } = await import('../../src/provenance/policy-io.js');
    expect(() => parsePolicy({ name: 'x', steps: { assembly: { threshold: 0 } } })).toThrow(/threshold/);
    expect(() => parsePolicy({ name: 'x', steps: { painting: {} } })).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
    expect(() => parsePolicy('{nope')).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
  });
});
