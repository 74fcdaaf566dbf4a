/**
 * Reading a submitted Sigstore bundle: v0.3 media type, a DSSE envelope over an in-toto payload
 * with one or more signatures, and the signer's key material. Only the payload, its type and
 * the signature are signed; everything else (key IDs, other signatures, media type spelling,
 * timestamps, attached log entries) is not, so `normalise` rebuilds the bundle from the signed
 * parts alone and that is what the ledger stores and logs.
 */
import {
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  bundleToJSON,
  type Bundle,
  type SerializedBundle,
} from '@sigstore/bundle';
import { AttestError } from './errors.js';
import { IN_TOTO_PAYLOAD_TYPE } from './statement.js';

/** More signatures than any signer needs; each is tried against the signer's key. */
export const MAX_SIGNATURES = 8;

export interface ParsedBundle {
  readonly bundle: Bundle;
  /** The bundle in Sigstore's JSON form, without transparency-log entries (set by `normalise`). */
  readonly json: SerializedBundle;
  readonly payload: Buffer;
  readonly payloadType: string;
  /** The signature `normalise` kept (the first one before it is called). */
  readonly signature: Buffer;
  readonly signatures: readonly Buffer[];
  readonly key: { readonly $case: 'publicKey'; readonly hint: string } | { readonly $case: 'x509'; readonly chain: Buffer[] };
}

/** A submitted bundle as read, before it is rebuilt from its signed parts. */
export type SubmittedBundle = Omit<ParsedBundle, 'json'>;

/** Parses text or an already-parsed value; `size` is the submission's size in bytes. */
export function readBundle(input: unknown, maxBytes: number): SubmittedBundle {
  let value = input;
  if (typeof input === 'string') {
    if (Buffer.byteLength(input) > maxBytes) throw new AttestError('BUNDLE_TOO_LARGE', `a bundle is at most ${maxBytes} bytes`);
    try {
      value = JSON.parse(input);
    } catch {
      throw new AttestError('MALFORMED_JSON', 'the bundle is not valid JSON');
    }
  } else if (Buffer.byteLength(JSON.stringify(input) ?? '') > maxBytes) {
    throw new AttestError('BUNDLE_TOO_LARGE', `a bundle is at most ${maxBytes} bytes`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AttestError('BUNDLE_INVALID', 'a bundle must be a JSON object');
  const mediaType = (value as { mediaType?: unknown }).mediaType;
  if (mediaType !== BUNDLE_V03_MEDIA_TYPE && mediaType !== BUNDLE_V03_LEGACY_MEDIA_TYPE) {
    throw new AttestError('UNSUPPORTED_MEDIA_TYPE', `bundle mediaType must be ${BUNDLE_V03_MEDIA_TYPE}`, '/mediaType');
  }
  // Sigstore bundles carry one DSSE signature; an envelope with more (DSSE allows it) is read
  // as one bundle per signature, and the signer's own is found when verifying.
  const sigs = (value as { dsseEnvelope?: { signatures?: unknown } }).dsseEnvelope?.signatures;
  let extra: Buffer[] = [];
  if (Array.isArray(sigs) && sigs.length > 1) {
    if (sigs.length > MAX_SIGNATURES) throw new AttestError('BUNDLE_INVALID', `the DSSE envelope must carry 1 to ${MAX_SIGNATURES} signatures`, '/dsseEnvelope/signatures');
    extra = sigs.slice(1).map((x: unknown, i) => {
      const sig = (x as { sig?: unknown } | null)?.sig;
      if (typeof sig !== 'string' || sig.length > 1024 || !/^[A-Za-z0-9+/]*={0,2}$/.test(sig)) {
        throw new AttestError('BUNDLE_INVALID', 'a DSSE signature must be base64', `/dsseEnvelope/signatures/${i + 1}/sig`);
      }
      return Buffer.from(sig, 'base64');
    });
    const v = value as { dsseEnvelope: Record<string, unknown> };
    value = { ...v, dsseEnvelope: { ...v.dsseEnvelope, signatures: [sigs[0]] } };
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(value);
  } catch (e) {
    throw new AttestError('BUNDLE_INVALID', `not a valid Sigstore bundle: ${(e as Error).message}`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new AttestError('NOT_DSSE', 'Pedigree records DSSE envelopes (in-toto attestations), not message signatures', '/messageSignature');
  }
  const env = bundle.content.dsseEnvelope;
  if (env.signatures.length !== 1) throw new AttestError('BUNDLE_INVALID', 'the DSSE envelope must carry a signature', '/dsseEnvelope/signatures');
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AttestError('UNSUPPORTED_PAYLOAD_TYPE', `payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`, '/dsseEnvelope/payloadType');
  }
  const vm = bundle.verificationMaterial.content;
  let key: ParsedBundle['key'];
  if (vm.$case === 'publicKey') key = { $case: 'publicKey', hint: vm.publicKey.hint };
  else if (vm.$case === 'x509CertificateChain') key = { $case: 'x509', chain: vm.x509CertificateChain.certificates.map((c) => c.rawBytes) };
  else key = { $case: 'x509', chain: [vm.certificate.rawBytes] };
  const signatures = [env.signatures[0]!.sig, ...extra];
  // Only the rebuilt bundle (normalise) is ever stored; the submitted one is not re-serialised.
  return { bundle, payload: env.payload, payloadType: env.payloadType, signature: signatures[0]!, signatures, key };
}

/**
 * The bundle rebuilt from what the signature covers: payload, payload type and the one
 * signature `sig`, with the key hint as its key ID, the v0.3 media type and nothing else.
 */
export function normalise(parsed: SubmittedBundle, hint: string, sig: Buffer): ParsedBundle {
  const bundle: Bundle = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {
      content: { $case: 'publicKey', publicKey: { hint } },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    content: { $case: 'dsseEnvelope', dsseEnvelope: { payload: parsed.payload, payloadType: parsed.payloadType, signatures: [{ sig, keyid: hint }] } },
  };
  return { bundle, json: bundleToJSON(bundle), payload: parsed.payload, payloadType: parsed.payloadType, signature: sig, signatures: [sig], key: { $case: 'publicKey', hint } };
}
