/**
 * Certificate-signed bundles as other Sigstore clients make them, for tests: a DSSE envelope
 * signed with a test CA's short-lived leaf (test/x509-ca.ts), the certificate in the bundle, and
 * optionally an entry in a test Rekor v1 log standing in for a private Sigstore instance's
 * (a real P-256 key signing the entry timestamp over a canonical dsse 0.0.1 body).
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { dsse, json } from '@sigstore/core';
import { entryTimestampPayload } from '../src/verify/canonical.js';
import { certificatePem } from '../src/verify/certificate.js';
import type { TestCert } from './x509-ca.js';

const IN_TOTO = 'application/vnd.in-toto+json';

export interface EntryOptions {
  /** Give the entry a signed entry timestamp (default true). */
  readonly set?: boolean;
  /** Give the entry an inclusion proof: a one-leaf tree under a checkpoint the log signs. */
  readonly proof?: boolean;
  /** How the body names the signer (default: the certificate's PEM). */
  readonly verifierPem?: string;
  /** Sign the entry timestamp with another key (a forgery). */
  readonly signer?: KeyObject;
}

export interface TestRekor {
  /** The log's entry in a trusted root's `tlogs`. */
  readonly tlog: Record<string, unknown>;
  /** A tlog entry for this envelope and certificate (a TestCert or its DER), integrated at `time` (seconds). */
  entry(payload: Buffer, signature: Buffer, leaf: TestCert | Buffer, time: number, o?: EntryOptions): Record<string, unknown>;
}

/** A Rekor v1 log of a private Sigstore instance, its P-256 key valid from `validFrom`. */
export function testRekor(validFrom = Date.now() - 365 * 86_400_000, o: { baseUrl?: string; logIndex?: number } = {}): TestRekor {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const logId = createHash('sha256').update(spki).digest();
  const baseUrl = o.baseUrl ?? 'https://rekor.test.invalid';
  const logIndex = o.logIndex ?? 7;
  return {
    tlog: {
      baseUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: new Date(validFrom).toISOString() } },
      logId: { keyId: logId.toString('base64') },
    },
    entry(payload, signature, leaf, time, e = {}) {
      const der = Buffer.isBuffer(leaf) ? leaf : leaf.der;
      const envelope = { payload: payload.toString('base64'), payloadType: IN_TOTO, signatures: [{ keyid: '', sig: signature.toString('base64') }] };
      const body = Buffer.from(
        json.canonicalize({
          apiVersion: '0.0.1',
          kind: 'dsse',
          spec: {
            envelopeHash: { algorithm: 'sha256', value: createHash('sha256').update(json.canonicalize(envelope)).digest('hex') },
            payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
            signatures: [{ signature: signature.toString('base64'), verifier: Buffer.from(e.verifierPem ?? certificatePem(der)).toString('base64') }],
          },
        }),
      );
      const out: Record<string, unknown> = {
        logIndex: String(logIndex),
        logId: { keyId: logId.toString('base64') },
        kindVersion: { kind: 'dsse', version: '0.0.1' },
        integratedTime: String(time),
        canonicalizedBody: body.toString('base64'),
      };
      if (e.set !== false) out.inclusionPromise = { signedEntryTimestamp: sign('sha256', entryTimestampPayload(body, time, logIndex, logId), e.signer ?? privateKey).toString('base64') };
      if (e.proof) {
        const host = new URL(baseUrl).host;
        const root = createHash('sha256').update(Buffer.concat([Buffer.from([0]), body])).digest();
        const note = `${host} - 1\n1\n${root.toString('base64')}\n`;
        const sig = sign('sha256', Buffer.from(note), privateKey);
        out.inclusionProof = { logIndex: String(logIndex), rootHash: root.toString('base64'), treeSize: '1', hashes: [], checkpoint: { envelope: `${note}\n\u2014 ${host} ${Buffer.concat([logId.subarray(0, 4), sig]).toString('base64')}\n` } };
      }
      return out;
    },
  };
}

export interface CertBundleOptions {
  /** More certificates after the leaf (an intermediate). */
  readonly chain?: readonly TestCert[];
  /** An entry in a test Rekor at this time (seconds): the bundle is then a v0.1 bundle with a chain, as older clients made. */
  readonly rekor?: { readonly log: TestRekor; readonly time: number };
  /** Sign with another key than the leaf's (a forged signature). */
  readonly signWith?: TestCert;
}

/** An in-toto statement signed with `leaf`'s key, in a Sigstore bundle carrying the certificate. */
export function certificateBundle(stmt: Record<string, unknown>, leaf: TestCert, o: CertBundleOptions = {}): Record<string, unknown> {
  const payload = Buffer.from(JSON.stringify(stmt));
  const signature = sign('sha256', dsse.preAuthEncoding(IN_TOTO, payload), (o.signWith ?? leaf).privateKey);
  const certs = [leaf, ...(o.chain ?? [])].map((c) => ({ rawBytes: c.der.toString('base64') }));
  const older = o.rekor !== undefined;
  return {
    mediaType: older ? 'application/vnd.dev.sigstore.bundle+json;version=0.1' : 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      ...(older ? { x509CertificateChain: { certificates: certs } } : { certificate: certs[0] }),
      tlogEntries: o.rekor ? [o.rekor.log.entry(payload, signature, leaf, o.rekor.time)] : [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: IN_TOTO, signatures: [{ sig: signature.toString('base64'), keyid: '' }] },
  };
}
