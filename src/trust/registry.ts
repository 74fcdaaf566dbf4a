/**
 * The trust registry: who may sign what, derived from participant registrations and key
 * revocations that the administrator signed and the log holds. The server rebuilds it at
 * start-up from those entries and updates it as new ones integrate; evidence verifiers (the CLI
 * and the web page) rebuild it from the entries in a package. No I/O and no Node APIs, so all of
 * them run this same code.
 */
import { AttestError } from '../attest/errors.js';
import { ADMIN_KEY_URI, PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI, type Role } from '../attest/predicates.js';
import { sha256 } from '../log/hash.js';
import { gtinCheckDigit } from '../udi/udi.js';
import { readTrustRoot, TrustRootError, type TrustRootMaterial } from '../verify/certificate.js';
import { describeIdentity, identityId, identityMatches, subjectProblem, type CertificateIdentity } from './identity.js';

export const ADMIN_ID = 'admin';

export interface Revocation {
  readonly effectiveTime: number;
  readonly reason: string;
  readonly logIndex: number;
  /** The end of a revoked time window (seconds, exclusive); absent for a revocation for good. */
  readonly until?: number;
}

/** Whether a revocation applies at `at` (seconds). */
export const revokedFrom = (r: Revocation, at: number) => r.effectiveTime <= at && (r.until === undefined || at < r.until);

export interface ParticipantKey {
  readonly keyId: string;
  /** PEM SPKI, re-encoded canonically from `der`. */
  readonly publicKeyPem: string;
  readonly der: Uint8Array;
  readonly addedAt: number;
  revocation?: Revocation;
  /** Revoked time windows. */
  windows?: Revocation[];
}

/** A certificate identity a participant signs with (trust/identity.ts). */
export interface ParticipantIdentity extends CertificateIdentity {
  /** identityId(): stands where a key ID stands for a key. */
  readonly id: string;
  readonly addedAt: number;
  revocation?: Revocation;
  windows?: Revocation[];
}

/** A trust root the administrator registered: a Sigstore trusted root under a name. */
export interface RegisteredTrustRoot {
  readonly name: string;
  /** SHA-256 (hex) of the canonical trusted root JSON as registered. */
  readonly digest: string;
  readonly json: unknown;
  readonly material: TrustRootMaterial;
  readonly addedAt: number;
  readonly logIndex: number;
  revocation?: Revocation;
  windows?: Revocation[];
}

/** What a policy evaluator needs to know about a signing key. */
export interface SignerInfo {
  readonly participant: string;
  readonly roles: readonly Role[];
  /** For a manufacturer: the GTIN-14s of the device models it makes. */
  readonly products: readonly string[];
  /** Revocations of the key or of its participant. */
  readonly revocations: readonly Revocation[];
}

function hex(b: Uint8Array): string {
  let out = '';
  for (const x of b) out += x.toString(16).padStart(2, '0');
  return out;
}

