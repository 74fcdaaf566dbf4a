/**
 * Builds one device's supply chain from real signed attestations, with knobs to leave out or
 * change any step. The defaults produce a device that passes the release policy.
 */
import { createHash } from 'node:crypto';
import { resolvePredicateType, type Role } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import type { TestNode } from '../helpers.js';
import { GTIN, party, registration, revocation, udi, type Party } from '../attest/fixtures.js';

export type Step = 'component' | 'lot' | 'firmware' | 'build' | 'sbom' | 'test' | 'assembly' | 'release' | 'custody' | 'installation';

export interface ScenarioOptions {
  skip?: Step[];
  testResult?: 'PASSED' | 'FAILED';
  releaseResult?: 'PASSED' | 'FAILED';
  /** The assembly names another supplier than the one that owns and attests the serialised part. */
  assemblyNamesOtherSupplier?: boolean;
  /** Revoke the supplier's key as compromised from this ISO time, after its attestations. */
  compromiseSupplierFrom?: string;
  advisory?: { kind: 'recall' | 'advisory'; severity: 'low' | 'medium' | 'high' | 'critical'; on: 'lot' | 'partSerial' | 'firmware' | 'device' };
  /** Another device of an earlier scenario on the same node: reuse its registered parties. */
  another?: { serial: string; parties: Scenario['parties'] };
}

export interface Scenario {
  udi: string;
  fw: string;
  partSerial: string;
  lot: string;
  parties: Record<string, Party>;
}

const t = (name: string) => resolvePredicateType(name).uri;

export async function buildScenario(node: TestNode, o: ScenarioOptions = {}): Promise<Scenario> {
  const skip = new Set(o.skip ?? []);
  const parties = (o.another?.parties as Record<'supplier' | 'other' | 'maker' | 'ci' | 'qa' | 'dist' | 'hosp', Party> | undefined) ?? {
    supplier: party('sup-a'),
    other: party('sup-b'),
    maker: party('maker'),
    ci: party('maker-ci'),
    qa: party('qa-lab'),
    dist: party('dist'),
    hosp: party('hospital'),
  };
  const roles: Record<keyof typeof parties, Role[]> = { supplier: ['supplier'], other: ['supplier'], maker: ['manufacturer'], ci: ['builder'], qa: ['qa'], dist: ['distributor'], hosp: ['hospital'] };
  const submit = async (st: Record<string, unknown>, p: Party) => node.attestations.submit(await signStatement(st, p.privateKey));
  const admin = async (st: Record<string, unknown>) => node.attestations.submit(await signStatement(st, node.adminKey));
  if (!o.another) for (const [k, p] of Object.entries(parties)) await admin(registration(p, roles[k as keyof typeof parties], k === 'maker' ? { products: [GTIN] } : {}));

  const s: Scenario = {
    udi: udi(o.another?.serial ?? 'DEV-1'),
    fw: createHash('sha256').update('firmware image').digest('hex'),
    partSerial: 'sup-a:PS-100:SN1',
    lot: 'sup-a:VALVE:L1',
    parties,
  };
  if (!skip.has('component')) await submit(statement([{ digest: { partSerial: s.partSerial } }], t('component'), { partNumber: 'PS-100', componentType: 'pressure-sensor' }), parties.supplier);
  if (!skip.has('lot')) await submit(statement([{ digest: { lot: s.lot } }], t('component'), { partNumber: 'VALVE', componentType: 'valve', lot: 'L1' }), parties.supplier);
  const fwSubject = [{ name: 'fw.bin', digest: { sha256: s.fw } }];
  if (!skip.has('firmware')) await submit(statement(fwSubject, t('firmware'), { name: 'fw', version: '1.0', gtins: [GTIN] }), parties.maker);
  if (!skip.has('build')) await submit(statement(fwSubject, t('slsa-provenance'), { buildDefinition: { buildType: 'make', externalParameters: {} }, runDetails: { builder: { id: 'ci' } } }), parties.ci);
  if (!skip.has('sbom')) await submit(statement(fwSubject, 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.5' }), parties.maker);
  if (!skip.has('test')) await submit(statement(fwSubject, t('test-result'), { result: o.testResult ?? 'PASSED', configuration: [] }), parties.qa);
  const device = [{ digest: { udi: s.udi } }];
  if (!skip.has('assembly')) {
    await submit(
      statement(device, t('device-assembly'), {
        model: 'Pump',
        assembledAt: '2026-10-30T00:00:00Z',
        components: [
          { componentType: 'pressure-sensor', supplier: o.assemblyNamesOtherSupplier ? 'sup-b' : 'sup-a', partSerial: s.partSerial },
          { componentType: 'valve', supplier: 'sup-a', lot: s.lot },
        ],
        firmware: [{ name: 'fw', version: '1.0', digest: { sha256: s.fw } }],
      }),
      parties.maker,
    );
  }
  if (!skip.has('release')) {
    await submit(statement(device, t('slsa-vsa'), { verifier: { id: 'gate' }, timeVerified: '2026-11-01T00:00:00Z', resourceUri: s.udi, policy: {}, verificationResult: o.releaseResult ?? 'PASSED', verifiedLevels: [] }), parties.maker);
  }
  if (!skip.has('custody')) {
    await submit(statement(device, t('custody-transfer'), { from: 'maker', to: 'dist', transferredAt: '2026-11-02T00:00:00Z' }), parties.maker);
    await submit(statement(device, t('custody-transfer'), { from: 'dist', to: 'hospital', transferredAt: '2026-11-02T06:00:00Z' }), parties.dist);
  }
  if (!skip.has('installation')) await submit(statement(device, t('installation'), { site: { name: 'Ward 1' }, installedAt: '2026-11-03T00:00:00Z' }), parties.hosp);
  if (o.compromiseSupplierFrom) await admin(revocation('sup-a', { reason: 'compromise', effectiveTime: o.compromiseSupplierFrom }));
  if (o.advisory) {
    const a = o.advisory;
    const affects = a.on === 'lot' ? { lots: [s.lot] } : a.on === 'partSerial' ? { partSerials: [s.partSerial] } : a.on === 'firmware' ? { firmwareDigests: [s.fw] } : { udis: [s.udi] };
    const subject: Record<string, string> = a.on === 'lot' ? { lot: s.lot } : a.on === 'partSerial' ? { partSerial: s.partSerial } : a.on === 'firmware' ? { sha256: s.fw } : { udi: s.udi };
    await submit(statement([{ digest: subject }], t('advisory'), { id: 'ADV-1', kind: a.kind, severity: a.severity, title: 'Something is wrong', issuedAt: '2026-11-20T00:00:00Z', affects }), a.on === 'firmware' || a.on === 'device' ? parties.maker : parties.supplier);
  }
  return s;
}
