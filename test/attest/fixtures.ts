/** Real keys and signed statements for attestation tests. */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { PARTICIPANT_URI, REVOCATION_URI, resolvePredicateType, type Role } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { submitBundle } from '../../src/client/graphql.js';
import { keyIdOf, spkiPem } from '../../src/trust/keys.js';

export interface Party {
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

export function party(id: string): Party {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { id, privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

export const GTIN = '09506000134352';
export const udi = (serial: string) => `(01)${GTIN}(21)${serial}`;

export function registration(p: Party, roles: Role[], extra: Record<string, unknown> = {}) {
  return statement([{ name: `participant:${p.id}`, digest: { participant: p.id } }], PARTICIPANT_URI, {
    id: p.id,
    organisation: `${p.id} Ltd`,
    roles,
    publicKeys: [spkiPem(p.publicKey)],
    issuedAt: new Date().toISOString(),
    ...extra,
  });
}

export function revocation(participantId: string, predicate: Record<string, unknown>) {
  return statement([{ name: `participant:${participantId}`, digest: { participant: participantId } }], REVOCATION_URI, { participantId, issuedAt: new Date().toISOString(), ...predicate });
}

export function componentStatement(supplier: string, part: string, serials: string[], extra: Record<string, unknown> = {}) {
  return statement(
    serials.map((s) => ({ name: `${part} ${s}`, digest: { partSerial: `${supplier}:${part}:${s}` } })),
    resolvePredicateType('component').uri,
    { partNumber: part, componentType: 'pressure-sensor', serials, ...extra },
  );
}

export async function register(server: string, adminKey: KeyObject, p: Party, roles: Role[], extra: Record<string, unknown> = {}) {
  return submitBundle(server, await signStatement(registration(p, roles, extra), adminKey));
}

export function publicKeyDer(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
}
