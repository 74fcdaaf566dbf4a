/** Loading and validating policies (JSON Schema in attestations/policy.schema.json). */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Policy } from './policy.js';

export class PolicyError extends Error {
  readonly code = 'POLICY_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

const POLICY_DIR = new URL('../../attestations/', import.meta.url);
let validate: ValidateFunction | undefined;

export function parsePolicy(value: unknown): Policy {
  const v = typeof value === 'string' ? (() => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      throw new PolicyError('the policy is not valid JSON');
    }
  })() : value;
  validate ??= new Ajv2020({ strict: true }).compile(JSON.parse(readFileSync(new URL('policy.schema.json', POLICY_DIR), 'utf8')) as object);
  if (!validate(v)) {
    const e = validate.errors?.[0];
    throw new PolicyError(`policy field ${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}`);
  }
  return v as Policy;
}

export function defaultPolicy(): Policy {
  return parsePolicy(readFileSync(new URL('policies/release.json', POLICY_DIR), 'utf8'));
}

