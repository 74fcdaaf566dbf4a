/**
 * Signing side: builds in-toto statements and signs them into Sigstore bundles with
 * @sigstore/sign, using a local P-256 key (no Fulcio, no public Rekor: the ledger is the log).
 */
import { createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { keyIdOf, spkiPem } from '../trust/keys.js';
import { IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, type Subject } from './statement.js';

/** A @sigstore/sign Signer over a local private key; the key hint is the key's ID. */
export function localKeySigner(privateKey: KeyObject): Signer {
  const publicKey = spkiPem(createPublicKey(privateKey));
  const hint = keyIdOf(privateKey);
  return {
    sign: async (data: Buffer) => ({
      signature: cryptoSign('sha256', data, privateKey),
      key: { $case: 'publicKey', publicKey, hint },
    }),
  };
}

export function statement(subject: Subject[], predicateType: string, predicate: Record<string, unknown>): Record<string, unknown> {
  return { _type: STATEMENT_TYPE, subject, predicateType, predicate };
}

/** Signs an in-toto statement (or any JSON payload) into a Sigstore bundle v0.3 with a DSSE envelope. */
export async function signStatement(stmt: unknown, privateKey: KeyObject): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder({ signer: localKeySigner(privateKey), witnesses: [] });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(stmt), 'utf8'), type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}
