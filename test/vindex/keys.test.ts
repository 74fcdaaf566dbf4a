/** The index's map function: which keys each kind of entry is filed under. */
import { describe, expect, it } from 'vitest';
import { PARTICIPANT_URI, REVOCATION_URI, resolvePredicateType } from '../../src/attest/predicates.js';
import type { Statement } from '../../src/attest/statement.js';
import { spkiPem } from '../../src/trust/keys.js';
import { lookupKeys } from '../../src/vindex/keys.js';
import { party } from '../attest/fixtures.js';

const st = (type: string, subject: Record<string, string>, predicate: Record<string, unknown>): Statement => ({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: subject }], predicateType: type, predicate });
const UDI = '(01)09506000134352(21)IP-000001';
const FW = 'a'.repeat(64);

describe('the map function', () => {
  it('files an assembly under its device, its parts, its lots, its firmware and its signing key', () => {
    const keys = lookupKeys(st(resolvePredicateType('device-assembly').uri, { udi: UDI }, { components: [{ partSerial: 'acme:PS:1' }, { lot: 'valveco:V:L78' }], firmware: [{ digest: { sha256: FW } }] }), 'k1');
    expect(keys).toEqual([`key:k1`, 'lot:valveco:V:L78', 'partSerial:acme:PS:1', `sha256:${FW}`, `udi:${UDI}`]);
  });

  it('files an advisory under what it affects', () => {
    const keys = lookupKeys(st(resolvePredicateType('advisory').uri, { lot: 'valveco:V:L78' }, { affects: { lots: ['valveco:V:L78'], udis: [UDI], firmwareDigests: [FW] } }), 'k2');
    expect(keys).toEqual(['key:k2', 'lot:valveco:V:L78', `sha256:${FW}`, `udi:${UDI}`]);
  });

  it('files registrations and revocations under the participant and every key they name', () => {
    const p = party('acme');
    const reg = lookupKeys(st(PARTICIPANT_URI, { participant: 'acme' }, { id: 'acme', publicKeys: [spkiPem(p.publicKey)] }), 'admin-key');
    expect(reg).toEqual(['key:admin-key', `key:${p.keyId}`, 'participant:acme'].sort());
    const rev = lookupKeys(st(REVOCATION_URI, { participant: 'acme' }, { participantId: 'acme', keyId: p.keyId }), 'admin-key');
    expect(rev).toEqual(['key:admin-key', `key:${p.keyId}`, 'participant:acme'].sort());
  });

  it('is deterministic: the same entry always gives the same keys, in one order', () => {
    const s = st(resolvePredicateType('component').uri, { partSerial: 'acme:PS:2' }, {});
    expect(lookupKeys(s, 'k')).toEqual(lookupKeys(structuredClone(s), 'k'));
    expect(lookupKeys(s, 'k')).toEqual(['key:k', 'partSerial:acme:PS:2']);
  });
});
