/** The index's map function: which keys each kind of entry is filed under. */
import { describe, expect, it } from 'vitest';
import { PARTICIPANT_URI, REVOCATION_URI, resolvePredicateType } from '../../src/attest/predicates.js';
import type { Statement } from '../../src/attest/statement.js';
import { spkiPem } from '../../src/trust/keys.js';
import { lookupKey, lookupKeys, verdictKeys } from '../../src/vindex/keys.js';
import { buildGraph } from '../../src/provenance/graph.js';
import { party } from '../attest/fixtures.js';

const st = (type: string, subject: Record<string, string>, predicate: Record<string, unknown>): Statement => ({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: subject }], predicateType: type, predicate });
const UDI = '(01)09506000134352(21)IP-000001';
const FW = 'a'.repeat(64);
const ASSEMBLY = st(resolvePredicateType('device-assembly').uri, { udi: UDI }, { components: [{ partSerial: 'acme:PS:1' }, { lot: 'valveco:V:L78' }], firmware: [{ digest: { sha256: FW } }] });

describe('the map function', () => {
  it('files an assembly under its device and as fitting its firmware, not under the parts it lists', () => {
    expect(lookupKeys(ASSEMBLY)).toEqual([`fitted:${FW}`, `udi:${UDI}`]);
  });

  it('files SBOMs under each package they list, vulnerability advisories under the packages they name, VEX under each vulnerability, updates as fitting their target', () => {
    const sbom = st('https://cyclonedx.org/bom', { sha256: FW }, { bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library', name: 'openssl', purl: 'pkg:generic/openssl@3.0.7', components: [{ type: 'library', name: 'zlib', purl: 'pkg:generic/zlib@1.3' }] }, { type: 'library', name: 'no purl' }] });
    expect(lookupKeys(sbom)).toEqual(['purl:pkg:generic/openssl', 'purl:pkg:generic/zlib', `sha256:${FW}`]);
    const spdx = st('https://spdx.dev/Document/v2.3', { sha256: FW }, { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT', name: 'fw', documentDescribes: ['SPDXRef-fw'], packages: [{ SPDXID: 'SPDXRef-fw', name: 'fw', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:generic/fw@1' }] }, { SPDXID: 'SPDXRef-o', name: 'openssl', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:generic/openssl@3.0.8' }] }] });
    expect(lookupKeys(spdx)).toEqual(['purl:pkg:generic/openssl', `sha256:${FW}`]);
    const vuln = st(resolvePredicateType('advisory').uri, { vulnerability: 'CVE-2023-0286' }, { kind: 'vulnerability', vulnerability: { id: 'CVE-2023-0286' }, affects: { components: [{ purl: 'pkg:generic/openssl', range: 'vers:generic/>=3.0.0|<3.0.8' }] } });
    expect(lookupKeys(vuln)).toEqual(['vuln-purl:pkg:generic/openssl']);
    const vex = st(resolvePredicateType('openvex').uri, { sha256: FW }, { statements: [{ vulnerability: { name: 'CVE-2023-0286', aliases: ['GHSA-x4qr-2fvf-3mr5'] }, status: 'fixed' }] });
    expect(lookupKeys(vex)).toEqual([`sha256:${FW}`, 'vex:CVE-2023-0286', 'vex:GHSA-x4qr-2fvf-3mr5']);
    const update = st(resolvePredicateType('firmware-update').uri, { udi: UDI }, { firmware: 'fw', from: { digest: { sha256: FW } }, to: { digest: { sha256: 'b'.repeat(64) } } });
    expect(lookupKeys(update)).toEqual([`fitted:${'b'.repeat(64)}`, `udi:${UDI}`]);
  });

  it('files an advisory under its subjects and what it affects', () => {
    const keys = lookupKeys(st(resolvePredicateType('advisory').uri, { lot: 'valveco:V:L78' }, { affects: { lots: ['valveco:V:L78'], udis: [UDI], firmwareDigests: [FW], partSerials: ['acme:PS:9'] } }));
    expect(keys).toEqual(['lot:valveco:V:L78', 'partSerial:acme:PS:9', `sha256:${FW}`, `udi:${UDI}`]);
  });

  it('files registrations and revocations under the registry, the participant and every key they name', () => {
    const p = party('acme');
    const reg = lookupKeys(st(PARTICIPANT_URI, { participant: 'acme' }, { id: 'acme', publicKeys: [spkiPem(p.publicKey)] }));
    expect(reg).toEqual([`key:${p.keyId}`, 'participant:acme', 'registry'].sort());
    const rev = lookupKeys(st(REVOCATION_URI, { participant: 'acme' }, { participantId: 'acme', keyId: p.keyId }));
    expect(rev).toEqual([`key:${p.keyId}`, 'participant:acme', 'registry'].sort());
  });

  it('is deterministic, ignores unknown subject kinds and percent-encodes what is not printable ASCII', () => {
    const s = st(resolvePredicateType('component').uri, { partSerial: 'acme:PS:2', sha512: 'ab', other: 'x' }, {});
    expect(lookupKeys(s)).toEqual(lookupKeys(structuredClone(s)));
    expect(lookupKeys(s)).toEqual(['partSerial:acme:PS:2']);
    expect(lookupKeys(st(resolvePredicateType('component').uri, { partSerial: 'acme:PS:\n2' }, {}))).toEqual(['partSerial:acme:PS:%0A2']);
    expect(lookupKey('lot', 'sup-a:VALVE:LOT 7 ü%')).toBe('lot:sup-a:VALVE:LOT%207%20%C3%BC%25');
    // Distinct values stay distinct keys; a very long value is named by its hash.
    expect(lookupKey('lot', 'a%20b')).not.toBe(lookupKey('lot', 'a b'));
    const long = lookupKey('lot', 'x'.repeat(1000));
    expect(long).toMatch(/^lot:%sha256-[0-9a-f]{64}$/);
    expect(long).not.toBe(lookupKey('lot', 'x'.repeat(1001)));
  });

  it('names the keys a verdict depends on: the device, what its assemblies list, the registry and each signer', () => {
    const graph = buildGraph(UDI, [{ logIndex: 3, integratedTime: 1, keyId: 'k1', signer: 'maker', predicateType: ASSEMBLY.predicateType, statement: ASSEMBLY }]);
    expect(verdictKeys(graph, [{ keyId: 'k1', participant: 'maker' }, { keyId: 'k2', participant: null }])).toEqual(
      ['key:k1', 'key:k2', 'lot:valveco:V:L78', 'participant:maker', 'partSerial:acme:PS:1', 'registry', `sha256:${FW}`, `udi:${UDI}`].sort(),
    );
  });
});
