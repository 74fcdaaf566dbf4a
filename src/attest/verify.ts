/**
 * Offline verification of any Sigstore bundle (v0.1–v0.3; a message signature or a DSSE
 * envelope; signed with a key or a certificate) with stock @sigstore/verify, against trusted
 * roots the caller names: this ledger's, the public-good Sigstore instance's (shipped with the
 * program), a private instance's. What the caller expects is checked, never what the bundle says
 * of itself: the signer (a key, or a certificate identity and its OIDC issuer), and, when given,
 * the artifact (its bytes or its SHA-256). Each failure says which check failed. Synchronous.
 */
import { PedigreeError } from '../errors.js';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { PolicyError, Verifier, VerificationError, toSignedEntity, toTrustMaterial, type VerificationPolicy } from '@sigstore/verify';
import { keyIdOf } from '../trust/keys.js';

export interface VerifiedBundle {
  /** The first transparency-log entry (-1 when the bundle has none, e.g. only a timestamp). */
  readonly logIndex: number;
  readonly integratedTime: number;
  /** The key hint, for a key-signed bundle. */
  readonly keyId: string;
  /** The certificate's identity, for a certificate-signed bundle. */
  readonly identity?: { readonly subjectAlternativeName?: string; readonly issuer?: string };
  /** The in-toto statement of a DSSE bundle (null for a message signature or an unreadable payload). */
  readonly statement: unknown;
}

export class BundleVerificationError extends PedigreeError {
  override readonly name = 'BundleVerificationError';
}

/** What the caller expects of the bundle. */
export interface BundleExpectations {
  /** Signer keys (for key-signed bundles). */
  readonly publicKeys?: readonly KeyObject[];
  /**
   * The certificate identity (for certificate-signed bundles): the subject alternative name,
   * exactly or as a pattern (matched against the whole name), and the OIDC issuer, exactly.
   */
  readonly identity?: { readonly subject: string | RegExp; readonly issuer?: string };
  /** Signed certificate timestamps required of a certificate (default: 1 when a trusted root names a CT log, else 0). */
  readonly ctlogThreshold?: number;
  /** The artifact's bytes: a message signature must be over them, a statement must name their digest. */
  readonly artifact?: Uint8Array;
  /** The artifact's SHA-256 (hex), when the bytes are not at hand. */
  readonly digest?: string;
}

function keyDetails(key: KeyObject): PublicKeyDetails {
  const t = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (t === 'ec' && curve === 'prime256v1') return PublicKeyDetails.PKIX_ECDSA_P256_SHA_256;
  if (t === 'ec' && curve === 'secp384r1') return PublicKeyDetails.PKIX_ECDSA_P384_SHA_384;
  if (t === 'ed25519') return PublicKeyDetails.PKIX_ED25519;
  throw new BundleVerificationError('KEY_UNSUPPORTED', `a public key given is ${t}${curve ? ` (${curve})` : ''}; keys must be ECDSA P-256 or P-384, or Ed25519`);
}

const ROOT_LISTS = ['tlogs', 'certificateAuthorities', 'ctlogs', 'timestampAuthorities'] as const;

/** Why a value is not a Sigstore trusted root (undefined when it looks like one). */
export function trustedRootProblem(r: unknown): string | undefined {
  const mediaType = (r as { mediaType?: unknown } | null)?.mediaType;
  if (typeof r !== 'object' || r === null || Array.isArray(r) || typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot+json')) {
    return 'not a Sigstore trusted root (it has no trustedroot mediaType)';
  }
  return undefined;
}

