/**
 * Signed order. A statement that supersedes earlier ones (a release decision, a registration, a
 * revocation, a custody or installation record, an assembly, a new version of an advisory)
 * carries the time its signer issued it. Ingestion, the trust registry and the policy order
 * such statements by that signed time, never by where they landed in the log: anyone can
 * resubmit a public statement, but no one can make an old one newer than it says it is.
 * Log position only breaks ties between equal signed times. Pure data and functions, no Node
 * APIs: the browser runs this too.
 */
import { ADMIN_KEY_URI, PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI, resolvePredicateType } from './predicates.js';

/** How far ahead of the ledger's clock a signed time may be (clock skew). */
export const MAX_CLOCK_SKEW_SECONDS = 300;

interface OrderRule {
  /** The predicate field holding the signed issue time (ISO 8601). */
  readonly field: string;
  /** What the statement supersedes: one key per thing it is the latest word on. */
  readonly scopes: (statement: OrderedStatement, signer: string) => string[];
}

export interface OrderedStatement {
  readonly predicateType: string;
  readonly subject: ReadonlyArray<{ readonly digest: Readonly<Record<string, string>> }>;
  readonly predicate: Record<string, unknown>;
}

const subjectsOf = (kinds: readonly string[]) => (s: OrderedStatement) =>
  s.subject.flatMap((sub) => Object.entries(sub.digest).filter(([k]) => kinds.includes(k)).map(([k, v]) => `${k}:${v}`));
const str = (v: unknown) => (typeof v === 'string' ? v : '');

// Device-level scopes are per signer too: one participant's statements never block another's.
const RULES = new Map<string, OrderRule>([
  [PARTICIPANT_URI, { field: 'issuedAt', scopes: (s) => [`participant/${str(s.predicate.id)}`] }],
  [
    REVOCATION_URI,
    {
      field: 'issuedAt',
      scopes: (s) => [s.predicate.trustRoot !== undefined ? `revocation/trust-root:${str(s.predicate.trustRoot)}/*` : `revocation/${str(s.predicate.participantId)}/${str(s.predicate.keyId) || str(s.predicate.identityId) || '*'}`],
    },
  ],
  [TRUST_ROOT_URI, { field: 'issuedAt', scopes: (s) => [`trust-root/${str(s.predicate.name)}`] }],
  [ADMIN_KEY_URI, { field: 'issuedAt', scopes: () => ['administrator-key'] }],
  [resolvePredicateType('device-assembly').uri, { field: 'assembledAt', scopes: (s, signer) => subjectsOf(['udi'])(s).map((k) => `assembly/${signer}/${k}`) }],
  [resolvePredicateType('slsa-vsa').uri, { field: 'timeVerified', scopes: (s, signer) => subjectsOf(['udi', 'sha256'])(s).map((k) => `release/${signer}/${k}`) }],
  [resolvePredicateType('custody-transfer').uri, { field: 'transferredAt', scopes: (s, signer) => subjectsOf(['udi'])(s).map((k) => `custody/${signer}/${k}`) }],
  [resolvePredicateType('installation').uri, { field: 'installedAt', scopes: (s, signer) => subjectsOf(['udi'])(s).map((k) => `installation/${signer}/${k}`) }],
  // An advisory's versions are those its own signer issues under one id.
  [resolvePredicateType('advisory').uri, { field: 'issuedAt', scopes: (s, signer) => [`advisory/${signer}/${str(s.predicate.id)}`] }],
  // Updates are events, each kept; their signed times put them in order.
  [resolvePredicateType('firmware-update').uri, { field: 'updatedAt', scopes: () => [] }],
  // A VEX document is its author's latest word on the firmware images it is about.
  [resolvePredicateType('openvex').uri, { field: 'timestamp', scopes: (s, signer) => subjectsOf(['sha256'])(s).map((k) => `vex/${signer}/${k}`) }],
]);

/** The predicate field that carries the signed issue time, for predicate types that have one. */
export function signedTimeField(predicateType: string): string | undefined {
  return RULES.get(predicateType)?.field;
}

/** The signed issue time in milliseconds since the epoch; undefined when the type has none or it is unreadable. */
export function signedTime(statement: Pick<OrderedStatement, 'predicateType' | 'predicate'>): number | undefined {
  const field = signedTimeField(statement.predicateType);
  if (!field) return undefined;
  const v = statement.predicate[field];
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The keys of what this statement is the latest word on (empty when it supersedes nothing). */
export function supersessionScopes(statement: OrderedStatement, signer: string): string[] {
  return RULES.get(statement.predicateType)?.scopes(statement, signer) ?? [];
}

export interface Ordered {
  readonly logIndex: number;
  readonly statement: Pick<OrderedStatement, 'predicateType' | 'predicate'>;
}

/** Signed time first, log index to break ties (and for statements without a signed time). */
export function bySignedOrder(a: Ordered, b: Ordered): number {
  const ta = signedTime(a.statement) ?? Number.NEGATIVE_INFINITY;
  const tb = signedTime(b.statement) ?? Number.NEGATIVE_INFINITY;
  return ta !== tb ? ta - tb : a.logIndex - b.logIndex;
}
