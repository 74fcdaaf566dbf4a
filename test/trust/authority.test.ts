/** One test per authority rule (src/trust/authority.ts), as ingestion and the policy apply them. */
import { describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { buildGraph, type AttNode } from '../../src/provenance/graph.js';
import { evaluate } from '../../src/provenance/policy.js';
import { advisoryNotAuthorised, checkSubjectAuthority, deviceNotOwned, namespaceOf } from '../../src/trust/authority.js';

const t = (n: string) => resolvePredicateType(n).uri;
const st = (type: string, subject: Record<string, string>, predicate: Record<string, unknown> = {}) => ({ predicateType: t(type), subject: [{ digest: subject }], predicate });

describe('authority rules', () => {
  it('1. namespaces: only the owner attests a part serial or lot, in a component or an SBOM', () => {
    expect(namespaceOf('valveco:VALVE-7:L78')).toBe('valveco');
    expect(() => checkSubjectAuthority(st('component', { lot: 'valveco:VALVE-7:L78' }), { id: 'valveco' })).not.toThrow();
    expect(() => checkSubjectAuthority(st('component', { partSerial: 'valveco:VALVE-7:FAKE1' }), { id: 'acme-sensors' })).toThrow(expect.objectContaining({ code: 'NAMESPACE_NOT_OWNED', field: '/subject/0/digest/partSerial' }));
    expect(() => checkSubjectAuthority(st('cyclonedx', { lot: 'valveco:VALVE-7:L78' }), { id: 'acme-sensors' })).toThrow(expect.objectContaining({ code: 'NAMESPACE_NOT_OWNED' }));
    // A QA lab may test anyone's parts.
    expect(() => checkSubjectAuthority(st('test-result', { lot: 'valveco:VALVE-7:L78' }), { id: 'qa-lab' })).not.toThrow();
  });

  it('1. namespaces, in the policy: a component attested by a non-owner does not count', () => {
    const udi = '(01)09506000134352(21)AUTH-1';
    const assembly: AttNode = { logIndex: 1, integratedTime: 1, keyId: 'maker', signer: 'maker', predicateType: t('device-assembly'), statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { udi } }], predicateType: t('device-assembly'), predicate: { model: 'P', assembledAt: '2026-01-01T00:00:00Z', components: [{ componentType: 'valve', lot: 'valveco:V:L1' }], firmware: [] } } };
    const component: AttNode = { logIndex: 2, integratedTime: 1, keyId: 'rogue', signer: 'rogue', predicateType: t('component'), statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { lot: 'valveco:V:L1' } }], predicateType: t('component'), predicate: {} } };
    const signer = (k: string) => ({ participant: k, roles: k === 'maker' ? (['manufacturer'] as const) : (['supplier'] as const), products: ['09506000134352'], revocations: [] });
    const e = evaluate(buildGraph(udi, [assembly, component]), { name: 'p', steps: { component: { required: true } } }, { now: 2, signer });
    // Not counted, and unable to fail the device by speaking: the component is simply unattested.
    expect(e.verdict).toBe('INCOMPLETE');
    expect(e.findings).toEqual([expect.objectContaining({ code: 'SIGNER_NOT_ALLOWED', severity: 'warning', entries: [2] }), expect.objectContaining({ code: 'COMPONENT_UNATTESTED' })]);
  });

  it('2. the registry: a registration or revocation is about the participant its subject names', () => {
    expect(() => checkSubjectAuthority(st('participant', { participant: 'acme' }, { id: 'acme' }), { id: 'admin' })).not.toThrow();
    expect(() => checkSubjectAuthority(st('participant', { participant: 'acme' }, { id: 'valveco' }), { id: 'admin' })).toThrow(expect.objectContaining({ code: 'REGISTRATION_INVALID' }));
    expect(() => checkSubjectAuthority(st('key-revocation', { participant: 'acme' }, { participantId: 'valveco' }), { id: 'admin' })).toThrow(expect.objectContaining({ code: 'REGISTRATION_INVALID' }));
  });

  it('3. advisories count from the manufacturer, the owner, the firmware attester or a regulator only', () => {
    const target = { manufacturer: 'infusion-corp', owners: ['valveco'] };
    expect(advisoryNotAuthorised({ participant: 'infusion-corp', roles: ['manufacturer'] }, target)).toBeUndefined();
    expect(advisoryNotAuthorised({ participant: 'valveco', roles: ['supplier'] }, target)).toBeUndefined();
    expect(advisoryNotAuthorised({ participant: 'fda', roles: ['regulator'] }, target)).toBeUndefined();
    expect(advisoryNotAuthorised({ participant: 'acme-sensors', roles: ['supplier'] }, target)).toMatch(/acme-sensors is not the device's manufacturer/);
    expect(advisoryNotAuthorised({ participant: 'rival', roles: ['manufacturer'] }, { owners: [] })).toMatch(/rival/);
  });

  it('4. devices: only the manufacturer of a device model signs its assembly and release, in every agency’s notation', () => {
    const maker = { participant: 'm', products: ['09506000134352', '+A123BJC5D6E71', '=/A9999XYZ100T0944'] };
    expect(deviceNotOwned(maker, '(01)09506000134352(21)SN1')).toBeUndefined();
    expect(deviceNotOwned(maker, 'hibc:+A123BJC5D6E71/10X3')).toBeUndefined();
    expect(deviceNotOwned(maker, 'isbt128:A9999XYZ100T0944/A999713123456/000025')).toBeUndefined();
    expect(deviceNotOwned({ participant: 'rival', products: ['00000000000017'] }, '(01)09506000134352(21)SN1')).toMatch(/rival is not registered as the manufacturer of model 09506000134352/);
    const assembly = st('device-assembly', { udi: '(01)09506000134352(21)SN1' });
    expect(() => checkSubjectAuthority(assembly, { id: 'm', products: maker.products })).not.toThrow();
    expect(() => checkSubjectAuthority(assembly, { id: 'rival', products: [] })).toThrow(expect.objectContaining({ code: 'DEVICE_NOT_OWNED' }));
    expect(() => checkSubjectAuthority(st('slsa-vsa', { udi: '(01)09506000134352(21)SN1' }), { id: 'rival' })).toThrow(expect.objectContaining({ code: 'DEVICE_NOT_OWNED' }));
  });
});
