/**
 * Attestation ingestion and retrieval. A submission is checked in this order, each failure with
 * its own code and nothing written: bundle shape → signer known and valid → signature →
 * statement → predicate type → signer's role → subjects → predicate schema → registry rules.
 * Then its Rekor dsse body is appended as the leaf; the bundle, the signed entry timestamp and
 * the search index are written in the same atomic batch.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { signaturePool } from './signature-pool.js';
import type { SerializedBundle } from '@sigstore/bundle';
import { TILE_WIDTH, ed25519KeyHash, fromUtf8, p256Point, sha256, tileWidth, toHex, utf8 } from '../log/index.js';
import { ed25519Raw } from '../crypto/node.js';
import type { BatchScope, Ledger } from '../ledger/ledger.js';
import { indexKey, type StoredRecord } from '../store/store.js';
import { TrustRegistry, pemToDer, registryTimesReadable, type AdminKeyPredicate, type RegistrationPredicate, type RevocationPredicate, type TrustRootPredicate } from '../trust/registry.js';
import { normaliseDeviceUdi } from '../udi/udi.js';
import { checkSubjectAuthority } from '../trust/authority.js';
import { normalise, normaliseCertificate, readBundle, type ParsedBundle, type SubmittedBundle } from './bundle.js';
import { AttestError } from './errors.js';
import { attestationId } from './identity.js';
import { MAX_CLOCK_SKEW_SECONDS, signedTime, signedTimeField, supersessionScopes } from './order.js';
import { ADMIN_KEY_URI, PARTICIPANT_URI, REGISTRY_URIS, REVOCATION_URI, TRUST_ROOT_URI, predicateType, resolvePredicateType } from './predicates.js';
import { CertificateError, parseCertificate, type Certificate } from '../verify/x509.js';
import { certificatePem, selectCertificateSigner, spkiId, type SelectedSigner } from '../verify/certificate.js';
import { BundleVerificationError, verifyBundle } from './verify.js';
import { identitySubjectPattern } from '../trust/identity.js';
import { validatePredicate } from './schemas.js';
import { dsseBody, signEntryTimestamp, tlogEntryJson } from './rekor.js';
import { lookupKeys } from '../vindex/keys.js';
import { MAX_SBOM_COMPONENTS, SBOM_TYPES, advisoryComponents, componentQuery, readSbom } from '../sbom/sbom.js';
import { LedgerError } from '../ledger/errors.js';
import { checkSubjectKinds, indexRefs, parseStatement, subjectRefs, type Statement, type SubjectRef } from './statement.js';

/** Participants sign with ECDSA P-256 (what Sigstore's local-key signers use). */
/**
 * Participants sign with ECDSA P-256 (what Sigstore's local-key signers use), registered in the
 * one canonical encoding: SPKI with the uncompressed point. A key's ID is the hash of those
 * bytes, so a second encoding of the same key (compressed, hybrid) would be a second identity.
 */
function checkSigningKey(pem: string, field = '/predicate/publicKeys'): void {
  let der: Uint8Array;
  try {
    der = pemToDer(pem);
    createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    throw new AttestError('REGISTRATION_INVALID', 'a public key is not a valid PEM SPKI key', field);
  }
  if (p256Point(der)?.[0] !== 0x04) {
    throw new AttestError('REGISTRATION_INVALID', 'participant keys must be ECDSA P-256 in SPKI form with an uncompressed point', field);
  }
}

/** An advisory's components must be package URLs and its ranges purl "vers" ranges, or no one could match them. */
function checkAdvisoryComponents(predicate: Record<string, unknown>): void {
  const list = (predicate.affects as { components?: Array<{ purl: string; range?: string }> } | undefined)?.components ?? [];
  list.forEach((c, i) => {
    try {
      componentQuery(c.purl, c.range);
    } catch (e) {
      throw new AttestError('PREDICATE_INVALID', `predicate field /predicate/affects/components/${i} ${(e as Error).message}`, `/predicate/affects/components/${i}`);
    }
  });
}

export const DEFAULT_MAX_BUNDLE_BYTES = 12 * 1024 * 1024;
export const MAX_BATCH = 100;

export const SPACE_ATTESTATION = 'att';
export const SPACE_BUNDLE = 'bundle';
const SPACE_INDEX = 'idx';
/** The latest signed time per supersession scope (see order.ts). */
const SPACE_LATEST = 'latest';
/** Statements per signer and subject (see quotaRecords). */
const SPACE_QUOTA = 'quota';
export const MAX_PER_SUBJECT = 200;
const ADVISORY_URI = resolvePredicateType('advisory').uri;
const VEX_URI = resolvePredicateType('openvex').uri;
/**
 * Statements travel in every evidence package of every device they touch, so they are small;
 * only an SBOM may be large (up to the bundle limit).
 */
export const MAX_STATEMENT_BYTES = 256 * 1024;
const LARGE_TYPES = new Set([resolvePredicateType('cyclonedx').uri, resolvePredicateType('spdx').uri]);

