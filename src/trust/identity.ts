/**
 * Certificate identities: how a participant that signs with certificates (keyless Fulcio
 * certificates bound to a CI workflow, a private Sigstore instance's, an organisation CA's) is
 * registered and recognised. An identity names a trust root registered in the log, the OIDC
 * issuer the certificate must record (Fulcio's extension; absent for a CA that records none),
 * and the subject alternative name, exactly or as a pattern where `*` stands for any run of
 * characters (at most four of them), matched against the whole name:
 *
 *   https://github.com/acme/fw/.github/workflows/release.yml@refs/tags/*
 *
 * An identity's ID is the lowercase hex SHA-256 of "pedigree identity v1\n" and the canonical
 * JSON of {trustRoot, issuer?, subject}; it stands where a key ID stands for a key (records,
 * revocations, policy). Pure, no Node APIs.
 */
import { sha256, toHex, utf8 } from '../log/index.js';
import { canonicalJson } from '../verify/canonical.js';

export interface CertificateIdentity {
  /** The name of a trust root registered in the log. */
  readonly trustRoot: string;
  /** The OIDC issuer the certificate records; absent when the certificate must record none. */
  readonly issuer?: string;
  /** The subject alternative name, exact or with `*` wildcards. */
  readonly subject: string;
}

export const MAX_SUBJECT_WILDCARDS = 4;
export const MAX_SUBJECT_LENGTH = 1024;

export function identityId(i: CertificateIdentity): string {
  const body = { trustRoot: i.trustRoot, ...(i.issuer !== undefined && { issuer: i.issuer }), subject: i.subject };
  return toHex(sha256(utf8(`pedigree identity v1\n${canonicalJson(body)}`)));
}

/** Why a subject pattern cannot be used (undefined when it can). */
export function subjectProblem(subject: string): string | undefined {
  if (subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) return `a subject is 1 to ${MAX_SUBJECT_LENGTH} characters`;
  if (subject.replace(/\*+/g, '').length === 0) return 'a subject must name something besides wildcards';
  if ((subject.match(/\*+/g) ?? []).length > MAX_SUBJECT_WILDCARDS) return `a subject has at most ${MAX_SUBJECT_WILDCARDS} wildcards`;
  return undefined;
}

/** Whether `name` matches `pattern` whole, `*` standing for any run of characters (linear with backtracking to the last star). */
export function subjectMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** A subject as a whole-name pattern for @sigstore/verify: exact text, or a RegExp with `.*` for each `*`. */
export function identitySubjectPattern(subject: string): string | RegExp {
  if (!subject.includes('*')) return subject;
  return new RegExp(subject.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*'));
}

/** Whether a certificate's names and recorded issuer are this identity's. */
export function identityMatches(i: CertificateIdentity, cert: { readonly subjectAlternativeNames: readonly string[]; readonly oidcIssuer: string | undefined }): boolean {
  if (i.issuer !== cert.oidcIssuer) return false;
  return cert.subjectAlternativeNames.some((san) => subjectMatches(i.subject, san));
}

/** How an identity reads in messages. */
export function describeIdentity(i: CertificateIdentity): string {
  return `${i.subject}${i.issuer ? ` from ${i.issuer}` : ''} under ${i.trustRoot}`;
}
