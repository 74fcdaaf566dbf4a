/**
 * Reading a submitted Sigstore bundle: v0.3 media type, a DSSE envelope over an in-toto payload
 * with one or more signatures, and the signer's key material. Only the payload, its type and
 * the signature are signed; everything else (key IDs, other signatures, media type spelling,
 * timestamps, attached log entries) is not, so `normalise` rebuilds the bundle from the signed
 * parts alone and that is what the ledger stores and logs.
 */
import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  bundleToJSON,
  type Bundle,
  type SerializedBundle,
} from '@sigstore/bundle';
import { AttestError } from './errors.js';
import { MAX_OWN_ENTRIES } from '../verify/certificate.js';
import { IN_TOTO_PAYLOAD_TYPE } from './statement.js';

/** More log entries or timestamps than any bundle brings (verify/certificate.ts MAX_OWN_ENTRIES). */
const MAX_BROUGHT = MAX_OWN_ENTRIES;

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
export interface SubmittedBundle extends Omit<ParsedBundle, 'json'> {
  /** The bundle as submitted (parsed JSON): a certificate-signed one is also checked with @sigstore/verify. */
  readonly submitted: unknown;
}

const CERTIFICATE_MEDIA_TYPES = new Set<unknown>([BUNDLE_V01_MEDIA_TYPE, BUNDLE_V02_MEDIA_TYPE]);

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
  // Other Sigstore clients' certificate-signed bundles may be v0.1 or v0.2; keys sign v0.3.
  const older = CERTIFICATE_MEDIA_TYPES.has(mediaType);
  if (mediaType !== BUNDLE_V03_MEDIA_TYPE && mediaType !== BUNDLE_V03_LEGACY_MEDIA_TYPE && !older) {
    throw new AttestError('UNSUPPORTED_MEDIA_TYPE', `bundle mediaType must be ${BUNDLE_V03_MEDIA_TYPE} (or, signed with a certificate, v0.1 or v0.2)`, '/mediaType');
  }
  const original = value;
  // What a bundle brings besides its signature is bounded before anything reads it.
  const vmIn = (value as { verificationMaterial?: { tlogEntries?: unknown; timestampVerificationData?: { rfc3161Timestamps?: unknown } } }).verificationMaterial;
  const brought = [vmIn?.tlogEntries, vmIn?.timestampVerificationData?.rfc3161Timestamps];
  if (brought.some((list) => Array.isArray(list) && list.length > MAX_BROUGHT)) {
    throw new AttestError('BUNDLE_INVALID', `a bundle brings at most ${MAX_BROUGHT} transparency-log entries and ${MAX_BROUGHT} timestamps`, '/verificationMaterial');
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
  if (key.$case === 'publicKey' && older) throw new AttestError('UNSUPPORTED_MEDIA_TYPE', `a key-signed bundle's mediaType must be ${BUNDLE_V03_MEDIA_TYPE}`, '/mediaType');
  if (key.$case === 'x509' && extra.length > 0) throw new AttestError('BUNDLE_INVALID', 'a certificate-signed bundle carries one DSSE signature', '/dsseEnvelope/signatures');
  const signatures = [env.signatures[0]!.sig, ...extra];
  // Only the rebuilt bundle (normalise) is ever stored; the submitted one is not re-serialised.
  return { bundle, payload: env.payload, payloadType: env.payloadType, signature: signatures[0]!, signatures, key, submitted: original };
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

/**
 * A certificate-signed bundle rebuilt for storing: its media type, its certificates and the
 * evidence it brought (its own log entries and timestamps, which the server verified with
 * @sigstore/verify), and the envelope with its one signature; nothing else it carried.
 */
export function normaliseCertificate(parsed: SubmittedBundle): ParsedBundle {
  if (parsed.key.$case !== 'x509') throw new TypeError('not a certificate-signed bundle');
  const vm = parsed.bundle.verificationMaterial;
  const bundle: Bundle = {
    mediaType: parsed.bundle.mediaType,
    verificationMaterial: {
      content: vm.content,
      tlogEntries: vm.tlogEntries,
      timestampVerificationData: { rfc3161Timestamps: vm.timestampVerificationData?.rfc3161Timestamps ?? [] },
    },
    content: { $case: 'dsseEnvelope', dsseEnvelope: { payload: parsed.payload, payloadType: parsed.payloadType, signatures: [{ sig: parsed.signature, keyid: '' }] } },
  };
  return { bundle, json: bundleToJSON(bundle), payload: parsed.payload, payloadType: parsed.payloadType, signature: parsed.signature, signatures: [parsed.signature], key: parsed.key };
}