export interface AttestationRecord {
  /** The attestation's identity: what its signature covers and the key that signed it (identity.ts). */
  readonly id: string;
  readonly logIndex: number;
  readonly integratedTime: number;
  readonly signer: string;
  readonly keyId: string;
  readonly predicateType: string;
  readonly subjects: readonly SubjectRef[];
  /** Subjects plus what the statement contains or affects; what search matches on. */
  readonly refs: readonly SubjectRef[];
  readonly bundleHash: string;
  /** Base64 signed entry timestamp. */
  readonly set: string;
  /** A certificate-signed entry's verified signing time (seconds), when earlier than its integration (its own Rekor entry's). */
  readonly signedAt?: number;
}

/** One row of the search index: an entry that names the key, with its signer and predicate type. */
export interface IndexRow {
  readonly logIndex: number;
  readonly signer?: string;
  readonly predicateType?: string;
}

export interface SubmitResult {
  readonly record: AttestationRecord;
  readonly bundle: Record<string, unknown>;
  readonly duplicate: boolean;
}

export interface SearchFilter {
  readonly sha256?: string;
  readonly udi?: string;
  readonly partSerial?: string;
  readonly lot?: string;
  readonly signer?: string;
  readonly predicateType?: string;
  /** Seconds since the epoch, inclusive. */
  readonly since?: number;
  readonly until?: number;
}

export interface SearchPage {
  readonly records: AttestationRecord[];
  readonly hasNextPage: boolean;
}

/** A log key's term (config/datadir.ts LogKeyPeriod): PEM key, ISO validity, first log index. */
export interface LogKeyTerm {
  readonly publicKey: string;
  readonly validFrom: string;
  readonly validUntil?: string;
  readonly firstIndex: number;
}

export interface AttestationServiceOptions {
  readonly ledger: Ledger;
  /** The log's Ed25519 private key (signs entry timestamps). */
  readonly logKey: KeyObject;
  /**
   * Every log key the ledger has had, oldest first, the current one (`logKey`'s) last; absent:
   * `logKey` alone, from `createdAt`. Entries keep the timestamps and log ID of the key of their term.
   */
  readonly logKeys?: readonly LogKeyTerm[];
  readonly adminPublicKeyPem: string;
  /** When the ledger was created (ISO time); the trusted root's key validity starts then. */
  readonly createdAt: string;
  readonly maxBundleBytes?: number;
  /** Overrides MAX_PER_SUBJECT (tests). */
  readonly maxPerSubject?: number;
  readonly clock?: () => number;
}

interface Authenticated {
  /** The bundle rebuilt from its signed parts. */
  readonly parsed: ParsedBundle;
  readonly participant: string;
  /** The key ID, or for a certificate-signed bundle the identity ID. */
  readonly keyId: string;
  /** How the logged body names the signer: its public key's PEM, or its certificate's. */
  readonly verifierPem: string;
  /** A certificate-signed bundle's certificates and what it brought, to select its signer again when it is sequenced. */
  readonly certificate?: {
    readonly chain: readonly Uint8Array[];
    readonly leaf: Certificate;
    readonly own: readonly unknown[];
    readonly timestamps: number;
    readonly envelope: { readonly payload: Uint8Array; readonly signature: Uint8Array };
  };
}

interface Checked extends Authenticated {
  readonly statement: Statement;
  readonly typeName: string;
  readonly signer: string;
  /** SHA-256 (hex) of the statement bytes; a registration's digest for `replaces`. */
  readonly payloadDigest: string;
}

/** The latest signed time (ms) in a supersession scope, and the entry that carries it. */
interface Latest {
  readonly t: number;
  readonly i: number;
}

const encode = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');
const decode = <T>(b: Uint8Array) => JSON.parse(Buffer.from(b).toString('utf8')) as T;
const idxKey = (field: string, value: string, index?: number) => `${field}\u0000${value}\u0000${index === undefined ? '' : indexKey(index)}`;

export class AttestationService {
  readonly registry: TrustRegistry;
  readonly logId: Uint8Array;
  private readonly ledger: Ledger;
  private readonly logKey: KeyObject;
  private readonly maxBundleBytes: number;
  private readonly maxPerSubject: number;
  private readonly clock: () => number;
  /** The log's keys, oldest first, each with its log ID, validity (seconds) and first log index. */
  private readonly logTerms: ReadonlyArray<{ spki: Buffer; logId: Uint8Array; from: number; until?: number; firstIndex: number }>;

  private constructor(options: AttestationServiceOptions) {
    this.ledger = options.ledger;
    this.logKey = options.logKey;
    this.maxBundleBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    this.maxPerSubject = options.maxPerSubject ?? MAX_PER_SUBJECT;
    this.clock = options.clock ?? Date.now;
    const createdSecs = Math.floor(Date.parse(options.createdAt) / 1000);
    this.registry = new TrustRegistry(options.adminPublicKeyPem, createdSecs);
    this.logId = ed25519KeyHash(this.ledger.origin, ed25519Raw(createPublicKey(this.logKey)));
    const secs = (iso: string) => Math.floor(Date.parse(iso) / 1000);
    const terms = options.logKeys ?? [{ publicKey: createPublicKey(this.logKey).export({ format: 'pem', type: 'spki' }).toString(), validFrom: options.createdAt, firstIndex: 0 }];
    this.logTerms = terms.map((t) => {
      const key = createPublicKey(t.publicKey);
      return { spki: key.export({ format: 'der', type: 'spki' }), logId: ed25519KeyHash(this.ledger.origin, ed25519Raw(key)), from: secs(t.validFrom), ...(t.validUntil !== undefined && { until: secs(t.validUntil) }), firstIndex: t.firstIndex };
    });
    if (!Buffer.from(this.logTerms[this.logTerms.length - 1]!.logId).equals(Buffer.from(this.logId))) throw new Error('the last log key of the history is not the log key');
  }

