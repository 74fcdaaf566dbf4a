/**
 * RFC 8785 canonical JSON, from @sigstore/core (the same code that canonicalises the Rekor
 * bodies and signed entry timestamps the ledger signs). Imported by path so that the browser
 * build takes this one pure function and none of @sigstore/core's Node-only modules.
 */
import { canonicalize } from '@sigstore/core/dist/json.js';
import { toBase64, toHex, utf8 } from '../log/bytes.js';

export function canonicalJson(value: unknown): string {
  return canonicalize(value);
}

/**
 * What the log signs as an entry's signed entry timestamp: the RFC 8785 canonical JSON of
 * {body, integratedTime, logIndex, logID}, written out directly (the members in canonical order,
 * two integers, and base64 and hex strings that need no escaping). The ledger signs it, the
 * offline verifier and the audit check it; a test pins it to the general canonicaliser.
 */
export function entryTimestampPayload(body: Uint8Array, integratedTime: number, logIndex: number, logId: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(integratedTime) || !Number.isSafeInteger(logIndex)) throw new RangeError('integratedTime and logIndex must be safe integers');
  return utf8(`{"body":"${toBase64(body)}","integratedTime":${integratedTime},"logID":"${toHex(logId)}","logIndex":${logIndex}}`);
}
