/**
 * RFC 8785 canonical JSON, from @sigstore/core (the same code that canonicalises the Rekor
 * bodies and signed entry timestamps the ledger signs). Imported by path so that the browser
 * build takes this one pure function and none of @sigstore/core's Node-only modules.
 */
import { canonicalize } from '@sigstore/core/dist/json.js';

export function canonicalJson(value: unknown): string {
  return canonicalize(value);
}
