import { PARTICIPANT_URI, REVOCATION_URI, ROLES, type Role } from '../attest/predicates.js';
import { signStatement, statement } from '../attest/sign.js';
import { graphql, submitBundle } from '../client/graphql.js';
import { publicPem, readAdminKey, readPublicKey } from '../keys.js';
import { keyIdOf } from '../trust/keys.js';
import { describeIdentity, identityId, subjectProblem, type CertificateIdentity } from '../trust/identity.js';
import { CliError, printJson, readKeyFor, terminalSafe } from './util.js';

export function slug(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  if (!/^[a-z0-9]/.test(s)) throw new CliError(`cannot make a participant id from "${name}"; pass --id`);
  return s;
}

function parseRoles(values: string[]): Role[] {
  const roles = values.flatMap((v) => v.split(',')).map((r) => r.trim()).filter(Boolean);
  for (const r of roles) if (!(ROLES as readonly string[]).includes(r) || r === 'admin') throw new CliError(`unknown role "${r}"; use ${ROLES.filter((x) => x !== 'admin').join(', ')}`);
  if (roles.length === 0) throw new CliError('give at least one --role');
  return [...new Set(roles)] as Role[];
}

/** The administrator's key from --admin-key, a clear error naming the option when it is not one. */
export const adminKeyOption = (file: string) => readKeyFor('--admin-key', "the administrator's PEM private key (DATA/admin.key, written by pedigree init)", () => readAdminKey(file));

export const REVOCATION_REASONS = ['compromise', 'superseded', 'retired', 'other'];

/** A revocation predicate for `target` (a participant, key, identity or trust root) from the common options. */
export function revocationPredicate(target: Record<string, string>, opts: { reason: string; effective?: string; until?: string; note?: string }): Record<string, unknown> {
  if (!REVOCATION_REASONS.includes(opts.reason)) throw new CliError(`--reason must be one of ${REVOCATION_REASONS.join(', ')}`);
  const eff = isoOrUndefined('--effective', opts.effective);
  const until = isoOrUndefined('--until', opts.until);
  if (until && !eff) throw new CliError('--until needs --effective (a revoked window has a start and an end)');
  return { ...target, reason: opts.reason, issuedAt: new Date().toISOString(), ...(eff && { effectiveTime: eff }), ...(until && { effectiveUntil: until }), ...(opts.note && { note: opts.note }) };
}

export function isoOrUndefined(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new CliError(`${name} must be an ISO 8601 time, got "${v}"`);
  return new Date(t).toISOString();
}

export interface AddOptions {
  server: string;
  adminKey: string;
  name: string;
  id?: string;
  role: string[];
  publicKey: string[];
  /** Certificate identities: subjects (exact or with `*`), under one trust root and OIDC issuer. */
  identity?: string[];
  identityIssuer?: string;
  trustRoot?: string;
  product: string[];
  validFrom?: string;
  validUntil?: string;
  json?: boolean;
}

export async function participantAddCommand(opts: AddOptions): Promise<void> {
  const admin = await adminKeyOption(opts.adminKey);
  const id = opts.id ?? slug(opts.name);
  // Re-encoded from the parsed key, so nothing but the public key itself is ever sent.
  const publicKeys = (await Promise.all(opts.publicKey.map((f) => readKeyFor('--public-key', "the participant's PEM public key (a .pub file, as pedigree keygen writes it)", () => readPublicKey(f))))).map((k) => publicPem(k));
  const identities = identitiesOf(opts);
  if (publicKeys.length === 0 && identities.length === 0) throw new CliError('give at least one --public-key FILE or --identity SUBJECT (with --trust-root)');
  for (const g of opts.product) {
    if (!/^([0-9]{14}|\+[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}[0-9]|=\/[A-Z0-9]{16})$/.test(g)) throw new CliError(`--product must be a GTIN-14 (14 digits), +<LIC><PCN><U/M> (HIBCC) or =/<PPIC> (ICCBBA), got "${g}"`);
  }
  const predicate: Record<string, unknown> = { id, organisation: opts.name, roles: parseRoles(opts.role), ...(publicKeys.length > 0 && { publicKeys }), ...(identities.length > 0 && { identities }), ...(opts.product.length > 0 && { products: opts.product }), issuedAt: new Date().toISOString() };
  // Updating a participant names the registration it replaces, so that of two updates made
  // from the same one only the first is accepted and an old one can never come back.
  const current = await graphql<{ participants: Array<{ id: string; registration: string | null }> }>(opts.server, '{ participants { id registration } }');
  const replaces = current.participants.find((p) => p.id === id)?.registration;
  if (replaces) predicate.replaces = replaces;
  const from = isoOrUndefined('--valid-from', opts.validFrom);
  const until = isoOrUndefined('--valid-until', opts.validUntil);
  if (from) predicate.validFrom = from;
  if (until) predicate.validUntil = until;
  const bundle = await signStatement(statement([{ name: `participant:${id}`, digest: { participant: id } }], PARTICIPANT_URI, predicate), admin);
  const r = await submitBundle(opts.server, bundle);
  if (opts.json) return printJson({ id, logIndex: r.logIndex, duplicate: r.duplicate, keyIds: publicKeys.map((p) => keyIdOf(p)), identityIds: identities.map((i) => identityId(i)) });
  const verb = r.duplicate ? 'Already registered' : replaces ? 'Updated' : 'Registered';
  process.stdout.write(`${verb} ${id} (${terminalSafe(opts.name)}) as ${(predicate.roles as string[]).join(', ')} at log index ${r.logIndex}\n`);
  for (const i of identities) process.stdout.write(`  identity ${identityId(i)}  ${terminalSafe(describeIdentity(i))}\n`);
}

