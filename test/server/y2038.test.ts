/**
 * Past January 2038: a ledger whose clock reads 2040 integrates, serves and proves times beyond
 * 32-bit seconds, through GraphQL (EpochSeconds, not Int), JSON and storage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement } from '../../src/attest/sign.js';
import { graphql } from '../../src/client/graphql.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { componentStatement, party, registration, udi } from '../attest/fixtures.js';
import { startNode, type TestNode } from '../helpers.js';

const AT = Date.parse('2040-06-01T12:00:00Z');
let node: TestNode;

beforeAll(async () => {
  node = await startNode({ clock: () => AT });
  const supplier = party('supplier');
  await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
  await node.attestations.submit(await signStatement(componentStatement('supplier', 'P', ['S1']), supplier.privateKey));
});
afterAll(() => node.cleanup());

describe('times past 2038', () => {
  it('integrates at 2040 and answers the time exactly over GraphQL, in searches and in evidence', async () => {
    const secs = AT / 1000;
    expect(secs).toBeGreaterThan(2 ** 31);
    type A = { attestation: { integratedTime: number }; entry: { integratedTime: number }; entries: { edges: Array<{ node: { logIndex: number } }> }; participants: Array<{ id: string; history: Array<{ integratedTime: number }> }> };
    const d = await graphql<A>(
      node.url,
      '{ attestation(logIndex: 1) { integratedTime } entry(logIndex: 1) { integratedTime } entries(filter: { since: "2040-06-01T12:00:00Z" }, first: 5) { edges { node { logIndex } } } participants { id history { integratedTime } } }',
    );
    expect(d.attestation.integratedTime).toBe(secs);
    expect(d.entry.integratedTime).toBe(secs);
    expect(d.entries.edges.map((e) => e.node.logIndex)).toEqual([0, 1]);
    expect(d.participants.find((p) => p.id === 'supplier')!.history[0]!.integratedTime).toBe(secs);
    const e = await graphql<{ device: { verify: { evaluatedAt: number }; evidence: unknown } }>(node.url, 'query ($u: String!) { device(udi: $u) { verify { evaluatedAt } evidence } }', { u: udi('Y2040') });
    expect(e.device.verify.evaluatedAt).toBe(secs);
    const root = await (await fetch(`${node.url}/trusted_root.json`)).json();
    const r = verifyEvidence(e.device.evidence, root, { udi: udi('Y2040'), policy: defaultPolicy(), now: secs });
    expect(r.issuedAt).toBe(secs);
    expect(r.outcome).toBe('UNKNOWN');
  });
});
