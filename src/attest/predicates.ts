/**
 * The predicate types Pedigree accepts: their URIs, JSON Schemas (attestations/schemas), which
 * roles may sign them, and what kind of subject they describe.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { AttestError } from './errors.js';

export type Role = 'admin' | 'supplier' | 'manufacturer' | 'builder' | 'qa' | 'distributor' | 'hospital' | 'regulator';
export const ROLES: readonly Role[] = ['admin', 'supplier', 'manufacturer', 'builder', 'qa', 'distributor', 'hospital', 'regulator'];

/** Subject digest keys: sha256 for files; udi, partSerial, lot and participant name physical or registry things. */
export type SubjectKind = 'sha256' | 'udi' | 'partSerial' | 'lot' | 'participant';

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
  { name: 'advisory', uri: `${OURS}advisory/v1`, roles: ['supplier', 'manufacturer', 'regulator'], subjects: ['sha256', 'udi', 'partSerial', 'lot'] },
  { name: 'participant', uri: `${OURS}participant/v1`, roles: ['admin'], subjects: ['participant'] },
  { name: 'key-revocation', uri: `${OURS}key-revocation/v1`, roles: ['admin'], subjects: ['participant'] },
];

export const PARTICIPANT_URI = `${OURS}participant/v1`;
export const REVOCATION_URI = `${OURS}key-revocation/v1`;

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

export const SCHEMA_DIR = new URL('../../attestations/schemas/', import.meta.url);

let validators: Map<string, ValidateFunction> | undefined;

function compileAll(): Map<string, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: false, strict: true, strictRequired: false });
  (addFormatsModule as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addKeyword('x-predicateType');
  const out = new Map<string, ValidateFunction>();
  for (const p of PREDICATE_TYPES) {
    const schema = JSON.parse(readFileSync(new URL(`${p.name}.schema.json`, SCHEMA_DIR), 'utf8')) as Record<string, unknown>;
    out.set(p.uri, ajv.compile(schema));
  }
  return out;
}

/** Validates a predicate against its type's JSON Schema; the error names the failing field. */
export function validatePredicate(uri: string, predicate: unknown): void {
  validators ??= compileAll();
  const validate = validators.get(uri);
  if (!validate) throw new AttestError('PREDICATE_TYPE_UNKNOWN', `predicate type ${uri} is not one Pedigree accepts`, '/predicateType');
  if (!validate(predicate)) {
    const e = validate.errors?.[0];
    const where = `/predicate${e?.instancePath ?? ''}`;
    const extra = e?.keyword === 'required' ? ` (${(e.params as { missingProperty: string }).missingProperty})` : e?.keyword === 'additionalProperties' ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : '';
    throw new AttestError('PREDICATE_INVALID', `predicate field ${where} ${e?.message ?? 'is invalid'}${extra}`, where);
  }
}