  /** The log ID of the key that signed entry `logIndex`'s timestamp: the key whose term it falls in. */
  private logIdOf(logIndex: number): Uint8Array {
    let id = this.logTerms[0]!.logId;
    for (const t of this.logTerms) if (t.firstIndex <= logIndex) id = t.logId;
    return id;
  }

  /** Opens the service and rebuilds the trust registry from the registration entries in the log. */
  static async open(options: AttestationServiceOptions): Promise<AttestationService> {
    const s = new AttestationService(options);
    const indexes = [
      ...(await s.indexScan('ptype', PARTICIPANT_URI)),
      ...(await s.indexScan('ptype', REVOCATION_URI)),
      ...(await s.indexScan('ptype', TRUST_ROOT_URI)),
      ...(await s.indexScan('ptype', ADMIN_KEY_URI)),
    ].sort((a, b) => a - b);
    for (const i of indexes) {
      const record = await s.record(i);
      if (!record) continue;
      const payload = await s.payload(record);
      s.registry.apply(JSON.parse(payload.toString('utf8')) as Statement, record.logIndex, record.integratedTime, toHex(sha256(payload)));
    }
    return s;
  }

  get maxBytes(): number {
    return this.maxBundleBytes;
  }

  /** Log indexes of entries that refer to `value` as `kind` (sha256, udi, partSerial, lot, participant, signer, ptype). */
  async indexScan(field: string, value: string, after = -1, limit = -1): Promise<number[]> {
    return (await this.indexRows(field, value, after, limit)).map((r) => r.logIndex);
  }

  /**
   * Like indexScan, with each entry's signer and predicate type from the index itself, so a
   * caller can pass over entries it cannot use without reading them.
   */
  async indexRows(field: string, value: string, after = -1, limit = -1): Promise<IndexRow[]> {
    const rows = await this.ledger.scanRecords(SPACE_INDEX, { gte: idxKey(field, value, after + 1), lt: `${idxKey(field, value)}\uffff`, limit });
    return rows.map(([k, v]) => {
      const logIndex = Number.parseInt(k.slice(k.lastIndexOf('\u0000') + 1), 16);
      if (v.length === 0) return { logIndex }; // written before index rows carried these
      const [signer, predicateType] = Buffer.from(v).toString('utf8').split('\u0000') as [string, string];
      return { logIndex, signer, predicateType };
    });
  }

  /**
   * Who signed it: the registered key behind the bundle's hint (revoked or not, so that a
   * logged statement is still recognised) and the one signature that verifies with that key.
   * The bundle is rebuilt from its signed parts (bundle.ts `normalise`), so what is stored and
   * logged depends on nothing unsigned.
   */
  private async authenticate(input: unknown, now: number): Promise<Authenticated> {
    const submitted = readBundle(input, this.maxBundleBytes);
    if (submitted.key.$case !== 'publicKey') return this.authenticateCertificate(submitted, now);
    const found = this.registry.lookup(submitted.key.hint);
    if (!found) throw new AttestError('SIGNER_UNKNOWN', `no registered participant has key ${submitted.key.hint.slice(0, 16)}…`);
    const { participant, key } = found;
    // The DSSE check @sigstore/verify makes, on the worker pool (signature-pool.ts). Other
    // signatures on the envelope are not the signer's; keep the first one that is.
    const pae = dsse.preAuthEncoding(submitted.payloadType, submitted.payload);
    const valid = await Promise.all(submitted.signatures.map((signature) => signaturePool().check({ pae, signature, keyId: key.keyId, spki: key.der })));
    const at = valid.indexOf(true);
    if (at < 0) throw new AttestError('SIGNATURE_INVALID', `the DSSE signature does not verify with ${participant.id}'s key`);
    return { parsed: normalise(submitted, key.keyId, submitted.signatures[at]!), participant: participant.id, keyId: key.keyId, verifierPem: key.publicKeyPem };
  }

