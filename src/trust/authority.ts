/**
 * Authority: who may say what about whom. Roles (predicates.ts) say which kinds of statement a
 * participant may sign at all; these rules say about which things. They are kept here, in one
 * place, and used by ingestion (refusals) and by the policy (what counts toward a verdict).
 * Pure, no Node APIs: the browser runs them too.
 *
 * 1. Namespaces. A part serial or lot is "<supplier>:<part>:<id>"; the first field names the
 *    supplier that owns it. Only the owner may attest a component or an SBOM about it.
 * 2. Registry subjects. A registration's subject is the participant it registers, and a
 *    revocation's the participant it revokes; only the administrator role may sign either.
 * 3. Advisories and recalls. Anyone in a role that may issue advisories can log one, but it
 *    counts against a device only when its signer is the device's manufacturer, the owner of
 *    the affected part serial or lot, the attester of the affected firmware, or a regulator.
 */
import { AttestError } from '../attest/errors.js';
import { PARTICIPANT_URI, REVOCATION_URI, resolvePredicateType, type Role } from '../attest/predicates.js';

/** The supplier that owns a "<supplier>:<part>:<id>" part serial or lot. */
export function namespaceOf(tripleId: string): string {
  return tripleId.split(':', 1)[0]!;
}

interface Signed {
  readonly predicateType: string;
  readonly subject: ReadonlyArray<{ readonly digest: Readonly<Record<string, string>> }>;
  readonly predicate: Record<string, unknown>;
}

const NAMESPACED_TYPES = new Set([resolvePredicateType('component').uri, resolvePredicateType('cyclonedx').uri]);

/** Rules 1 and 2 at ingestion: throws NAMESPACE_NOT_OWNED or REGISTRATION_INVALID. */
export function checkSubjectAuthority(statement: Signed, signer: string): void {
  if (NAMESPACED_TYPES.has(statement.predicateType)) {
    statement.subject.forEach((s, i) => {
      for (const kind of ['partSerial', 'lot'] as const) {
        const v = s.digest[kind];
        if (v !== undefined && namespaceOf(v) !== signer) {
          throw new AttestError('NAMESPACE_NOT_OWNED', `${signer} may attest only its own part serials and lots, not ${v} (owned by ${namespaceOf(v)})`, `/subject/${i}/digest/${kind}`);
        }
      }
    });
  }
  const about = statement.predicateType === PARTICIPANT_URI ? statement.predicate.id : statement.predicateType === REVOCATION_URI ? statement.predicate.participantId : undefined;
  if (about !== undefined) {
    statement.subject.forEach((s, i) => {
      if (s.digest.participant !== about) {
        throw new AttestError('REGISTRATION_INVALID', `the subject must be the participant the statement is about (${String(about)})`, `/subject/${i}/digest`);
      }
    });
  }
}

/** Whether `signer` may attest the component `tripleId` (rule 1, as the policy applies it). */
export function ownsNamespace(signer: string, tripleId: string): boolean {
  return namespaceOf(tripleId) === signer;
}

/** Who may speak about what an advisory touches: the participants, besides any regulator. */
export interface AdvisoryTarget {
  /** The device's manufacturer (the signer of its assembly record). */
  readonly manufacturer?: string;
  /** The owners of the affected part serial or lot, or the attesters of the affected firmware. */
  readonly owners: readonly string[];
}

/** Rule 3: undefined when the advisory counts, otherwise why it does not. */
export function advisoryNotAuthorised(signer: { participant: string; roles: readonly Role[] }, target: AdvisoryTarget): string | undefined {
  if (signer.roles.includes('regulator')) return undefined;
  if (target.manufacturer !== undefined && signer.participant === target.manufacturer) return undefined;
  if (target.owners.includes(signer.participant)) return undefined;
  const who = [target.manufacturer && `the manufacturer ${target.manufacturer}`, ...target.owners].filter(Boolean).join(', ');
  return `${signer.participant} is not the device's manufacturer, the supplier of what it affects or a regulator${who ? ` (those are: ${who}, or a regulator)` : ''}`;
}