/** The certificate identities the options name; each subject checked as the ledger will. */
function identitiesOf(opts: AddOptions): CertificateIdentity[] {
  const subjects = opts.identity ?? [];
  if (subjects.length === 0) {
    if (opts.trustRoot !== undefined || opts.identityIssuer !== undefined) throw new CliError('--trust-root and --identity-issuer describe certificate identities: give --identity SUBJECT too');
    return [];
  }
  if (opts.trustRoot === undefined) throw new CliError('--identity needs --trust-root NAME (see pedigree trust-root list)');
  return subjects.map((subject) => {
    const problem = subjectProblem(subject);
    if (problem) throw new CliError(`--identity "${subject.slice(0, 100)}": ${problem}`);
    return { trustRoot: opts.trustRoot!, ...(opts.identityIssuer !== undefined && { issuer: opts.identityIssuer }), subject };
  });
}

export interface RevokeOptions {
  server: string;
  adminKey: string;
  id: string;
  keyId?: string;
  identityId?: string;
  reason: string;
  effective?: string;
  until?: string;
  note?: string;
  json?: boolean;
}

export async function participantRevokeCommand(opts: RevokeOptions): Promise<void> {
  const admin = await adminKeyOption(opts.adminKey);
  if (opts.keyId && opts.identityId) throw new CliError('give --key-id or --identity-id, not both');
  const predicate = revocationPredicate({ participantId: opts.id, ...(opts.keyId && { keyId: opts.keyId }), ...(opts.identityId && { identityId: opts.identityId }) }, opts);
  const until = predicate.effectiveUntil as string | undefined;
  const eff = predicate.effectiveTime as string | undefined;
  const bundle = await signStatement(statement([{ name: `participant:${opts.id}`, digest: { participant: opts.id } }], REVOCATION_URI, predicate), admin);
  const r = await submitBundle(opts.server, bundle);
  if (opts.json) return printJson({ id: opts.id, logIndex: r.logIndex, duplicate: r.duplicate });
  const what = opts.keyId ? `key ${opts.keyId} of ` : opts.identityId ? `identity ${opts.identityId} of ` : '';
  process.stdout.write(`Revoked ${what}${opts.id} (${opts.reason}${until ? `, ${eff} to ${until}` : ''}) at log index ${r.logIndex}\n`);
}

export async function participantListCommand(opts: { server: string; json?: boolean }): Promise<void> {
  const data = await graphql<{ participants: Array<{ id: string; organisation: string; roles: string[]; products: string[]; revocation: { reason: string; effectiveTime: string } | null; keys: Array<{ keyId: string; revocation: { reason: string } | null }>; identities: Array<{ id: string; trustRoot: string; issuer: string | null; subject: string; revocation: { reason: string } | null }> }> }>(
    opts.server,
    '{ participants { id organisation roles products revocation { reason effectiveTime } keys { keyId revocation { reason } } identities { id trustRoot issuer subject revocation { reason } } } }',
  );
  if (opts.json) return printJson(data.participants);
  for (const p of data.participants) {
    const state = p.revocation ? `revoked (${p.revocation.reason}) from ${p.revocation.effectiveTime}` : 'active';
    process.stdout.write(`${terminalSafe(p.id)}\t${p.roles.join(',')}\t${state}\t${terminalSafe(p.organisation)}\n`);
    if (p.products.length > 0) process.stdout.write(`  makes ${p.products.map(terminalSafe).join(', ')}\n`);
    for (const k of p.keys) process.stdout.write(`  key ${k.keyId}${k.revocation ? ` revoked (${terminalSafe(k.revocation.reason)})` : ''}\n`);
    for (const i of p.identities) {
      process.stdout.write(`  identity ${i.id}  ${terminalSafe(describeIdentity({ trustRoot: i.trustRoot, subject: i.subject, ...(i.issuer !== null && { issuer: i.issuer }) }))}${i.revocation ? ` revoked (${terminalSafe(i.revocation.reason)})` : ''}\n`);
    }
  }
}
