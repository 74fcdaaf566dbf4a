/**
 * in-toto Statement v1: {_type, subject[], predicateType, predicate}. Subjects are identified by
 * digest sets; besides cryptographic digests (sha256 for files), Pedigree uses immutable
 * identifiers as in-toto allows: udi (canonical "(01)<GTIN>(21)<serial>"), partSerial
 * ("<supplier>:<part>:<serial>"), lot ("<supplier>:<part>:<lot>") and participant (an id).
 */
import { fromUtf8 } from '../log/bytes.js';
import { UdiError, normaliseDeviceUdi } from '../udi/udi.js';
import { AttestError } from './errors.js';
import type { SubjectKind } from './predicates.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const MAX_SUBJECTS = 1000;

export interface Subject {
  readonly name?: string;
  readonly digest: Readonly<Record<string, string>>;
}

export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly Subject[];
  readonly predicateType: string;
  readonly predicate: Record<string, unknown>;
}

/** One indexable identifier of a subject. */
export interface SubjectRef {
  readonly kind: SubjectKind | 'sha512' | 'other';
  readonly value: string;
}

const HEX = { sha256: /^[0-9a-f]{64}$/, sha512: /^[0-9a-f]{128}$/, sha384: /^[0-9a-f]{96}$/, sha1: /^[0-9a-f]{40}$/ } as const;
const ID_PART = /^[A-Za-z0-9._\-/]{1,64}$/;

function bad(message: string, field: string): AttestError {
  return new AttestError('STATEMENT_INVALID', message, field);
}

/** "<supplier>:<part>:<serial or lot>", each part from a small safe alphabet. */
export function checkTripleId(value: string, what: string, field: string): void {
  const parts = value.split(':');
  if (parts.length !== 3 || !parts.every((p) => ID_PART.test(p))) {
    throw bad(`${what} must be "<supplier>:<part>:<id>" using letters, digits and . _ - /`, field);
  }
}

export function parseStatement(payload: Uint8Array): Statement {
  // One reading everywhere: a byte-order mark would be skipped by some JSON readers and not by
  // others (monitors, stored-statement readers), so it is refused.
  if (payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf) throw bad('the DSSE payload must be JSON without a byte-order mark', '/');
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(payload));
  } catch {
    throw bad('the DSSE payload is not JSON', '/');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('the statement must be a JSON object', '/');
  const s = value as Record<string, unknown>;
  if (s._type !== STATEMENT_TYPE) throw bad(`_type must be ${STATEMENT_TYPE}`, '/_type');
  if (typeof s.predicateType !== 'string' || s.predicateType.length === 0 || s.predicateType.length > 500) {
    throw bad('predicateType must be a URI', '/predicateType');
  }
  if (typeof s.predicate !== 'object' || s.predicate === null || Array.isArray(s.predicate)) throw bad('predicate must be an object', '/predicate');
  if (!Array.isArray(s.subject) || s.subject.length === 0) throw bad('subject must be a non-empty array', '/subject');
  if (s.subject.length > MAX_SUBJECTS) throw bad(`at most ${MAX_SUBJECTS} subjects`, '/subject');
  s.subject.forEach((sub: unknown, i) => {
    const at = `/subject/${i}`;
    if (typeof sub !== 'object' || sub === null) throw bad('subject must be an object', at);
    const { name, digest } = sub as { name?: unknown; digest?: unknown };
    if (name !== undefined && (typeof name !== 'string' || name.length > 1000)) throw bad('subject name must be a string', `${at}/name`);
    if (typeof digest !== 'object' || digest === null || Array.isArray(digest) || Object.keys(digest).length === 0) {
      throw bad('subject digest must be a non-empty object', `${at}/digest`);
    }
    for (const [alg, v] of Object.entries(digest as Record<string, unknown>)) {
      const f = `${at}/digest/${alg}`;
      if (typeof v !== 'string' || v.length > 512) throw bad('digest values must be strings', f);
      if (Object.hasOwn(HEX, alg) && !HEX[alg as keyof typeof HEX].test(v)) throw bad(`${alg} must be lowercase hex of the right length`, f);
      if (alg === 'udi') {
        let canonical: string;
        try {
          canonical = normaliseDeviceUdi(v);
        } catch (e) {
          throw bad(`udi: ${(e as UdiError).message}`, f);
        }
        if (canonical !== v) throw bad(`udi must be in canonical form ${canonical}`, f);
      }
      if (alg === 'partSerial') checkTripleId(v, 'partSerial', f);
      if (alg === 'lot') checkTripleId(v, 'lot', f);
      // A trust root's statements are about "trust-root:<name>", which no participant id can spell.
      if (alg === 'participant' && !/^(trust-root:)?[a-z0-9][a-z0-9-]{0,62}$/.test(v)) throw bad('participant must be a participant id (or trust-root:<name>)', f);
      if (alg === 'vulnerability' && !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(v)) throw bad('vulnerability must be a vulnerability id such as CVE-2023-0286', f);
    }
  });
  return s as unknown as Statement;
}

export function subjectRefs(statement: Statement): SubjectRef[] {
  const out: SubjectRef[] = [];
  for (const sub of statement.subject) {
    for (const [alg, value] of Object.entries(sub.digest)) {
      const kind = (['sha256', 'udi', 'partSerial', 'lot', 'participant', 'sha512'] as const).find((k) => k === alg) ?? 'other';
      out.push({ kind, value });
    }
  }
  return out;
}

/** Checks that every subject is of a kind the predicate type describes. */
export function checkSubjectKinds(statement: Statement, kinds: readonly SubjectKind[], typeName: string): void {
  statement.subject.forEach((sub, i) => {
    if (!Object.keys(sub.digest).some((k) => (kinds as readonly string[]).includes(k))) {
      throw bad(`a ${typeName} attestation's subjects are identified by ${kinds.join(' or ')}`, `/subject/${i}/digest`);
    }
  });
}

/**
 * Everything an attestation is about, for the search index: its subjects, plus what a device
 * assembly contains (part serials, lots, firmware digests) and what an advisory affects. So a
 * search by a lot finds the lot's own attestations, the devices built with it and its recalls.
 */
export function indexRefs(statement: Statement): SubjectRef[] {
  const refs = subjectRefs(statement);
  const p = statement.predicate as Record<string, any>;
  if (statement.predicateType.endsWith('/device-assembly/v1')) {
    for (const c of Array.isArray(p.components) ? p.components : []) {
      if (typeof c?.partSerial === 'string') refs.push({ kind: 'partSerial', value: c.partSerial });
      if (typeof c?.lot === 'string') refs.push({ kind: 'lot', value: c.lot });
    }
    for (const f of Array.isArray(p.firmware) ? p.firmware : []) {
      if (typeof f?.digest?.sha256 === 'string') refs.push({ kind: 'sha256', value: f.digest.sha256 });
    }
  }
  if (statement.predicateType.endsWith('/advisory/v1')) {
    const a = (p.affects ?? {}) as Record<string, unknown>;
    const list = (k: string) => (Array.isArray(a[k]) ? (a[k] as unknown[]).filter((v): v is string => typeof v === 'string') : []);
    for (const v of list('lots')) refs.push({ kind: 'lot', value: v });
    for (const v of list('partSerials')) refs.push({ kind: 'partSerial', value: v });
    for (const v of list('firmwareDigests')) refs.push({ kind: 'sha256', value: v });
    for (const v of list('udis')) {
      try {
        refs.push({ kind: 'udi', value: normaliseDeviceUdi(v) });
      } catch {
        // schema-valid but not a device UDI: still findable through its subjects
      }
    }
  }
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = `${r.kind}\u0001${r.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