  /**
   * Who signed a certificate-signed bundle: the participant whose registered identity the
   * certificate's names and OIDC issuer match, its chain leading to that identity's trust root
   * at a verified time (verify/certificate.ts, the check every verifier of the evidence makes),
   * the DSSE signature verifying with the certificate's key, and, when the bundle brings its own
   * log entries or timestamps, stock @sigstore/verify agreeing against that trust root.
   */
  private async authenticateCertificate(submitted: SubmittedBundle, now: number): Promise<Authenticated> {
    const chain = (submitted.key as { chain: Buffer[] }).chain.map((c) => new Uint8Array(c));
    let leaf: Certificate;
    try {
      leaf = parseCertificate(chain[0]!);
    } catch (e) {
      throw new AttestError('CERTIFICATE_INVALID', `the signing certificate is unreadable: ${(e as Error).message}`, '/verificationMaterial');
    }
    if (leaf.curve !== 'P-256' || p256Point(leaf.spki)?.[0] !== 0x04) throw new AttestError('CERTIFICATE_INVALID', "the signing certificate's key must be ECDSA P-256 (uncompressed), what Sigstore signers use", '/verificationMaterial');
    if (this.registry.identitiesFor(leaf, now).length === 0) {
      const names = leaf.subjectAlternativeNames.length > 0 ? leaf.subjectAlternativeNames.join(', ').slice(0, 200) : 'no subject alternative name';
      throw new AttestError('SIGNER_UNKNOWN', `no registered participant has the certificate identity ${names}${leaf.oidcIssuer ? ` from ${leaf.oidcIssuer.slice(0, 200)}` : ''}`);
    }
    const pae = dsse.preAuthEncoding(submitted.payloadType, submitted.payload);
    if (!(await signaturePool().check({ pae, signature: submitted.signature, keyId: spkiId(leaf.spki), spki: leaf.spki }))) {
      throw new AttestError('SIGNATURE_INVALID', "the DSSE signature does not verify with the signing certificate's key");
    }
    const vm = submitted.bundle.verificationMaterial;
    const own = (submitted.submitted as { verificationMaterial?: { tlogEntries?: unknown } }).verificationMaterial?.tlogEntries;
    const certificate: NonNullable<Authenticated['certificate']> = {
      chain,
      leaf,
      own: Array.isArray(own) ? own : [],
      timestamps: vm.timestampVerificationData?.rfc3161Timestamps.length ?? 0,
      envelope: { payload: submitted.payload, signature: submitted.signature },
    };
    // The one rule every verifier of the evidence applies (verify/certificate.ts).
    const { identity, signer } = this.selectSigner(certificate, now);
    // Revoked at the time it was signed (a window the certificate was used in) as at the ledger's.
    this.registry.checkSigner(identity.identity.id, signer.at);
    if (certificate.own.length + certificate.timestamps > 0) {
      // What it brought must hold too, checked by the field's own verifier against the same root.
      try {
        verifyBundle(submitted.submitted, [identity.root.json], {
          identity: { subject: identitySubjectPattern(identity.identity.subject), ...(identity.identity.issuer !== undefined && { issuer: identity.identity.issuer }) },
          ctlogThreshold: identity.root.material.ctlogs > 0 ? 1 : 0,
        });
      } catch (e) {
        if (!(e instanceof BundleVerificationError)) throw e;
        throw new AttestError('TIMESTAMP_INVALID', `the log entries or timestamps the bundle brings do not verify against trust root ${identity.root.name}: ${e.message}`, '/verificationMaterial');
      }
    }
    return { parsed: normaliseCertificate(submitted), participant: identity.participant.id, keyId: identity.identity.id, verifierPem: certificatePem(chain[0]!), certificate };
  }

  /** selectCertificateSigner with its failures as submission errors. */
  private selectSigner(c: NonNullable<Authenticated['certificate']>, at: number): SelectedSigner {
    try {
      return selectCertificateSigner(this.registry, c.chain, c.leaf, at, c.own, c.timestamps, c.envelope);
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      // RFC 3161 timestamps (and Rekor v2 entries, timed by them) pass the stock check, but the
      // ledger's offline verifiers cannot check them yet, so they cannot stand for the time.
      const hint = e.code === 'CERTIFICATE_NOT_VALID_AT' && c.timestamps > 0 ? '; its RFC 3161 timestamps are not a time the evidence verifiers can check yet: submit while the certificate is valid' : '';
      const code =
        e.code === 'CERTIFICATE_NOT_VALID_AT' ? 'CERTIFICATE_NOT_VALID_AT_SIGNING' : e.code === 'CERTIFICATE_MALFORMED' ? 'CERTIFICATE_INVALID' : e.code === 'CERTIFICATE_EVIDENCE_UNTRUSTED' ? 'TIMESTAMP_INVALID' : 'UNTRUSTED_ROOT';
      throw new AttestError(code, `${e.message}${hint}`, '/verificationMaterial');
    }
  }

