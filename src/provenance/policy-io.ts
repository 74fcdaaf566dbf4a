/**
 * Policies as data: validation against attestations/policy.schema.json and the release policy
 * shipped with the program (attestations/policies/release.json). No I/O and no Node APIs: the
 * schema and the release policy are imported as JSON, so the web page validates and pins
 * exactly the same ones.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import policySchema from '../../attestations/policy.schema.json' with { type: 'json' };
import releasePolicy from '../../attestations/policies/release.json' with { type: 'json' };
import { sha256, toHex, utf8 } from '../log/index.js';
import { canonicalJson } from '../verify/canonical.js';
import type { Policy } from './policy.js';

export class PolicyError extends Error {
  readonly code = 'POLICY_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
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
    throw new PolicyError(`policy field ${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}`);
  }
  return v as Policy;
}

/** The release policy shipped with the program (a fresh copy each call). */
export function defaultPolicy(): Policy {
  return parsePolicy(structuredClone(releasePolicy));
}

/** A policy's identity for people and pins: SHA-256 (hex) of its RFC 8785 canonical JSON. */
export function policyDigest(policy: Policy): string {
  return toHex(sha256(utf8(canonicalJson(policy))));
}
