/**
 * The release policy shipped with the program (attestations/policies/release.json) and a
 * policy's identity. Pure data: the page pins exactly this policy (a test checks it against the
 * schema), without compiling a validator, which a strict Content-Security-Policy forbids.
 */
import releasePolicy from '../../attestations/policies/release.json' with { type: 'json' };
import { sha256, toHex, utf8 } from '../log/index.js';
import { canonicalJson } from '../verify/canonical.js';
import type { Policy } from './policy.js';

/** The shipped release policy (a fresh copy each call). */
export function shippedReleasePolicy(): Policy {
  return structuredClone(releasePolicy) as Policy;
}

/** A policy's identity for people and pins: SHA-256 (hex) of its RFC 8785 canonical JSON. */
export function policyDigest(policy: Policy): string {
  return toHex(sha256(utf8(canonicalJson(policy))));
}