  /** Checks an authenticated submission fully without writing anything. */
  private check(a: Authenticated, now: number): Checked {
    const { parsed } = a;
    const { participant } = this.registry.checkSigner(a.keyId, now);
    const statement = parseStatement(parsed.payload);
    const type = predicateType(statement.predicateType);
    if (!LARGE_TYPES.has(type.uri) && parsed.payload.length > MAX_STATEMENT_BYTES) {
      throw new AttestError('BUNDLE_TOO_LARGE', `a ${type.name} statement is at most ${MAX_STATEMENT_BYTES} bytes (only SBOMs may be larger)`, '/dsseEnvelope/payload');
    }
    if (!participant.roles.some((r) => type.roles.includes(r))) {
      throw new AttestError('ROLE_NOT_ALLOWED', `${participant.id} (${participant.roles.join(', ')}) may not make ${type.name} attestations; that needs ${type.roles.join(' or ')}`);
    }
    checkSubjectKinds(statement, type.subjects, type.name);
    validatePredicate(type.uri, statement.predicate);
    if (type.uri === ADVISORY_URI) checkAdvisoryComponents(statement.predicate);
    if (SBOM_TYPES.includes(type.uri) && !readSbom(statement).whole) {
      throw new AttestError('PREDICATE_INVALID', `the SBOM nests components more than 32 levels deep or lists more than ${MAX_SBOM_COMPONENTS}; nothing in an SBOM may go unread`, '/predicate');
    }
    checkSubjectAuthority(statement, participant);
    const field = signedTimeField(type.uri);
    if (field !== undefined) {
      const t = signedTime(statement);
      if (t === undefined) throw new AttestError('STATEMENT_TIME_INVALID', `${type.name} statements must carry their issue time in ${field}`, `/predicate/${field}`);
      if (t > (now + MAX_CLOCK_SKEW_SECONDS) * 1000) {
        throw new AttestError('STATEMENT_TIME_INVALID', `${field} ${new Date(t).toISOString()} is in the future (the ledger's time is ${new Date(now * 1000).toISOString()})`, `/predicate/${field}`);
      }
    }
    if (REGISTRY_URIS.has(type.uri)) {
      const unreadable = registryTimesReadable(statement.predicate);
      if (unreadable) throw new AttestError('REGISTRATION_INVALID', `${unreadable} is not a time this ledger can order (leap seconds are not accepted)`, `/predicate/${unreadable}`);
    }
    if (type.uri === PARTICIPANT_URI) {
      for (const pem of (statement.predicate as unknown as RegistrationPredicate).publicKeys ?? []) checkSigningKey(pem);
    }
    if (type.uri === ADMIN_KEY_URI) checkSigningKey((statement.predicate as unknown as AdminKeyPredicate).publicKey, '/predicate/publicKey');
    const checked: Checked = {
      ...a,
      statement,
      typeName: type.name,
      signer: participant.id,
      payloadDigest: toHex(sha256(parsed.payload)),
    };
    this.checkRegistryRules(checked, now);
    return checked;
  }

  /** Registry rules; run before sequencing for an early answer, and again inside the sequencer, where they decide. */
  private checkRegistryRules(c: Checked, now: number): void {
    if (c.statement.predicateType === PARTICIPANT_URI) this.registry.checkRegistration(c.statement.predicate as unknown as RegistrationPredicate);
    if (c.statement.predicateType === REVOCATION_URI) this.registry.checkRevocation(c.statement.predicate as unknown as RevocationPredicate, now);
    if (c.statement.predicateType === TRUST_ROOT_URI) this.registry.checkTrustRoot(c.statement.predicate as unknown as TrustRootPredicate);
    if (c.statement.predicateType === ADMIN_KEY_URI) this.registry.checkAdminKey(c.statement.predicate as unknown as AdminKeyPredicate);
  }

  /**
   * Signed order (order.ts): refuses a statement issued before the latest one it would
   * supersede. Returns the records that make it the latest, and the batch memo to set once the
   * entry is admitted.
   */
  private orderRecords(c: Checked, logIndex: number, scope: BatchScope): { records: StoredRecord[]; memo: Array<[string, Latest]> } {
    const t = signedTime(c.statement);
    if (t === undefined) return { records: [], memo: [] };
    const records: StoredRecord[] = [];
    const memo: Array<[string, Latest]> = [];
    for (const key of supersessionScopes(c.statement, c.signer)) {
      let current = scope.get(`latest:${key}`) as Latest | undefined;
      if (!current) {
        const bytes = scope.record(SPACE_LATEST, key);
        current = bytes ? decode<Latest>(bytes) : undefined;
      }
      if (current && t < current.t) {
        throw new AttestError(
          'STATEMENT_OUTDATED',
          `a later ${c.typeName} statement for ${key.slice(key.indexOf('/') + 1)} is already in the log (entry ${current.i}, issued ${new Date(current.t).toISOString()}); this one was issued ${new Date(t).toISOString()}`,
          `/predicate/${signedTimeField(c.statement.predicateType)}`,
        );
      }
      const next: Latest = { t, i: logIndex };
      records.push({ space: SPACE_LATEST, key, value: encode(next) });
      memo.push([`latest:${key}`, next]);
    }
    return { records, memo };
  }

  /** The keys of what a submission counts against (quotaRecords), so they are read with its batch. */
  private quotaKeys(c: Checked): string[] {
    // Its subjects, and for an advisory what it affects: both bring it into a device's evidence.
    const refs = c.statement.predicateType === ADVISORY_URI ? indexRefs(c.statement) : subjectRefs(c.statement);
    // A vulnerability advisory travels with every firmware whose SBOM names a package it affects.
    if (c.statement.predicateType === ADVISORY_URI) for (const q of advisoryComponents(c.statement.predicate)) refs.push({ kind: 'other', value: `vuln-purl:${q.package}` });
    // A VEX document travels with every image its vulnerabilities touch (the vex: lists).
    if (c.statement.predicateType === VEX_URI) for (const k of lookupKeys(c.statement)) if (k.startsWith('vex:')) refs.push({ kind: 'other', value: k });
    return [...new Set(refs.filter((r) => r.kind !== 'participant' && (r.kind !== 'other' || r.value.startsWith('vuln-purl:') || r.value.startsWith('vex:'))).map((r) => `${c.signer}\u0000${r.kind}\u0000${r.value}`))];
  }

