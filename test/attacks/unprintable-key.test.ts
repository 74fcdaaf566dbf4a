/**
 * A lot named with a space (schema-valid in an assembly record and an advisory's `affects`):
 * the recall on it must be filed under the lot's key like any other, so the ledger's package
 * carries it (RECALLED) and a package without it, re-signed with the log key, is refused.
 * (Keys with spaces or non-ASCII characters once were silently not filed at all.)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { signEvidence } from '../../src/provenance/evidence.js';
import { shippedReleasePolicy } from '../../src/provenance/release-policy.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { udi as mkUdi } from '../attest/fixtures.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { buildScenario } from '../provenance/scenario.js';

let node: TestNode;
const t = (n: string) => resolvePredicateType(n).uri;
const now = () => Math.floor(Date.now() / 1000);
beforeAll(async () => {
  node = await startNode();
}, 60_000);
afterAll(async () => node.cleanup());

it('a recall on a lot with a space is filed under the lot: carried, and refused when left out', async () => {
  const s = await buildScenario(node, {});
  const p = s.parties as any;
  const submit = async (st: Record<string, unknown>, who: any) => node.attestations.submit(await signStatement(st, who.privateKey));
  const UDI = mkUdi('DEV-2');
  const LOT = 'sup-a:VALVE:LOT 7'; // schema-valid for device-assembly components and advisory affects.lots
  const dev = [{ digest: { udi: UDI } }];
  await submit(statement([{ digest: { partSerial: 'sup-a:VALVE:SN9' } }], t('component'), { partNumber: 'VALVE', componentType: 'valve' }), p.supplier);
  await submit(statement(dev, t('device-assembly'), { model: 'Pump', assembledAt: '2026-10-30T00:00:00Z',
    components: [{ componentType: 'pressure-sensor', supplier: 'sup-a', partSerial: s.partSerial }, { componentType: 'valve', supplier: 'sup-a', partSerial: 'sup-a:VALVE:SN9', lot: LOT }],
    firmware: [{ name: 'fw', version: '1.0', digest: { sha256: s.fw } }] }), p.maker);
  await submit(statement(dev, t('slsa-vsa'), { verifier: { id: 'gate' }, timeVerified: '2026-11-01T00:00:00Z', resourceUri: UDI, policy: {}, verificationResult: 'PASSED', verifiedLevels: [] }), p.maker);
  await submit(statement(dev, t('custody-transfer'), { from: 'maker', to: 'dist', transferredAt: '2026-11-02T00:00:00Z' }), p.maker);
  await submit(statement(dev, t('custody-transfer'), { from: 'dist', to: 'hospital', transferredAt: '2026-11-02T06:00:00Z' }), p.dist);
  await submit(statement(dev, t('installation'), { site: { name: 'Ward 1' }, installedAt: '2026-11-03T00:00:00Z' }), p.hosp);
  // The supplier's recall: subject is the recall notice document, affects the lot.
  const notice = createHash('sha256').update('recall notice RC-7').digest('hex');
  const recall = await submit(statement([{ name: 'RC-7.pdf', digest: { sha256: notice } }], t('advisory'), { id: 'RC-7', kind: 'recall', severity: 'high', title: 'Valve leaks', issuedAt: '2026-11-20T00:00:00Z', affects: { lots: [LOT] } }), p.supplier);
  const recallIndex = recall.record.logIndex;

  const root = await (await fetch(`${node.url}/trusted_root.json`)).json();
  const logSigner = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
  const verdict = (pkg: unknown) => { try { return verifyEvidence(pkg, root, { udi: UDI, policy: shippedReleasePolicy(), now: now() }).outcome; } catch (e) { return `${(e as any).code}: ${(e as Error).message}`; } };

  // What the ledger issues carries the recall, filed under the lot's percent-encoded key.
  const served = await node.devices.evidence(UDI, shippedReleasePolicy());
  const servedIdx = served.bundles.map((b: any) => Number(b.verificationMaterial.tlogEntries[0].logIndex));
  expect(servedIdx).toContain(recallIndex);
  expect(served.lookups.find((l) => l.key === 'lot:sup-a:VALVE:LOT%207')?.indexes).toEqual([recallIndex]);
  expect(verdict(served)).toBe('RECALLED');
  // Without it, re-signed with the real log key: refused.
  const hidden = structuredClone(served) as any;
  hidden.bundles = hidden.bundles.filter((b: any) => Number(b.verificationMaterial.tlogEntries[0].logIndex) !== recallIndex);
  delete hidden.signature;
  expect(verdict(signEvidence(hidden, logSigner))).toMatch(/^EVIDENCE_INCOMPLETE: .* about lot:sup-a:VALVE:LOT%207/);
}, 60_000);
