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
 *    the affected part serial or lot, or a regulator.
 * 5. Custody. A device starts with its manufacturer; a custody transfer counts only when its
 *    signer is the one it transfers from and that is the device's current holder; an
 *    installation counts only from the current holder.
 * 4. Devices. A manufacturer's registration lists the GTIN-14s of its device models
 *    (`products`). Only the manufacturer of a device's model may sign its assembly record and
 *    release decisions, and only the device's manufacturer attests its firmware.
 */
import { AttestError } from '../attest/errors.js';
import { ADMIN_KEY_URI, PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI, resolvePredicateType, type Role } from '../attest/predicates.js';
import { productOfDeviceKey } from '../udi/udi.js';

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

const DEVICE_TYPES = new Set([resolvePredicateType('device-assembly').uri, resolvePredicateType('slsa-vsa').uri]);

/** Rule 4: undefined when `signer` makes the model of `udi`, otherwise why not. */
export function deviceNotOwned(signer: { participant: string; products: readonly string[] }, udi: string): string | undefined {
  // The model as a manufacturer registers it: GTIN-14, +<LIC><PCN><U/M> (HIBCC), =/<PPIC> (ICCBBA).
  const product = productOfDeviceKey(udi);
  if (product !== undefined && signer.products.includes(product)) return undefined;
  return `${signer.participant} is not registered as the manufacturer of ${product ? `model ${product}` : udi}`;
}

/** Rules 1, 2 and 4 at ingestion: throws NAMESPACE_NOT_OWNED, DEVICE_NOT_OWNED or REGISTRATION_INVALID. */
export function checkSubjectAuthority(statement: Signed, participant: { id: string; products?: readonly string[] }): void {
  const signer = participant.id;
  if (DEVICE_TYPES.has(statement.predicateType)) {
    statement.subject.forEach((s, i) => {
      const udi = s.digest.udi;
      const why = udi === undefined ? undefined : deviceNotOwned({ participant: signer, products: participant.products ?? [] }, udi);
      if (why) throw new AttestError('DEVICE_NOT_OWNED', why, `/subject/${i}/digest/udi`);
    });
  }
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
  const about = registrySubject(statement);
  if (about !== undefined) {
    statement.subject.forEach((s, i) => {
      if (s.digest.participant !== about) {
        throw new AttestError('REGISTRATION_INVALID', `the subject must be the participant the statement is about (${String(about)})`, `/subject/${i}/digest`);
      }
    });
  }
}

/** What a registry statement is about, as its subject must name it: the participant, or "trust-root:<name>". */
export function registrySubject(statement: { predicateType: string; predicate: Record<string, unknown> }): unknown {
  const p = statement.predicate;
  if (statement.predicateType === PARTICIPANT_URI) return p.id;
  if (statement.predicateType === TRUST_ROOT_URI) return `trust-root:${String(p.name)}`;
  if (statement.predicateType === REVOCATION_URI) return p.trustRoot !== undefined ? `trust-root:${String(p.trustRoot)}` : p.participantId;
  if (statement.predicateType === ADMIN_KEY_URI) return 'admin';
  return undefined;
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

interface CustodyNode {
  readonly logIndex: number;
  readonly signer: string | null;
  readonly statement: { readonly predicate: Record<string, unknown> };
}

/**
 * Rule 5: walks the custody transfers in signed order (as given) from the manufacturer and
 * returns those that count, and who holds the device at the end. Without a known manufacturer
 * the first transfer's sender is taken as the starting holder.
 */
export function custodyChain<N extends CustodyNode>(manufacturer: string | undefined, transfers: readonly N[]): { counted: N[]; holder: string | undefined } {
  let holder = manufacturer;
  const counted: N[] = [];
  for (const t of transfers) {
    const from = t.statement.predicate.from;
    const to = t.statement.predicate.to;
    if (typeof from !== 'string' || typeof to !== 'string' || t.signer !== from) continue;
    if (holder !== undefined && from !== holder) continue;
    counted.push(t);
    holder = to;
  }
  return { counted, holder };
}
