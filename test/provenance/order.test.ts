/**
 * Signed order: the graph, the policy and the registry take "latest" by the time a statement's
 * signer issued it, never by where it landed in the log.
 */
import { describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { buildGraph, type AttNode } from '../../src/provenance/graph.js';
import { evaluate, type Policy } from '../../src/provenance/policy.js';
import { TrustRegistry } from '../../src/trust/registry.js';
import { spkiPem } from '../../src/trust/keys.js';
import { party } from '../attest/fixtures.js';

const UDI = '(01)09506000134352(21)ORD-1';
const t = (n: string) => resolvePredicateType(n).uri;
const policy: Policy = { name: 'release only', steps: { assembly: { required: true }, release: { required: true } } };
const signer = (keyId: string) => ({ participant: keyId, roles: keyId === 'regulator' ? (['regulator'] as const) : (['manufacturer'] as const), products: ['09506000134352'], revocations: [] });

function node(logIndex: number, type: string, predicate: Record<string, unknown>, keyId = 'maker', subject: Record<string, string> = { udi: UDI }): AttNode {
  return { logIndex, integratedTime: 1_800_000_000, keyId, signer: keyId, predicateType: t(type), statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: subject }], predicateType: t(type), predicate } };
}
const assembly = node(1, 'device-assembly', { model: 'P', assembledAt: '2026-01-01T00:00:00Z', components: [], firmware: [] });
const release = (logIndex: number, result: string, time: string) =>
  node(logIndex, 'slsa-vsa', { verifier: { id: 'g' }, timeVerified: time, resourceUri: UDI, policy: {}, verificationResult: result, verifiedLevels: [] });
const verdictOf = (nodes: AttNode[]) => evaluate(buildGraph(UDI, nodes), policy, { now: 1_900_000_000, signer }).verdict;

describe('signed order', () => {
  it('takes the release decision issued last, whatever its log position', () => {
    expect(verdictOf([assembly, release(5, 'FAILED', '2026-03-01T00:00:00Z'), release(9, 'PASSED', '2026-02-01T00:00:00Z')])).toBe('FAIL');
    expect(verdictOf([assembly, release(5, 'PASSED', '2026-03-01T00:00:00Z'), release(9, 'FAILED', '2026-02-01T00:00:00Z')])).toBe('PASS');
  });

  it('takes the assembly assembled last as the device structure', () => {
    const later = node(2, 'device-assembly', { model: 'P2', assembledAt: '2026-06-01T00:00:00Z', components: [], firmware: [] });
    const earlier = node(7, 'device-assembly', { model: 'P1', assembledAt: '2026-05-01T00:00:00Z', components: [], firmware: [] });
    expect(buildGraph(UDI, [later, earlier]).assembly?.logIndex).toBe(2);
  });

  it('counts only the latest version of an advisory, and a withdrawn one not at all', () => {
    const recall = (logIndex: number, time: string, extra: Record<string, unknown> = {}) =>
      node(logIndex, 'advisory', { id: 'RC-1', kind: 'recall', severity: 'high', title: 'r', issuedAt: time, affects: { udis: [UDI] }, ...extra }, 'regulator');
    const base = [assembly, release(3, 'PASSED', '2026-02-01T00:00:00Z')];
    const run = (nodes: AttNode[]) => evaluate(buildGraph(UDI, [...base, ...nodes]), policy, { now: 1_900_000_000, signer });
    expect(run([recall(10, '2026-04-01T00:00:00Z')]).verdict).toBe('FAIL');
    const withdrawn = run([recall(10, '2026-04-01T00:00:00Z'), recall(11, '2026-05-01T00:00:00Z', { status: 'withdrawn' })]);
    expect(withdrawn.verdict).toBe('PASS');
    expect(withdrawn.findings.map((f) => f.code)).toEqual(['ADVISORY_WITHDRAWN']);
    // An older version logged later does not bring the recall back.
    expect(run([recall(11, '2026-05-01T00:00:00Z', { status: 'withdrawn' }), recall(12, '2026-04-01T00:00:00Z')]).verdict).toBe('PASS');
    // Another signer cannot withdraw it.
    const other = node(13, 'advisory', { id: 'RC-1', kind: 'recall', severity: 'high', title: 'r', issuedAt: '2026-06-01T00:00:00Z', status: 'withdrawn', affects: { udis: [UDI] } }, 'maker');
    expect(run([recall(10, '2026-04-01T00:00:00Z'), other]).verdict).toBe('FAIL');
  });

  it('the registry ignores a registration issued before the current one, wherever it is logged', () => {
    const admin = party('admin-x');
    const p = party('p');
    const registry = new TrustRegistry(spkiPem(admin.publicKey));
    const reg = (roles: string[], issuedAt: string) => ({ predicateType: t('participant'), predicate: { id: 'p', organisation: 'P', roles, publicKeys: [spkiPem(p.publicKey)], issuedAt } });
    registry.apply(reg(['supplier'], '2026-05-01T00:00:00Z'), 4, 1_800_000_000);
    registry.apply(reg(['supplier', 'manufacturer'], '2026-04-01T00:00:00Z'), 9, 1_800_000_100);
    expect(registry.get('p')!.roles).toEqual(['supplier']);
  });
});
