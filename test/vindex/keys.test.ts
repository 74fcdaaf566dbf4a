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
  it('files an assembly under its device only, not under the parts it lists', () => {
    expect(lookupKeys(ASSEMBLY)).toEqual([`udi:${UDI}`]);
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
