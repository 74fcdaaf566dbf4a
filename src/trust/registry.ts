/**
 * The trust registry: who may sign what, derived from participant registrations and key
 * revocations that the administrator signed and the log holds. The server rebuilds it at
 * start-up from those entries and updates it as new ones integrate; evidence verifiers (the CLI
 * and the web page) rebuild it from the entries in a package. No I/O and no Node APIs, so all of
 * them run this same code.
 */
import { AttestError } from '../attest/errors.js';
import { PARTICIPANT_URI, REVOCATION_URI, type Role } from '../attest/predicates.js';
import { sha256 } from '../log/hash.js';
import { gtinCheckDigit } from '../udi/udi.js';

export const ADMIN_ID = 'admin';

export interface Revocation {
  readonly effectiveTime: number;
  readonly reason: string;
  readonly logIndex: number;
}

export interface ParticipantKey {
  readonly keyId: string;
  /** PEM SPKI, re-encoded canonically from `der`. */
  readonly publicKeyPem: string;
  readonly der: Uint8Array;
  readonly addedAt: number;
  revocation?: Revocation;
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
  validFrom?: number;
  validUntil?: number;
  revocation?: Revocation;
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
  products?: string[];
  validFrom?: string;
  validUntil?: string;
  /** When the administrator issued it; registrations are ordered by this, not by log position. */
  issuedAt?: string;
  /** SHA-256 (hex) of the statement of the registration this one replaces. */
  replaces?: string;
}

export interface RevocationPredicate {
  participantId: string;
  keyId?: string;
  reason: 'compromise' | 'superseded' | 'retired' | 'other';
  effectiveTime?: string;
  note?: string;
}

const secs = (iso: string) => Math.floor(Date.parse(iso) / 1000);
/** ISO text for a time in seconds, or a placeholder when it is not a time (never throws). */
const isoOf = (s: number) => (Number.isFinite(s) && Math.abs(s) < 8.64e12 ? new Date(s * 1000).toISOString() : 'an unreadable time');

