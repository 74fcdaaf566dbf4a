/** One test per authority rule (src/trust/authority.ts), as ingestion and the policy apply them. */
import { describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { buildGraph, type AttNode } from '../../src/provenance/graph.js';
import { evaluate } from '../../src/provenance/policy.js';
import { advisoryNotAuthorised, checkSubjectAuthority, namespaceOf } from '../../src/trust/authority.js';

const t = (n: string) => resolvePredicateType(n).uri;
const st = (type: string, subject: Record<string, string>, predicate: Record<string, unknown> = {}) => ({ predicateType: t(type), subject: [{ digest: subject }], predicate });

describe('authority rules', () => {
  it('1. namespaces: only the owner attests a part serial or lot, in a component or an SBOM', () => {
    expect(namespaceOf('valveco:VALVE-7:L78')).toBe('valveco');
    expect(() => checkSubjectAuthority(st('component', { lot: 'valveco:VALVE-7:L78' }), 'valveco')).not.toThrow();
    expect(() => checkSubjectAuthority(st('component', { partSerial: 'valveco:VALVE-7:FAKE1' }), 'acme-sensors')).toThrow(expect.objectContaining({ code: 'NAMESPACE_NOT_OWNED', field: '/subject/0/digest/partSerial' }));
    expect(() => checkSubjectAuthority(st('cyclonedx', { lot: 'valveco:VALVE-7:L78' }), 'acme-sensors')).toThrow(expect.objectContaining({ code: 'NAMESPACE_NOT_OWNED' }));
    // A QA lab may test anyone's parts.
    expect(() => checkSubjectAuthority(st('test-result', { lot: 'valveco:VALVE-7:L78' }), 'qa-lab')).not.toThrow();
  });

  it('1. namespaces, in the policy: a component attested by a non-owner does not count', () => {
    const udi = '(01)09506000134352(21)AUTH-1';
    const assembly: AttNode = { logIndex: 1, integratedTime: 1, keyId: 'maker', signer: 'maker', predicateType: t('device-assembly'), statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { udi } }], predicateType: t('device-assembly'), predicate: { model: 'P', assembledAt: '2026-01-01T00:00:00Z', components: [{ componentType: 'valve', lot: 'valveco:V:L1' }], firmware: [] } } };
    const component: AttNode = { logIndex: 2, integratedTime: 1, keyId: 'rogue', signer: 'rogue', predicateType: t('component'), statement: { _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { lot: 'valveco:V:L1' } }], predicateType: t('component'), predicate: {} } };
    const signer = (k: string) => ({ participant: k, roles: k === 'maker' ? (['manufacturer'] as const) : (['supplier'] as const), revocations: [] });
    const e = evaluate(buildGraph(udi, [assembly, component]), { name: 'p', steps: { component: { required: true } } }, { now: 2, signer });
    expect(e.verdict).toBe('FAIL');
    expect(e.findings).toEqual([expect.objectContaining({ code: 'SIGNER_NOT_ALLOWED', entries: [2] })]);
  });

  it('2. the registry: a registration or revocation is about the participant its subject names', () => {
    expect(() => checkSubjectAuthority(st('participant', { participant: 'acme' }, { id: 'acme' }), 'admin')).not.toThrow();
    expect(() => checkSubjectAuthority(st('participant', { participant: 'acme' }, { id: 'valveco' }), 'admin')).toThrow(expect.objectContaining({ code: 'REGISTRATION_INVALID' }));
    expect(() => checkSubjectAuthority(st('key-revocation', { participant: 'acme' }, { participantId: 'valveco' }), 'admin')).toThrow(expect.objectContaining({ code: 'REGISTRATION_INVALID' }));
  });

  it('3. advisories count from the manufacturer, the owner, the firmware attester or a regulator only', () => {
    const target = { manufacturer: 'infusion-corp', owners: ['valveco'] };
    expect(advisoryNotAuthorised({ participant: 'infusion-corp', roles: ['manufacturer'] }, target)).toBeUndefined();
    expect(advisoryNotAuthorised({ participant: 'valveco', roles: ['supplier'] }, target)).toBeUndefined();
    expect(advisoryNotAuthorised({ participant: 'fda', roles: ['regulator'] }, target)).toBeUndefined();
    expect(advisoryNotAuthorised({ participant: 'acme-sensors', roles: ['supplier'] }, target)).toMatch(/acme-sensors is not the device's manufacturer/);
    expect(advisoryNotAuthorised({ participant: 'rival', roles: ['manufacturer'] }, { owners: [] })).toMatch(/rival/);
  });
});
