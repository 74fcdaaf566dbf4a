/**
 * Predicate validation against the JSON Schemas in attestations/schemas (loaded once).
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { AttestError } from './errors.js';
import { PREDICATE_TYPES } from './predicates.js';

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
