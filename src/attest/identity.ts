/**
 * An attestation's identity: what its signature covers — the DSSE pre-authentication encoding
 * of payload type and payload (DSSE protocol, "Signature definition") — together with the key
 * that signed it. Nothing else in a bundle is signed: key IDs, other signatures, the ECDSA
 * encoding (an (r, s) signature is also valid as (r, n−s)) or a fresh signature over the same
 * statement all leave the identity unchanged, so resubmitting a logged statement in any of
 * those forms finds the entry that is already there.
 *
 *   id = hex SHA-256("pedigree attestation v1\n" || SHA-256(PAE(payloadType, payload)) || keyId)
 *
 * where keyId is the lowercase hex SHA-256 of the signer's SPKI DER (the bundle key hint).
 */
import { dsse } from '@sigstore/core';
import { sha256, toHex } from '../log/index.js';

const DOMAIN = new TextEncoder().encode('pedigree attestation v1\n');

export function attestationId(payloadType: string, payload: Uint8Array, keyId: string): string {
  const signed = sha256(dsse.preAuthEncoding(payloadType, Buffer.from(payload)));
  return toHex(sha256(DOMAIN, signed, new TextEncoder().encode(keyId)));
}