/** Whether every time a registry statement names can be read (RFC 3339 leap seconds cannot). */
export function registryTimesReadable(predicate: Record<string, unknown>): string | undefined {
  for (const f of ['issuedAt', 'validFrom', 'validUntil', 'effectiveTime']) {
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

export class TrustRegistry {
  private readonly participants = new Map<string, Participant>();
  private readonly keys = new Map<string, { participant: Participant; key: ParticipantKey }>();

  constructor(adminPublicKeyPem: string, createdAt = 0) {
    const admin: Participant = { id: ADMIN_ID, organisation: 'Ledger administrator', roles: ['admin'], keys: [], history: [] };
    this.participants.set(ADMIN_ID, admin);
    this.addKey(admin, adminPublicKeyPem, createdAt);
  }

  private addKey(p: Participant, pem: string, at: number): void {
    const der = pemToDer(pem);
    const k: ParticipantKey = { keyId: hex(sha256(der)), publicKeyPem: derToPem(der), der, addedAt: at };
    p.keys.push(k);
    this.keys.set(k.keyId, { participant: p, key: k });
  }

  /** A copy of the whole registry, for `restore` when a change could not be logged. */
  snapshot(): Participant[] {
    return structuredClone([...this.participants.values()]);
  }

  restore(saved: readonly Participant[]): void {
    this.participants.clear();
    this.keys.clear();
    for (const p of structuredClone(saved)) {
      this.participants.set(p.id, p);
      for (const key of p.keys) this.keys.set(key.keyId, { participant: p, key });
    }
  }

  list(): Participant[] {
    return [...this.participants.values()];
  }

  get(id: string): Participant | undefined {
    return this.participants.get(id);
  }

  /** What an evaluator needs to know about a key: its participant, roles and revocations. */
  signerInfo(keyId: string): SignerInfo | undefined {
    const f = this.keys.get(keyId);
    if (!f) return undefined;
    const revocations = [f.key.revocation, f.participant.revocation].filter((r): r is Revocation => r !== undefined);
    return { participant: f.participant.id, roles: f.participant.roles, products: f.participant.products ?? [], revocations };
  }

  /** The participant registered as the manufacturer of a product (GTIN-14 or other device key product), if any. */
  manufacturerOf(product: string): string | undefined {
    for (const p of this.participants.values()) if (p.roles.includes('manufacturer') && (p.products ?? []).includes(product)) return p.id;
    return undefined;
  }

  /** Applies a registration or revocation statement; false for any other predicate type. */
  /** `digest` is the SHA-256 (hex) of the statement, which a later registration names in `replaces`. */
  apply(statement: { predicateType: string; predicate: unknown }, logIndex: number, integratedTime: number, digest?: string): boolean {
    if (statement.predicateType === PARTICIPANT_URI) this.applyRegistration(statement.predicate as RegistrationPredicate, logIndex, integratedTime, digest);
    else if (statement.predicateType === REVOCATION_URI) this.applyRevocation(statement.predicate as RevocationPredicate, logIndex, integratedTime);
    else return false;
    return true;
  }

  /** The participant and key behind a key ID, revoked or not. */
  lookup(keyId: string): SignerCheck | undefined {
    return this.keys.get(keyId);
  }

  /** Whether `keyId` may sign at `at` (seconds); throws the reason it may not. */
  checkSigner(keyId: string, at: number): SignerCheck {
    const found = this.keys.get(keyId);
    if (!found) throw new AttestError('SIGNER_UNKNOWN', `no registered participant has key ${keyId.slice(0, 16)}…`);
    const { participant: p, key } = found;
    const rev = [key.revocation, p.revocation].filter((r): r is Revocation => r !== undefined).find((r) => r.effectiveTime <= at);
    if (rev) throw new AttestError('SIGNER_REVOKED', `the key of ${p.id} was revoked (${rev.reason}) from ${isoOf(rev.effectiveTime)}`);
    if ((p.validFrom !== undefined && at < p.validFrom) || (p.validUntil !== undefined && at > p.validUntil)) {
      throw new AttestError('SIGNER_NOT_VALID', `participant ${p.id} is not valid at ${isoOf(at)}`);
    }
    return found;
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
      const owner = this.keys.get(id);
      if (owner && owner.participant.id !== r.id) throw bad(`key ${id.slice(0, 16)}… already belongs to ${owner.participant.id}`);
    }
    if ((r.publicKeys ?? []).length === 0) throw bad('a participant needs at least one public key');
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
    const p = this.participants.get(r.participantId);
    if (!p) throw bad(`no participant ${r.participantId}`);
    if (p.id === ADMIN_ID) throw bad('the administrator cannot be revoked through the log');
    if (r.keyId && !p.keys.some((k) => k.keyId === r.keyId)) throw bad(`participant ${p.id} has no key ${r.keyId}`);
    // Only a compromise may reach back in time; other revocations take effect now or later.
    if (r.effectiveTime && r.reason !== 'compromise' && secs(r.effectiveTime) < now - 300) {
      throw bad('only a compromise revocation may name an effective time in the past');
    }
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
    p.history.push({ logIndex, integratedTime, action, detail: `roles ${p.roles.join(', ')}; ${wanted.size} key(s)` });
  }

  applyRevocation(r: RevocationPredicate, logIndex: number, integratedTime: number): void {
    const p = this.participants.get(r.participantId);
    if (!p) return; // checked before logging; an old log may still hold one
    // Only a compromise may reach back in time; any other revocation takes effect when logged, at the earliest.
    const stated = r.effectiveTime ? secs(r.effectiveTime) : integratedTime;
    const rev: Revocation = { effectiveTime: r.reason === 'compromise' ? stated : Math.max(stated, integratedTime), reason: r.reason, logIndex };
    if (r.keyId) {
      const k = p.keys.find((x) => x.keyId === r.keyId);
      if (k && supersedes(rev, k.revocation)) k.revocation = rev;
      p.history.push({ logIndex, integratedTime, action: 'key-revoked', detail: `key ${r.keyId.slice(0, 16)}… ${r.reason} from ${isoOf(rev.effectiveTime)}` });
    } else {
      if (supersedes(rev, p.revocation)) p.revocation = rev;
      p.history.push({ logIndex, integratedTime, action: 'revoked', detail: `${r.reason} from ${isoOf(rev.effectiveTime)}` });
    }
  }
}
