/**
 * Bounded growth per subject: what others submit about a device must not make it impossible to
 * verify. Duplicates are the entry already there; advisories from participants without
 * authority are logged, carried in the evidence (its lists must be complete) and shown as not
 * authorised, and the verdict stands. Past the device's limit the answer is DEVICE_TOO_LARGE,
 * never a verdict built from part of the record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql, submitBundle } from '../../src/client/graphql.js';
import type { EvidencePackage } from '../../src/provenance/evidence.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { startNode, type TestNode } from '../helpers.js';
import { verdictOf } from './ledger-client.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { party, registration } from '../attest/fixtures.js';

let node: TestNode;
let s: Scenario;
const LIMIT = 40;
const SPAM = 20;
const verify = (udi: string) => verdictOf(node.url, udi);

beforeAll(async () => {
  node = await startNode({ maxDeviceEntries: LIMIT });
  s = await buildScenario(node, {});
}, 60_000);
afterAll(() => node.cleanup());


describe('a device stays verifiable whatever others submit about it', () => {
  it('unauthorised advisories are logged, all carried and shown as not authorised, and the verdict stands', async () => {
    const rival = party('rival');
    await submitBundle(node.url, await signStatement(registration(rival, ['supplier']), node.adminKey));
    const spam = await Promise.all(
      Array.from({ length: SPAM }, (_, i) =>
        signStatement(
          statement([{ digest: { lot: s.lot } }], resolvePredicateType('advisory').uri, { id: `SPAM-${i}`, kind: 'recall', severity: 'critical', title: 'spam', issuedAt: new Date().toISOString(), affects: { lots: [s.lot], udis: [s.udi] } }),
          rival.privateKey,
        ),
      ),
    );
    const before = node.ledger.size;
    for (let i = 0; i < spam.length; i += 40) {
      const d = await graphql<{ submitAttestations: Array<{ __typename: string }> }>(node.url, 'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename } }', { b: spam.slice(i, i + 40) });
      expect(d.submitAttestations.every((r) => r.__typename === 'SubmitAttestationPayload')).toBe(true);
    }
    expect(node.ledger.size).toBe(before + SPAM);
    const v = await verify(s.udi);
    expect(v.verdict).toBe('PASS');
    expect(v.codes.filter((c) => c === 'ADVISORY_NOT_AUTHORISED')).toHaveLength(SPAM);
    // The evidence package verifies and says the same.
    const e = await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: s.udi });
    const root = await (await fetch(`${node.url}/trusted_root.json`)).json();
    const offline = verifyEvidence(e.device.evidence, root, { udi: s.udi, policy: defaultPolicy(), now: Math.floor(Date.now() / 1000) });
    expect(offline.evaluation.verdict).toBe('PASS');
    expect(offline.evaluation.findings.filter((f) => f.code === 'ADVISORY_NOT_AUTHORISED')).toHaveLength(SPAM);
  }, 60_000);

  it('entries a verdict can use still count, and past the limit the device says so with DEVICE_TOO_LARGE', async () => {
    // The lot's own supplier may issue as many advisories about its lot as it likes; each one counts.
    const supplier = s.parties.supplier!;
    for (let i = 0; i < LIMIT; i++) {
      await submitBundle(
        node.url,
        await signStatement(statement([{ digest: { lot: s.lot } }], resolvePredicateType('advisory').uri, { id: `OWN-${i}`, kind: 'advisory', severity: 'low', title: 'notice', issuedAt: new Date().toISOString(), affects: { lots: [s.lot] } }), supplier.privateKey),
      );
    }
    const r = await fetch(`${node.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query ($u: String!) { device(udi: $u) { verify { verdict } } }', variables: { u: s.udi } }),
    });
    const body = (await r.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe('DEVICE_TOO_LARGE');
  }, 60_000);
});