  /**
   * Bounded growth per subject: one participant may sign at most MAX_PER_SUBJECT statements
   * about any one device, part serial, lot or digest, so no single signer can bury a device's
   * evidence under its own entries (see provenance/device.ts for what counts toward a device).
   */
  private quotaRecords(c: Checked, keys: readonly string[], scope: BatchScope): { records: StoredRecord[]; memo: Array<[string, number]> } {
    const records: StoredRecord[] = [];
    const memo: Array<[string, number]> = [];
    for (const k of keys) {
      const before = (scope.get(`quota:${k}`) as number | undefined) ?? Number(fromUtf8(scope.record(SPACE_QUOTA, k) ?? utf8('0')));
      const n = before + 1;
      if (n > this.maxPerSubject) {
        const [, kind, value] = k.split('\u0000');
        throw new AttestError('SUBJECT_QUOTA_EXCEEDED', `${c.signer} has already made ${this.maxPerSubject} statements about ${kind} ${value}`);
      }
      records.push({ space: SPACE_QUOTA, key: k, value: utf8(String(n)) });
      memo.push([`quota:${k}`, n]);
    }
    return { records, memo };
  }

  async submit(input: unknown): Promise<SubmitResult> {
    const now = Math.floor(this.clock() / 1000);
    const a = await this.authenticate(input, now);
    const id = attestationId(a.parsed.payloadType, a.parsed.payload, a.keyId);
    let c: Checked;
    try {
      c = this.check(a, now);
    } catch (e) {
      // The same signed statement by the same key is the same attestation, however it is wrapped
      // and whatever has happened since (a revoked key, a newer registration): answer with the
      // entry already in the log. (A new, valid one is deduplicated inside the sequencer.)
      const existing = await this.ledger.findIdentity(id);
      if (existing !== undefined) return this.existing(existing);
      throw e;
    }
    const { parsed, statement, signer, keyId } = c;
    const body = dsseBody(parsed, c.verifierPem);
    const bundleBytes = encode(parsed.json);
    const bundleHash = toHex(sha256(bundleBytes));
    const subjects = subjectRefs(statement);
    const refs = indexRefs(statement);
    const isRegistry = REGISTRY_URIS.has(statement.predicateType);
    const quotaKeys = this.quotaKeys(c);
    const row = Buffer.from(`${signer}\u0000${statement.predicateType}`);
    let fresh: AttestationRecord | undefined;
    let undo: ReturnType<TrustRegistry['snapshot']> | undefined;
    let signedAt: number | undefined;
    const appended = await this.ledger.append({
      data: body,
      identity: id,
      // The verifiable index files the entry under what it is about (vindex/keys.ts).
      lookupKeys: lookupKeys(statement),
      // Decided in log order against everything sequenced before it, in this batch or earlier.
      reads: [...supersessionScopes(statement, signer).map((key) => ({ space: SPACE_LATEST, key })), ...quotaKeys.map((key) => ({ space: SPACE_QUOTA, key }))],
      admit: (logIndex, integratedTime, scope) => {
        // The current log key signs only inside its term: a clock set back before it took over would
        // give timestamps no verifier accepts.
        const term = this.logTerms[this.logTerms.length - 1]!;
        if (this.logTerms.length > 1 && integratedTime < term.from) {
          throw new AttestError('SUBMISSION_FAILED', `the ledger's clock (${new Date(integratedTime * 1000).toISOString()}) is before its log key took over (${new Date(term.from * 1000).toISOString()}); nothing was written`);
        }
        this.registry.checkSigner(keyId, integratedTime);
        // A certificate's signer is selected again as the evidence verifiers will, against the
        // registry and at the time the log records: the same identity, valid, not revoked then.
        if (c.certificate) {
          const again = this.selectSigner(c.certificate, integratedTime);
          if (again.identity.identity.id !== keyId) throw new AttestError('IDENTITY_AMBIGUOUS', 'the registry changed while this bundle was checked: its certificate now matches another identity; submit it again');
          this.registry.checkSigner(keyId, again.signer.at);
          signedAt = again.signer.at < integratedTime ? again.signer.at : undefined;
        }
        this.checkRegistryRules(c, integratedTime);
        const order = this.orderRecords(c, logIndex, scope);
        const quota = this.quotaRecords(c, quotaKeys, scope);
        for (const [k, v] of [...order.memo, ...quota.memo]) scope.set(k, v);
        if (isRegistry) {
          const saved = this.registry.snapshot();
          try {
            this.registry.apply(statement, logIndex, integratedTime, c.payloadDigest);
          } catch (e) {
            this.registry.restore(saved);
            throw e;
          }
          undo = saved;
        }
        const set = signEntryTimestamp(this.logKey, this.logId, body, logIndex, integratedTime).toString('base64');
        fresh = { id, logIndex, integratedTime, signer, keyId, predicateType: statement.predicateType, subjects, refs, bundleHash, set, ...(signedAt !== undefined && { signedAt }) };
        const out: StoredRecord[] = [
          ...order.records,
          ...quota.records,
          { space: SPACE_ATTESTATION, key: indexKey(logIndex), value: encode(fresh) },
          { space: SPACE_BUNDLE, key: bundleHash, value: bundleBytes },
          { space: SPACE_INDEX, key: idxKey('signer', signer, logIndex), value: row },
          { space: SPACE_INDEX, key: idxKey('ptype', statement.predicateType, logIndex), value: row },
        ];
        for (const r of refs) out.push({ space: SPACE_INDEX, key: idxKey(r.kind, r.value, logIndex), value: row });
        return out;
      },
      abandon: () => {
        if (undo) this.registry.restore(undo);
      },
    });
    if (appended.duplicate) return this.existing(appended.index);
    if (!fresh) throw new AttestError('ENTRY_NOT_FOUND', `entry ${appended.index} holds no attestation`);
    // A fresh entry's bundle and body are in hand; only the proof needs the log.
    return { record: fresh, bundle: await this.complete(fresh, parsed.json, body), duplicate: false };
  }