/** The DER bytes of a PEM public key; throws when it is not one. */
export function pemToDer(pem: string): Uint8Array {
  const m = /^-----BEGIN PUBLIC KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PUBLIC KEY-----\s*$/.exec(pem.trim());
  if (!m) throw new Error('not a PEM public key');
  const bin = atob(m[1]!.replace(/\s+/g, ''));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function derToPem(der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
}

/** A key's ID: lowercase hex SHA-256 of its SPKI DER (the Sigstore bundle key hint). */
export function keyIdOfPem(pem: string): string {
  return hex(sha256(pemToDer(pem)));
}

export interface HistoryEvent {
  readonly logIndex: number;
  readonly integratedTime: number;
  readonly action: 'registered' | 'updated' | 'key-revoked' | 'revoked';
  readonly detail: string;
}

export interface Participant {
  readonly id: string;
  organisation: string;
  roles: Role[];
  products?: string[];
  keys: ParticipantKey[];
  identities?: ParticipantIdentity[];
  validFrom?: number;
  validUntil?: number;
  revocation?: Revocation;
  windows?: Revocation[];
  /** Signed issue time of the current registration (ms since the epoch). */
  issuedAt?: number;
  /** SHA-256 (hex) of the current registration's statement; the next one must name it in `replaces`. */
  registration?: string;
  readonly history: HistoryEvent[];
}

export interface RegistrationPredicate {
  id: string;
  organisation: string;
  roles: Role[];
  publicKeys?: string[];
  /** Certificate identities the participant signs with (trust/identity.ts). */
  identities?: CertificateIdentity[];
  products?: string[];
  validFrom?: string;
  validUntil?: string;
  /** When the administrator issued it; registrations are ordered by this, not by log position. */
  issuedAt?: string;
  /** SHA-256 (hex) of the statement of the registration this one replaces. */
  replaces?: string;
}

export interface RevocationPredicate {
  /** The participant, or with keyId or identityId one of its keys or identities; absent when a trust root is revoked. */
  participantId?: string;
  keyId?: string;
  identityId?: string;
  /** A registered trust root: nothing signed under it counts in the revoked time. */
  trustRoot?: string;
  reason: 'compromise' | 'superseded' | 'retired' | 'other';
  effectiveTime?: string;
  /** The end of the revoked time window; absent for a revocation for good. */
  effectiveUntil?: string;
  note?: string;
}

/** An administrator hand-over: the next administrator key, signed with the current one. */
export interface AdminKeyPredicate {
  /** PEM SPKI of the new administrator key (ECDSA P-256). */
  publicKey: string;
  issuedAt?: string;
  note?: string;
}

export interface TrustRootPredicate {
  /** The name participants' identities use. */
  name: string;
  /** A Sigstore trusted root (trusted_root.json): certificate authorities and, for timestamps, logs. */
  trustedRoot: Record<string, unknown>;
  issuedAt?: string;
  note?: string;
}

const secs = (iso: string) => Math.floor(Date.parse(iso) / 1000);
/** ISO text for a time in seconds, or a placeholder when it is not a time (never throws). */
const isoOf = (s: number) => (Number.isFinite(s) && Math.abs(s) < 8.64e12 ? new Date(s * 1000).toISOString() : 'an unreadable time');

/** Whether every time a registry statement names can be read (RFC 3339 leap seconds cannot). */
export function registryTimesReadable(predicate: Record<string, unknown>): string | undefined {
  for (const f of ['issuedAt', 'validFrom', 'validUntil', 'effectiveTime', 'effectiveUntil']) {
    const v = predicate[f];
    if (v !== undefined && (typeof v !== 'string' || Number.isNaN(Date.parse(v)))) return f;
  }
  return undefined;
}

/** The earliest revocation wins; at the same time a compromise outranks a routine retirement. */
function supersedes(next: Revocation, current: Revocation | undefined): boolean {
  if (!current) return true;
  if (next.effectiveTime !== current.effectiveTime) return next.effectiveTime < current.effectiveTime;
  return next.reason === 'compromise' && current.reason !== 'compromise';
}

export interface SignerCheck {
  readonly participant: Participant;
  readonly key: ParticipantKey;
}

export interface IdentityCheck {
  readonly participant: Participant;
  readonly identity: ParticipantIdentity;
  readonly root: RegisteredTrustRoot;
}

/** A signer: a registered key or a certificate identity, by the ID records carry. */
type Signer = { participant: Participant; key: ParticipantKey } | { participant: Participant; identity: ParticipantIdentity };

/** Adds a revocation: a window joins the windows, one for good replaces a later or lesser one. */
function revoke(target: { revocation?: Revocation; windows?: Revocation[] }, rev: Revocation): void {
  if (rev.until !== undefined) (target.windows ??= []).push(rev);
  else if (supersedes(rev, target.revocation)) target.revocation = rev;
}

const revocationsOf = (t: { revocation?: Revocation; windows?: Revocation[] } | undefined): Revocation[] =>
  t ? [...(t.revocation ? [t.revocation] : []), ...(t.windows ?? [])] : [];

export class TrustRegistry {
  private readonly participants = new Map<string, Participant>();
  private readonly signers = new Map<string, Signer>();
  private readonly roots = new Map<string, RegisteredTrustRoot>();

  constructor(adminPublicKeyPem: string, createdAt = 0) {
    const admin: Participant = { id: ADMIN_ID, organisation: 'Ledger administrator', roles: ['admin'], keys: [], history: [] };
    this.participants.set(ADMIN_ID, admin);
    this.addKey(admin, adminPublicKeyPem, createdAt);
  }

  private addKey(p: Participant, pem: string, at: number): void {
    const der = pemToDer(pem);
    const k: ParticipantKey = { keyId: hex(sha256(der)), publicKeyPem: derToPem(der), der, addedAt: at };
    p.keys.push(k);
    this.signers.set(k.keyId, { participant: p, key: k });
  }

  /** A copy of the whole registry, for `restore` when a change could not be logged. */
  snapshot(): { participants: Participant[]; roots: RegisteredTrustRoot[] } {
    return { participants: structuredClone([...this.participants.values()]), roots: [...this.roots.values()].map((r) => ({ ...r, windows: r.windows && [...r.windows] })) };
  }

  restore(saved: { participants: readonly Participant[]; roots: readonly RegisteredTrustRoot[] }): void {
    this.participants.clear();
    this.signers.clear();
    this.roots.clear();
    for (const r of saved.roots) this.roots.set(r.name, { ...r, windows: r.windows && [...r.windows] });
    for (const p of structuredClone(saved.participants)) {
      this.participants.set(p.id, p);
      for (const key of p.keys) this.signers.set(key.keyId, { participant: p, key });
      for (const identity of p.identities ?? []) this.signers.set(identity.id, { participant: p, identity });
    }
  }

  list(): Participant[] {
    return [...this.participants.values()];
  }

  get(id: string): Participant | undefined {
    return this.participants.get(id);
  }

  /** The registered trust roots, in registration order. */
  trustRoots(): RegisteredTrustRoot[] {
    return [...this.roots.values()];
  }

  trustRoot(name: string): RegisteredTrustRoot | undefined {
    return this.roots.get(name);
  }

  /** Every revocation that can reach a signer: its own, its participant's and, for an identity, its trust root's. */
  private revocations(f: Signer): Revocation[] {
    const own = 'key' in f ? f.key : f.identity;
    const root = 'identity' in f ? this.roots.get(f.identity.trustRoot) : undefined;
    return [...revocationsOf(own), ...revocationsOf(f.participant), ...revocationsOf(root)];
  }

  /** What an evaluator needs to know about a signer (key ID or identity ID): its participant, roles and revocations. */
  signerInfo(signerId: string): SignerInfo | undefined {
    const f = this.signers.get(signerId);
    if (!f) return undefined;
    return { participant: f.participant.id, roles: f.participant.roles, products: f.participant.products ?? [], revocations: this.revocations(f) };
  }

  /** The participant registered as the manufacturer of a product (GTIN-14 or other device key product), if any. */
  manufacturerOf(product: string): string | undefined {
    for (const p of this.participants.values()) if (p.roles.includes('manufacturer') && (p.products ?? []).includes(product)) return p.id;
    return undefined;
  }

  /** Applies a registration, revocation or trust root statement; false for any other predicate type. */
  /** `digest` is the SHA-256 (hex) of the statement, which a later registration names in `replaces`. */
  apply(statement: { predicateType: string; predicate: unknown }, logIndex: number, integratedTime: number, digest?: string): boolean {
    if (statement.predicateType === PARTICIPANT_URI) this.applyRegistration(statement.predicate as RegistrationPredicate, logIndex, integratedTime, digest);
    else if (statement.predicateType === REVOCATION_URI) this.applyRevocation(statement.predicate as RevocationPredicate, logIndex, integratedTime);
    else if (statement.predicateType === TRUST_ROOT_URI) this.applyTrustRoot(statement.predicate as TrustRootPredicate, logIndex, integratedTime, digest);
    else if (statement.predicateType === ADMIN_KEY_URI) this.applyAdminKey(statement.predicate as AdminKeyPredicate, logIndex, integratedTime);
    else return false;
    return true;
  }

  /** The participant and key behind a key ID, revoked or not. */
  lookup(keyId: string): SignerCheck | undefined {
    const f = this.signers.get(keyId);
    return f && 'key' in f ? f : undefined;
  }

  /**
   * The registered identities a certificate's names and issuer match, in the order to try them:
   * those not revoked at `at` (seconds), which must be one participant's (a certificate that two
   * participants' live identities match is refused), or when none is, the revoked ones (so the
   * answer says revoked); each in registration order. The caller checks the chain against each
   * one's trust root and takes the first that verifies.
   */
  identitiesFor(cert: { readonly subjectAlternativeNames: readonly string[]; readonly oidcIssuer: string | undefined }, at: number): IdentityCheck[] {
    const found: IdentityCheck[] = [];
    for (const p of this.participants.values()) {
      for (const identity of p.identities ?? []) {
        const root = this.roots.get(identity.trustRoot);
        if (root && identityMatches(identity, cert)) found.push({ participant: p, identity, root });
      }
    }
    const isLive = (f: IdentityCheck) => !this.revocations({ participant: f.participant, identity: f.identity }).some((r) => revokedFrom(r, at));
    const live = found.filter(isLive);
    // Of identities that may sign at `at`, one participant's only; revoked ones are answered as revoked.
    const owners = [...new Set(live.map((f) => f.participant.id))];
    if (owners.length > 1) throw new AttestError('IDENTITY_AMBIGUOUS', `the certificate matches identities of ${owners.join(' and ')}; the administrator must make their identities distinct`);
    return live.length > 0 ? live : found;
  }

  /** Whether a signer (key ID or identity ID) may sign at `at` (seconds); throws the reason it may not. */
  checkSigner(signerId: string, at: number): { participant: Participant } {
    const found = this.signers.get(signerId);
    if (!found) throw new AttestError('SIGNER_UNKNOWN', `no registered participant has key ${signerId.slice(0, 16)}…`);
    const p = found.participant;
    const rev = this.revocations(found).find((r) => revokedFrom(r, at));
    if (rev) {
      const what = 'key' in found ? `the key of ${p.id}` : `the identity ${describeIdentity(found.identity)} of ${p.id}`;
      throw new AttestError('SIGNER_REVOKED', `${what} was revoked (${rev.reason}) from ${isoOf(rev.effectiveTime)}${rev.until !== undefined ? ` until ${isoOf(rev.until)}` : ''}`);
    }
    if ((p.validFrom !== undefined && at < p.validFrom) || (p.validUntil !== undefined && at > p.validUntil)) {
      throw new AttestError('SIGNER_NOT_VALID', `participant ${p.id} is not valid at ${isoOf(at)}`);
    }
    return found;
  }

  /** The administrator keys that may sign registry statements at `at` (seconds): the current one. */
  adminKeys(at: number): ParticipantKey[] {
    return this.participants.get(ADMIN_ID)!.keys.filter((k) => !revocationsOf(k).some((r) => revokedFrom(r, at)));
  }

  /** Checks an administrator hand-over before it is logged; throws REGISTRATION_INVALID. */
  checkAdminKey(r: AdminKeyPredicate): void {
    let id: string;
    try {
      id = keyIdOfPem(r.publicKey);
    } catch {
      throw new AttestError('REGISTRATION_INVALID', 'the new administrator key is not a valid PEM SPKI key', '/predicate/publicKey');
    }
    const owner = this.signers.get(id);
    if (owner) {
      const whose = owner.participant.id === ADMIN_ID ? 'an administrator key already (a key handed over from is not taken back)' : `the key of ${owner.participant.id}`;
      throw new AttestError('REGISTRATION_INVALID', `the new administrator key ${id.slice(0, 16)}… is ${whose}`, '/predicate/publicKey');
    }
  }

  /**
   * Hands the administrator over to a new key: every administrator key is retired (superseded)
   * from the hand-over's integration time, and the new one signs from then on.
   */
  applyAdminKey(r: AdminKeyPredicate, logIndex: number, integratedTime: number): void {
    let id: string;
    try {
      id = keyIdOfPem(r.publicKey);
    } catch {
      return; // checked before logging
    }
    if (this.signers.has(id)) return; // checked before logging: a key already registered is not taken over
    const admin = this.participants.get(ADMIN_ID)!;
    for (const k of admin.keys) if (!k.revocation) k.revocation = { effectiveTime: integratedTime, reason: 'superseded', logIndex };
    this.addKey(admin, r.publicKey, integratedTime);
    admin.history.push({ logIndex, integratedTime, action: 'updated', detail: `administrator key handed over to ${id.slice(0, 16)}…` });
  }

  /** Checks a trust root before it is logged; throws REGISTRATION_INVALID. */
  checkTrustRoot(r: TrustRootPredicate): void {
    const bad = (m: string, field = '') => new AttestError('REGISTRATION_INVALID', m, `/predicate${field}`);
    // A name is bound to its trusted root for ever, so an identity always means one thing.
    if (this.roots.has(r.name)) throw bad(`a trust root named ${r.name} is already registered; register the new one under another name`, '/name');
    try {
      readTrustRoot(r.trustedRoot);
    } catch (e) {
      if (e instanceof TrustRootError) throw bad(`trust root ${r.name}: ${e.message}`, '/trustedRoot');
      throw e;
    }
  }

  /** Checks a registration before it is logged; throws REGISTRATION_INVALID. */
  checkRegistration(r: RegistrationPredicate): void {
    const bad = (m: string) => new AttestError('REGISTRATION_INVALID', m, '/predicate');
    if (r.id === ADMIN_ID || r.roles.includes('admin')) throw bad('the administrator is set at init and cannot be registered');
    for (const pem of r.publicKeys ?? []) {
      let id: string;
      try {
        id = keyIdOfPem(pem);
      } catch {
        throw bad('a public key is not a valid PEM SPKI key');
      }
      const owner = this.signers.get(id);
      if (owner && owner.participant.id !== r.id) throw bad(`key ${id.slice(0, 16)}… already belongs to ${owner.participant.id}`);
    }
    for (const identity of r.identities ?? []) {
      const problem = subjectProblem(identity.subject);
      if (problem) throw new AttestError('REGISTRATION_INVALID', `identity ${identity.subject.slice(0, 100)}: ${problem}`, '/predicate/identities');
      const root = this.roots.get(identity.trustRoot);
      if (!root) throw new AttestError('REGISTRATION_INVALID', `no trust root named ${identity.trustRoot} is registered (pedigree trust-root add)`, '/predicate/identities');
      if (root.revocation) throw new AttestError('REGISTRATION_INVALID', `trust root ${identity.trustRoot} is revoked`, '/predicate/identities');
      const owner = this.signers.get(identityId(identity));
      if (owner && owner.participant.id !== r.id) throw new AttestError('REGISTRATION_INVALID', `identity ${describeIdentity(identity)} already belongs to ${owner.participant.id}`, '/predicate/identities');
    }
    if ((r.publicKeys ?? []).length === 0 && (r.identities ?? []).length === 0) throw bad('a participant needs at least one public key or certificate identity');
    // A device model has one manufacturer: no two participants may claim the same product.
    for (const product of r.products ?? []) {
      if (/^[0-9]{14}$/.test(product) && gtinCheckDigit(product.slice(0, 13)) !== Number(product[13])) throw bad(`product ${product} is not a valid GTIN-14 (check digit)`);
      const owner = [...this.participants.values()].find((p) => p.id !== r.id && (p.products ?? []).includes(product));
      if (owner) throw bad(`product ${product} already belongs to ${owner.id}`);
    }
    if (r.validFrom && r.validUntil && secs(r.validFrom) > secs(r.validUntil)) throw bad('validFrom is after validUntil');
    // Registrations form a chain: each names the one it replaces, so of two made from the
    // same predecessor only the first to be sequenced is accepted, and an old one cannot return.
    const current = this.participants.get(r.id);
    if (current?.registration !== undefined && r.replaces !== current.registration) {
      throw new AttestError('REGISTRATION_CONFLICT', `${r.id} is already registered; a new registration must name the current one in replaces (${current.registration})`, '/predicate/replaces');
    }
    if (current === undefined && r.replaces !== undefined) {
      throw new AttestError('REGISTRATION_CONFLICT', `${r.id} has no registration to replace`, '/predicate/replaces');
    }
    if (current?.issuedAt !== undefined && r.issuedAt !== undefined && Date.parse(r.issuedAt) < current.issuedAt) {
      throw new AttestError('STATEMENT_OUTDATED', `this registration of ${r.id} was issued before the current one (${new Date(current.issuedAt).toISOString()})`, '/predicate/issuedAt');
    }
  }

  checkRevocation(r: RevocationPredicate, now: number): void {
    const bad = (m: string) => new AttestError('REGISTRATION_INVALID', m, '/predicate');
    if (r.trustRoot !== undefined) {
      if (r.participantId !== undefined || r.keyId !== undefined || r.identityId !== undefined) throw bad('a trust root revocation names the trust root only');
      if (!this.roots.has(r.trustRoot)) throw bad(`no trust root ${r.trustRoot}`);
    } else {
      if (r.participantId === undefined) throw bad('a revocation names a participant (and perhaps one of its keys or identities) or a trust root');
      const p = this.participants.get(r.participantId);
      if (!p) throw bad(`no participant ${r.participantId}`);
      if (p.id === ADMIN_ID) throw bad('the administrator cannot be revoked through the log');
      if (r.keyId && r.identityId) throw bad('a revocation names a key or an identity, not both');
      if (r.keyId && !p.keys.some((k) => k.keyId === r.keyId)) throw bad(`participant ${p.id} has no key ${r.keyId}`);
      if (r.identityId && !(p.identities ?? []).some((i) => i.id === r.identityId)) throw bad(`participant ${p.id} has no identity ${r.identityId}`);
    }
    if (r.effectiveUntil !== undefined) {
      if (r.effectiveTime === undefined) throw bad('a revoked window needs effectiveTime as well as effectiveUntil');
      if (secs(r.effectiveUntil) <= secs(r.effectiveTime)) throw bad('effectiveUntil must be after effectiveTime');
    }
    // Only a compromise may reach back in time; other revocations take effect now or later.
    if (r.effectiveTime && r.reason !== 'compromise' && secs(r.effectiveTime) < now - 300) {
      throw bad('only a compromise revocation may name an effective time in the past');
    }
  }

  applyTrustRoot(r: TrustRootPredicate, logIndex: number, integratedTime: number, digest?: string): void {
    if (this.roots.has(r.name)) return; // checked before logging; the first registration of a name stands
    let material: TrustRootMaterial;
    try {
      material = readTrustRoot(r.trustedRoot);
    } catch {
      return; // checked before logging: an unreadable root is never one an identity can use
    }
    this.roots.set(r.name, { name: r.name, digest: digest ?? '', json: r.trustedRoot, material, addedAt: integratedTime, logIndex });
  }

  applyRegistration(r: RegistrationPredicate, logIndex: number, integratedTime: number, digest?: string): void {
    let p = this.participants.get(r.id);
    const issuedAt = r.issuedAt === undefined ? undefined : Date.parse(r.issuedAt);
    // Signed order decides: a registration issued before the current one changes nothing.
    if (p?.issuedAt !== undefined && issuedAt !== undefined && issuedAt < p.issuedAt) return;
    const action = p ? 'updated' : 'registered';
    if (!p) {
      p = { id: r.id, organisation: r.organisation, roles: [], keys: [], history: [] };
      this.participants.set(r.id, p);
    }
    p.organisation = r.organisation;
    p.roles = [...r.roles];
    p.products = [...(r.products ?? [])];
    p.issuedAt = issuedAt;
    p.registration = digest;
    p.validFrom = r.validFrom ? secs(r.validFrom) : undefined;
    p.validUntil = r.validUntil ? secs(r.validUntil) : undefined;
    const wanted = new Set((r.publicKeys ?? []).map((pem) => keyIdOfPem(pem)));
    // Keys left out of an update are retired from that moment.
    for (const k of p.keys) {
      if (!wanted.has(k.keyId) && !k.revocation) k.revocation = { effectiveTime: integratedTime, reason: 'superseded', logIndex };
    }
    for (const pem of r.publicKeys ?? []) {
      const id = keyIdOfPem(pem);
      const existing = p.keys.find((k) => k.keyId === id);
      if (!existing) this.addKey(p, pem, integratedTime);
    }
    // Identities likewise; one registered under a root that is not (an old log) is left out.
    const identities = (r.identities ?? []).filter((i) => this.roots.has(i.trustRoot));
    const wantedIds = new Set(identities.map((i) => identityId(i)));
    p.identities ??= [];
    for (const i of p.identities) {
      if (!wantedIds.has(i.id) && !i.revocation) i.revocation = { effectiveTime: integratedTime, reason: 'superseded', logIndex };
    }
    for (const i of identities) {
      const id = identityId(i);
      if (p.identities.some((x) => x.id === id)) continue;
      const added: ParticipantIdentity = { trustRoot: i.trustRoot, ...(i.issuer !== undefined && { issuer: i.issuer }), subject: i.subject, id, addedAt: integratedTime };
      p.identities.push(added);
      this.signers.set(id, { participant: p, identity: added });
    }
    p.history.push({ logIndex, integratedTime, action, detail: `roles ${p.roles.join(', ')}; ${wanted.size} key(s)${wantedIds.size > 0 ? `, ${wantedIds.size} identit${wantedIds.size === 1 ? 'y' : 'ies'}` : ''}` });
  }

  applyRevocation(r: RevocationPredicate, logIndex: number, integratedTime: number): void {
    // Only a compromise may reach back in time; any other revocation takes effect when logged, at the earliest.
    const stated = r.effectiveTime ? secs(r.effectiveTime) : integratedTime;
    const effectiveTime = r.reason === 'compromise' ? stated : Math.max(stated, integratedTime);
    const until = r.effectiveUntil !== undefined ? secs(r.effectiveUntil) : undefined;
    if (until !== undefined && until <= effectiveTime) return; // an empty window (a past one moved to now) revokes nothing
    const rev: Revocation = { effectiveTime, reason: r.reason, logIndex, ...(until !== undefined && { until }) };
    const span = `${r.reason} from ${isoOf(rev.effectiveTime)}${until !== undefined ? ` until ${isoOf(until)}` : ''}`;
    if (r.trustRoot !== undefined) {
      const root = this.roots.get(r.trustRoot);
      if (root) revoke(root, rev);
      return;
    }
    const p = r.participantId === undefined ? undefined : this.participants.get(r.participantId);
    if (!p) return; // checked before logging; an old log may still hold one
    if (r.keyId) {
      const k = p.keys.find((x) => x.keyId === r.keyId);
      if (k) revoke(k, rev);
      p.history.push({ logIndex, integratedTime, action: 'key-revoked', detail: `key ${r.keyId.slice(0, 16)}… ${span}` });
    } else if (r.identityId) {
      const i = (p.identities ?? []).find((x) => x.id === r.identityId);
      if (i) revoke(i, rev);
      p.history.push({ logIndex, integratedTime, action: 'key-revoked', detail: `identity ${i ? describeIdentity(i) : r.identityId.slice(0, 16)} ${span}` });
    } else {
      revoke(p, rev);
      p.history.push({ logIndex, integratedTime, action: 'revoked', detail: span });
    }
  }
}
