/**
 * The predicate types Pedigree accepts: their URIs, which roles may sign them, and what kind of
 * subject they describe. Pure data (the browser uses it too); schemas.ts validates predicates.
 */
import { AttestError } from './errors.js';

export type Role = 'admin' | 'supplier' | 'manufacturer' | 'builder' | 'qa' | 'distributor' | 'hospital' | 'regulator';
export const ROLES: readonly Role[] = ['admin', 'supplier', 'manufacturer', 'builder', 'qa', 'distributor', 'hospital', 'regulator'];

/**
 * Subject digest keys: sha256 for files; udi, partSerial, lot and participant name physical or
 * registry things; vulnerability names a vulnerability (CVE, GHSA, ...) an advisory is about.
 */
export type SubjectKind = 'sha256' | 'udi' | 'partSerial' | 'lot' | 'participant' | 'vulnerability';

export interface PredicateType {
  readonly name: string;
  readonly uri: string;
  readonly roles: readonly Role[];
  readonly subjects: readonly SubjectKind[];
}

const OURS = 'https://pedigree.dev/attestations/';

export const PREDICATE_TYPES: readonly PredicateType[] = [
  { name: 'component', uri: `${OURS}component/v1`, roles: ['supplier'], subjects: ['partSerial', 'lot'] },
  { name: 'firmware', uri: `${OURS}firmware/v1`, roles: ['manufacturer', 'builder'], subjects: ['sha256'] },
  { name: 'slsa-provenance', uri: 'https://slsa.dev/provenance/v1', roles: ['builder', 'manufacturer'], subjects: ['sha256'] },
  { name: 'cyclonedx', uri: 'https://cyclonedx.org/bom', roles: ['supplier', 'manufacturer', 'builder'], subjects: ['sha256', 'partSerial', 'lot'] },
  { name: 'test-result', uri: 'https://in-toto.io/attestation/test-result/v0.1', roles: ['qa', 'manufacturer', 'builder'], subjects: ['sha256', 'udi', 'partSerial', 'lot'] },
  { name: 'device-assembly', uri: `${OURS}device-assembly/v1`, roles: ['manufacturer'], subjects: ['udi'] },
  { name: 'slsa-vsa', uri: 'https://slsa.dev/verification_summary/v1', roles: ['manufacturer'], subjects: ['udi', 'sha256'] },
  { name: 'custody-transfer', uri: `${OURS}custody-transfer/v1`, roles: ['manufacturer', 'distributor', 'hospital'], subjects: ['udi'] },
  { name: 'installation', uri: `${OURS}installation/v1`, roles: ['hospital'], subjects: ['udi'] },
  { name: 'advisory', uri: `${OURS}advisory/v1`, roles: ['supplier', 'manufacturer', 'regulator'], subjects: ['sha256', 'udi', 'partSerial', 'lot', 'vulnerability'] },
  { name: 'spdx', uri: 'https://spdx.dev/Document/v2.3', roles: ['supplier', 'manufacturer', 'builder'], subjects: ['sha256', 'partSerial', 'lot'] },
  { name: 'firmware-update', uri: `${OURS}firmware-update/v1`, roles: ['manufacturer', 'hospital'], subjects: ['udi'] },
  { name: 'openvex', uri: 'https://openvex.dev/ns/v0.2.0', roles: ['manufacturer'], subjects: ['sha256'] },
  { name: 'participant', uri: `${OURS}participant/v1`, roles: ['admin'], subjects: ['participant'] },
  { name: 'key-revocation', uri: `${OURS}key-revocation/v1`, roles: ['admin'], subjects: ['participant'] },
  { name: 'trust-root', uri: `${OURS}trust-root/v1`, roles: ['admin'], subjects: ['participant'] },
  { name: 'administrator-key', uri: `${OURS}administrator-key/v1`, roles: ['admin'], subjects: ['participant'] },
];

export const PARTICIPANT_URI = `${OURS}participant/v1`;
export const REVOCATION_URI = `${OURS}key-revocation/v1`;
/** A trust root (Sigstore trusted root) certificate identities are registered under; its subject is participant "trust-root:<name>". */
export const TRUST_ROOT_URI = `${OURS}trust-root/v1`;
/**
 * The administrator hands over to a new key: signed with the current administrator key, it names
 * the next one; from its integration on only the new key signs registry statements. Its subject
 * is participant "admin".
 */
export const ADMIN_KEY_URI = `${OURS}administrator-key/v1`;
/** Registry statements: the administrator signs them and every verifier applies them in log order. */
export const REGISTRY_URIS: ReadonlySet<string> = new Set([PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI, ADMIN_KEY_URI]);

const byUri = new Map(PREDICATE_TYPES.map((p) => [p.uri, p]));
const byName = new Map(PREDICATE_TYPES.map((p) => [p.name, p]));

export function predicateType(uri: string): PredicateType {
  const p = byUri.get(uri);
  if (!p) throw new AttestError('PREDICATE_TYPE_UNKNOWN', `predicate type ${uri} is not one Pedigree accepts`, '/predicateType');
  return p;
}

/** A predicate type by URI or short name ("component", "slsa-provenance", ...). */
export function resolvePredicateType(nameOrUri: string): PredicateType {
  return byName.get(nameOrUri) ?? predicateType(nameOrUri);
}