  private async existing(logIndex: number): Promise<SubmitResult> {
    const record = await this.record(logIndex);
    if (!record) throw new AttestError('ENTRY_NOT_FOUND', `entry ${logIndex} holds no attestation`);
    return { record, bundle: await this.completedBundle(record), duplicate: true };
  }

  /**
   * Each bundle is checked and appended independently; results keep the input order. Every
   * failure is that bundle's alone: an unexpected one becomes SUBMISSION_FAILED for it, so the
   * answer never says a batch failed while some of it was written.
   */
  async submitMany(inputs: readonly unknown[]): Promise<Array<SubmitResult | { error: { code: string; message: string; field?: string } }>> {
    if (inputs.length > MAX_BATCH) throw new AttestError('BATCH_TOO_LARGE', `at most ${MAX_BATCH} bundles per batch`);
    return Promise.all(
      inputs.map((b) =>
        this.submit(b).catch((e: unknown) => {
          if (e instanceof AttestError) return { error: { code: e.code, message: e.message, ...(e.field !== undefined && { field: e.field }) } };
          if (e instanceof LedgerError) return { error: { code: e.code, message: e.message } };
          this.onUnexpected(e);
          return { error: { code: 'SUBMISSION_FAILED', message: 'this bundle could not be recorded; nothing of it was written' } };
        }),
      ),
    );
  }

  /** Where unexpected errors go (the server logs them); set by the composition root. */
  onUnexpected: (e: unknown) => void = () => undefined;

  async record(logIndex: number): Promise<AttestationRecord | undefined> {
    if (!Number.isSafeInteger(logIndex) || logIndex < 0 || logIndex >= this.ledger.size) return undefined;
    const bytes = await this.ledger.readRecord(SPACE_ATTESTATION, indexKey(logIndex));
    return bytes ? decode<AttestationRecord>(bytes) : undefined;
  }

  async storedBundle(record: AttestationRecord): Promise<SerializedBundle> {
    const bytes = await this.ledger.readRecord(SPACE_BUNDLE, record.bundleHash);
    if (!bytes) throw new AttestError('ENTRY_NOT_FOUND', `the bundle of entry ${record.logIndex} is missing`);
    return decode<SerializedBundle>(bytes);
  }

  /** The signed statement's bytes (the DSSE payload). */
  async payload(record: AttestationRecord): Promise<Buffer> {
    const b = await this.storedBundle(record);
    const env = (b as unknown as { dsseEnvelope: { payload: string } }).dsseEnvelope;
    return Buffer.from(env.payload, 'base64');
  }

  /**
   * The signed statements of entry tile `index` (width `width`, default a full tile), as served
   * at /vindex/payloads/<N>[.p/<W>] for monitors that rebuild the verifiable index: each entry's
   * DSSE payload, uint32 big-endian length first, in log order. A monitor checks each against
   * the payload hash its logged entry (the tile's Rekor body) commits to. Undefined when the
   * tree does not have the tile.
   */
  async payloadTile(index: number, width?: number): Promise<Uint8Array | undefined> {
    const have = tileWidth(this.ledger.size, 0, index);
    const want = width ?? TILE_WIDTH;
    if (have < want) return undefined;
    const parts = await Promise.all(
      Array.from({ length: want }, async (_, i) => {
        const record = await this.record(index * TILE_WIDTH + i);
        if (!record) throw new AttestError('ENTRY_NOT_FOUND', `entry ${index * TILE_WIDTH + i} holds no attestation`);
        const payload = await this.payload(record);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(payload.length);
        return [len, payload];
      }),
    );
    return Buffer.concat(parts.flat());
  }

  async statement(record: AttestationRecord): Promise<Statement> {
    return JSON.parse((await this.payload(record)).toString('utf8')) as Statement;
  }

  /** The bundle with its transparency-log entry, proved against the latest checkpoint. */
  async completedBundle(record: AttestationRecord): Promise<Record<string, unknown>> {
    const [stored, entry] = await Promise.all([this.storedBundle(record), this.ledger.entry(record.logIndex)]);
    return this.complete(record, stored, entry.data);
  }

  /** The completed bundle proved against a given checkpoint (of size `treeSize`). */
  async completedBundleAt(record: AttestationRecord, treeSize: number, checkpoint: string): Promise<Record<string, unknown>> {
    const [stored, entry] = await Promise.all([this.storedBundle(record), this.ledger.entry(record.logIndex)]);
    return this.complete(record, stored, entry.data, treeSize, checkpoint);
  }

