/**
 * Validating policies against attestations/policy.schema.json (Ajv). No I/O: the schema is
 * imported as JSON. Callers validate the policies they are given (the CLI's --policy, GraphQL
 * arguments); the verifier takes a validated Policy.
 */
import { PedigreeError } from '../errors.js';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import policySchema from '../../attestations/policy.schema.json' with { type: 'json' };
import type { Policy } from './policy.js';
import { policyDigest, shippedReleasePolicy } from './release-policy.js';

export { policyDigest };

export class PolicyError extends PedigreeError<'POLICY_INVALID'> {
  override readonly name = 'PolicyError';
  constructor(message: string) {
    super('POLICY_INVALID', message);
  }
}

let validate: ValidateFunction | undefined;

export function parsePolicy(value: unknown): Policy {
  const v =
    typeof value === 'string'
      ? (() => {
          try {
            return JSON.parse(value) as unknown;
          } catch {
            throw new PolicyError('the policy is not valid JSON');
          }
        })()
      : value;
  validate ??= new Ajv2020({ strict: true }).compile(policySchema as object);
  if (!validate(v)) {
    const e = validate.errors?.[0];
    const allowed = e?.keyword === 'enum' ? `: ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` : '';
    throw new PolicyError(`policy field ${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}${allowed}`);
  }
  return v as Policy;
}

/** The release policy shipped with the program, validated (a fresh copy each call). */
export function defaultPolicy(): Policy {
  return parsePolicy(shippedReleasePolicy());
}
