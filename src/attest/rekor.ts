/**
 * What Pedigree logs and signs for a bundle, in the shapes Sigstore clients expect:
 * - the leaf is the RFC 8785 canonical JSON of a Rekor "dsse" v0.0.1 body;
 * - the signed entry timestamp (SET) is the log key's signature over the canonical JSON of
 *   {body, integratedTime, logIndex, logID};
 * - the log ID is the full SHA-256(origin || 0x0A || 0x01 || Ed25519 key), whose first four
 *   bytes are the C2SP checkpoint key ID.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { json } from '@sigstore/core';
import { entryTimestampPayload } from '../verify/canonical.js';
import { sha256, toHex } from '../log/index.js';
import type { ParsedBundle } from './bundle.js';

export const DSSE_KIND = 'dsse';
export const DSSE_VERSION = '0.0.1';

/** The envelope as DSSE's JSON serialisation: base64 payload and signatures. */
function envelopeJson(b: ParsedBundle): Record<string, unknown> {
  return {
    payload: b.payload.toString('base64'),
    payloadType: b.payloadType,
    signatures: [{ keyid: b.bundle.content.$case === 'dsseEnvelope' ? b.bundle.content.dsseEnvelope.signatures[0]!.keyid : '', sig: b.signature.toString('base64') }],
  };
}

/** The canonical Rekor dsse v0.0.1 body; `verifierPem` is the signer's public key or leaf certificate. */
export function dsseBody(b: ParsedBundle, verifierPem: string): Buffer {
  const body = {
    apiVersion: DSSE_VERSION,
    kind: DSSE_KIND,
    spec: {
      envelopeHash: { algorithm: 'sha256', value: toHex(sha256(Buffer.from(json.canonicalize(envelopeJson(b))))) },
      payloadHash: { algorithm: 'sha256', value: toHex(sha256(b.payload)) },
      signatures: [{ signature: b.signature.toString('base64'), verifier: Buffer.from(verifierPem).toString('base64') }],
    },
  };
  return Buffer.from(json.canonicalize(body), 'utf8');
}

export function signEntryTimestamp(logKey: KeyObject, logId: Uint8Array, body: Uint8Array, logIndex: number, integratedTime: number): Buffer {
  return cryptoSign(null, entryTimestampPayload(body, integratedTime, logIndex, logId), logKey);
}


export interface TlogEntryParts {
  readonly logIndex: number;
  readonly logId: Uint8Array;
  readonly integratedTime: number;
  readonly set: Uint8Array;
  readonly body: Uint8Array;
  readonly proof: { readonly treeSize: number; readonly rootHash: Uint8Array; readonly hashes: readonly Uint8Array[]; readonly checkpoint: string };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** A TransparencyLogEntry in Sigstore bundle JSON form. */
export function tlogEntryJson(e: TlogEntryParts): Record<string, unknown> {
  return {
    logIndex: String(e.logIndex),
    logId: { keyId: b64(e.logId) },
    kindVersion: { kind: DSSE_KIND, version: DSSE_VERSION },
    integratedTime: String(e.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b64(e.set) },
    inclusionProof: {
      logIndex: String(e.logIndex),
      rootHash: b64(e.proof.rootHash),
      treeSize: String(e.proof.treeSize),
      hashes: e.proof.hashes.map(b64),
      checkpoint: { envelope: e.proof.checkpoint },
    },
    canonicalizedBody: b64(e.body),
  };
}