  private async complete(
    record: AttestationRecord,
    stored: SerializedBundle,
    body: Uint8Array,
    // Read the checkpoint and its size in the same tick, so the proof matches the checkpoint.
    treeSize = this.ledger.size,
    checkpoint = this.ledger.checkpoint,
  ): Promise<Record<string, unknown>> {
    const proof = await this.ledger.inclusionProof(record.logIndex, treeSize);
    const tlog = tlogEntryJson({
      logIndex: record.logIndex,
      // The key that signed its timestamp when it was integrated, which a rotation does not change.
      logId: this.logIdOf(record.logIndex),
      integratedTime: record.integratedTime,
      set: Buffer.from(record.set, 'base64'),
      body,
      proof: { treeSize, rootHash: proof.root, hashes: proof.hashes, checkpoint },
    });
    // A certificate-signed bundle keeps the log entries it brought, after this ledger's.
    return { ...stored, verificationMaterial: { ...stored.verificationMaterial, tlogEntries: [tlog, ...(stored.verificationMaterial.tlogEntries ?? [])] } };
  }

  /** Entries matching every given filter, in log order, after `after`. */
  async search(filter: SearchFilter, first: number, after = -1): Promise<SearchPage> {
    const fields: Array<[string, string]> = [];
    if (filter.sha256 !== undefined) {
      if (!/^[0-9a-f]{64}$/.test(filter.sha256)) throw new AttestError('INVALID_FILTER', 'sha256 must be 64 lowercase hex digits');
      fields.push(['sha256', filter.sha256]);
    }
    if (filter.udi !== undefined) {
      try {
        fields.push(['udi', normaliseDeviceUdi(filter.udi)]);
      } catch (e) {
        throw new AttestError('INVALID_FILTER', `udi: ${(e as Error).message}`);
      }
    }
    if (filter.partSerial !== undefined) fields.push(['partSerial', filter.partSerial]);
    if (filter.lot !== undefined) fields.push(['lot', filter.lot]);
    if (filter.signer !== undefined) fields.push(['signer', filter.signer]);
    if (filter.predicateType !== undefined) fields.push(['ptype', filter.predicateType]);
    const matches = (r: AttestationRecord) =>
      fields.every(([k, v]) =>
        k === 'signer' ? r.signer === v : k === 'ptype' ? r.predicateType === v : r.refs.some((s) => s.kind === k && s.value === v),
      ) &&
      (filter.since === undefined || r.integratedTime >= filter.since) &&
      (filter.until === undefined || r.integratedTime <= filter.until);

    const out: AttestationRecord[] = [];
    const chunk = Math.max(64, first + 1);
    let cursor = after;
    // Integration times only grow with the index: `since` starts the scan where they reach it
    // (a binary search, O(log n) reads) instead of reading the whole log before it.
    if (filter.since !== undefined) cursor = Math.max(cursor, (await this.firstIntegratedAtOrAfter(filter.since)) - 1);
    for (;;) {
      let candidates: AttestationRecord[];
      if (fields.length > 0) {
        const idx = await this.indexScan(fields[0]![0], fields[0]![1], cursor, chunk);
        candidates = (await Promise.all(idx.map((i) => this.record(i)))).filter((r): r is AttestationRecord => r !== undefined);
        if (idx.length > 0) cursor = idx[idx.length - 1]!;
        if (idx.length < chunk) cursor = Number.POSITIVE_INFINITY;
      } else {
        const rows = await this.ledger.scanRecords(SPACE_ATTESTATION, { gte: indexKey(cursor + 1), limit: chunk });
        candidates = rows.map(([, v]) => decode<AttestationRecord>(v));
        if (rows.length > 0) cursor = candidates[candidates.length - 1]!.logIndex;
        if (rows.length < chunk) cursor = Number.POSITIVE_INFINITY;
      }
      for (const r of candidates) {
        if (r.logIndex >= this.ledger.size) continue;
        if (matches(r)) out.push(r);
        if (out.length > first) return { records: out.slice(0, first), hasNextPage: true };
      }
      // Integration times only grow with the index, so nothing past `until` can match.
      const last = candidates[candidates.length - 1];
      if (cursor === Number.POSITIVE_INFINITY || (filter.until !== undefined && last && last.integratedTime > filter.until)) {
        return { records: out, hasNextPage: false };
      }
    }
  }

  /** The first log index integrated at or after `time` (seconds); the log size when none is. */
  private async firstIntegratedAtOrAfter(time: number): Promise<number> {
    let lo = 0;
    let hi = this.ledger.size;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const r = await this.record(mid);
      if (r !== undefined && r.integratedTime >= time) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * A Sigstore TrustedRoot naming this log, for @sigstore/verify and other Sigstore clients: one
   * transparency log instance per key the log has had, each valid for its term (a retired key
   * from when it took over until it was retired; the current one from when it took over).
   */
  trustedRoot(): Record<string, unknown> {
    const iso = (secs: number) => new Date(secs * 1000).toISOString();
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: this.logTerms.map((t) => ({
        baseUrl: `https://${this.ledger.origin}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: t.spki.toString('base64'), keyDetails: 'PKIX_ED25519', validFor: { start: iso(t.from), ...(t.until !== undefined && { end: iso(t.until) }) } },
        logId: { keyId: Buffer.from(t.logId).toString('base64') },
      })),
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    };
  }
}