/** Several trusted roots as one: their logs, authorities, CT logs and timestamp authorities together. */
export function mergeTrustedRoots(roots: readonly unknown[]): TrustedRoot {
  if (roots.length === 0) throw new BundleVerificationError('TRUSTED_ROOT_INVALID', 'no trusted root was given');
  const parsed = roots.map((r, i) => {
    const wrong = trustedRootProblem(r);
    if (wrong) throw new BundleVerificationError('TRUSTED_ROOT_INVALID', `trusted root ${i + 1}: ${wrong}`);
    try {
      return TrustedRoot.fromJSON(r);
    } catch (e) {
      throw new BundleVerificationError('TRUSTED_ROOT_INVALID', `trusted root ${i + 1} is not a Sigstore trusted root: ${(e as Error).message}`);
    }
  });
  const merged = { ...parsed[0]! };
  for (const list of ROOT_LISTS) (merged as Record<string, unknown>)[list] = parsed.flatMap((p) => p[list] as unknown[]);
  return merged as TrustedRoot;
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** The plain-words message for a @sigstore/verify failure: which check failed. */
function explain(e: VerificationError | PolicyError): BundleVerificationError {
  // The chain check wraps its reason: "Failed to verify certificate chain", caused by the one that counts.
  const cause = (e as { cause?: unknown }).cause;
  const msg = cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
  switch (e.code as string) {
    case 'CERTIFICATE_ERROR':
      if (/not valid or expired/.test(msg)) return new BundleVerificationError('CERTIFICATE_NOT_VALID_AT_SIGNING', `the signing time is outside the certificate's validity (${msg})`);
      if (/trusted certificate path|valid certificate path/.test(msg) || !(cause instanceof Error)) return new BundleVerificationError('UNTRUSTED_ROOT', `the signing certificate does not chain to a certificate authority of the trusted roots (${msg})`);
      return new BundleVerificationError('CERTIFICATE_INVALID', `the signing certificate does not verify (${msg})`);
    case 'UNTRUSTED_SIGNER_ERROR':
      return new BundleVerificationError('IDENTITY_MISMATCH', `the certificate is not the expected signer's (${msg})`);
    case 'PUBLIC_KEY_ERROR':
      return new BundleVerificationError('SIGNER_UNKNOWN', `the bundle's key is none of the keys given (${msg})`);
    case 'SIGNATURE_ERROR':
      return new BundleVerificationError('SIGNATURE_INVALID', 'the signature does not verify over the signed content');
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return new BundleVerificationError('TLOG_PROMISE_INVALID', `the log's signed entry timestamp does not verify (${msg})`);
    case 'TLOG_INCLUSION_PROOF_ERROR':
      return new BundleVerificationError('TLOG_PROOF_INVALID', `the inclusion proof does not verify (${msg})`);
    case 'TIMESTAMP_ERROR':
      return new BundleVerificationError('NOT_LOGGED', `the bundle carries no transparency-log entry or timestamp the trusted roots vouch for (${msg})`);
    case 'TLOG_BODY_ERROR':
      return new BundleVerificationError('TLOG_BODY_MISMATCH', `the logged entry is not this bundle's (${msg})`);
    default:
      return new BundleVerificationError(e.code, msg);
  }
}

/** The sha256 digests an in-toto statement names as its subjects. */
function subjectDigests(statement: unknown): string[] {
  const subjects = (statement as { subject?: Array<{ digest?: Record<string, unknown> }> } | null)?.subject;
  return Array.isArray(subjects) ? subjects.flatMap((s) => (typeof s?.digest?.sha256 === 'string' ? [s.digest.sha256.toLowerCase()] : [])) : [];
}

export function verifyBundle(bundleJson: unknown, trustedRoots: unknown | readonly unknown[], expect: BundleExpectations | readonly KeyObject[]): VerifiedBundle {
  const e: BundleExpectations = Array.isArray(expect) ? { publicKeys: expect as readonly KeyObject[] } : (expect as BundleExpectations);
  const root = mergeTrustedRoots(Array.isArray(trustedRoots) ? trustedRoots : [trustedRoots]);
  const given = (e.publicKeys ?? []).map((k) => {
    const pub = k.type === 'private' ? createPublicKey(k) : k;
    return { id: keyIdOf(pub), material: { rawBytes: pub.export({ format: 'der', type: 'spki' }), keyDetails: keyDetails(pub) } };
  });
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(bundleJson);
  } catch (err) {
    throw new BundleVerificationError('BUNDLE_INVALID', `not a Sigstore bundle: ${(err as Error).message}`);
  }
  const vm = bundle.verificationMaterial;
  const byKey = vm.content.$case === 'publicKey';
  if (byKey && !e.publicKeys?.length) throw new BundleVerificationError('SIGNER_NOT_NAMED', 'the bundle is signed with a key: give the signer\'s public key');
  if (!byKey && !e.identity) throw new BundleVerificationError('SIGNER_NOT_NAMED', 'the bundle is signed with a certificate: give the expected certificate identity and OIDC issuer');

  // Logged in a log the caller trusts? (Said plainly, before the promise check fails on it.)
  const trustedLogs = new Set(root.tlogs.map((t) => b64(t.logId?.keyId ?? new Uint8Array())));
  for (const t of vm.tlogEntries) {
    if (!trustedLogs.has(b64(t.logId?.keyId ?? new Uint8Array()))) {
      throw new BundleVerificationError('UNTRUSTED_LOG', `the bundle was logged by a transparency log that none of the trusted roots names (log ID ${b64(t.logId?.keyId ?? new Uint8Array())})`);
    }
  }

  // The artifact in hand is what was signed.
  const digest = e.artifact ? createHash('sha256').update(e.artifact).digest('hex') : e.digest?.toLowerCase();
  let statement: unknown = null;
  if (bundle.content.$case === 'dsseEnvelope') {
    try {
      statement = JSON.parse(bundle.content.dsseEnvelope.payload.toString('utf8'));
    } catch {
      statement = null;
    }
    const env = bundle.content.dsseEnvelope;
    if (digest !== undefined) {
      // An in-toto statement is about its subjects; any other payload is the signed message itself.
      if (env.payloadType === 'application/vnd.in-toto+json') {
        if (!subjectDigests(statement).includes(digest)) throw new BundleVerificationError('ARTIFACT_MISMATCH', `the statement's subjects do not include the artifact (sha256:${digest})`);
      } else if (createHash('sha256').update(env.payload).digest('hex') !== digest) {
        throw new BundleVerificationError('ARTIFACT_MISMATCH', `the signed ${env.payloadType} payload is not the artifact (sha256:${digest})`);
      }
    }
  } else if (digest !== undefined) {
    const signed = bundle.content.messageSignature.messageDigest;
    if (!signed || Buffer.from(signed.digest).toString('hex') !== digest) {
      throw new BundleVerificationError('ARTIFACT_MISMATCH', `the message signature is over another artifact (signed sha256:${signed ? Buffer.from(signed.digest).toString('hex') : 'none'}, given sha256:${digest})`);
    }
    if (!e.artifact) throw new BundleVerificationError('ARTIFACT_REQUIRED', 'a message signature is verified over the artifact itself: give --artifact (a digest is not enough)');
  } else if (!e.artifact) {
    throw new BundleVerificationError('ARTIFACT_REQUIRED', 'the bundle is a message signature over an artifact: give --artifact');
  }

  const policy: VerificationPolicy | undefined = e.identity
    ? {
        // @sigstore/verify searches the identity for the pattern; both forms are matched whole here.
        subjectAlternativeName: typeof e.identity.subject === 'string' ? `^${e.identity.subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` : `^(?:${e.identity.subject.source})$`,
        // No issuer named: none is required here (the ledger's identity match requires that it records none).
        ...(e.identity.issuer !== undefined && { extensions: { issuer: e.identity.issuer } }),
      }
    : undefined;
  // A key-signed bundle names its key by a hint: this ledger's hints are key IDs; other clients'
  // may be any name, so then each key the caller gave is tried as the one it names.
  const hint = vm.content.$case === 'publicKey' ? vm.content.publicKey.hint : '';
  const named = given.filter((k) => k.id === hint);
  const ordered = [...named, ...given.filter((k) => k.id !== hint)];
  const candidates: Array<Record<string, (typeof given)[number]['material']>> = !byKey ? [{}] : ordered.map((k) => ({ [hint]: k.material }));
  let signer;
  let failure: unknown;
  for (const keys of candidates) {
    try {
      const verifier = new Verifier(toTrustMaterial(root, keys), byKey ? {} : { ctlogThreshold: e.ctlogThreshold ?? (root.ctlogs.length > 0 ? 1 : 0), tlogThreshold: vm.tlogEntries.length > 0 ? 1 : 0, timestampThreshold: 1 });
      signer = verifier.verify(toSignedEntity(bundle, e.artifact ? Buffer.from(e.artifact) : undefined), policy);
      break;
    } catch (err) {
      failure = err;
    }
  }
  if (!signer) {
    if (failure instanceof VerificationError || failure instanceof PolicyError) throw explain(failure);
    throw new BundleVerificationError('BUNDLE_INVALID', (failure as Error).message);
  }
  const tlog = vm.tlogEntries[0];
  const identity = signer.identity ? { subjectAlternativeName: signer.identity.subjectAlternativeName, issuer: signer.identity.extensions?.issuer } : undefined;
  return { logIndex: tlog ? Number(tlog.logIndex) : -1, integratedTime: tlog ? Number(tlog.integratedTime) : 0, keyId: hint, ...(identity && { identity }), statement };
}
