import { PARTICIPANT_URI, REVOCATION_URI, ROLES, type Role } from '../attest/predicates.js';
import { signStatement, statement } from '../attest/sign.js';
import { graphql, submitBundle } from '../client/graphql.js';
import { publicPem, readAdminKey, readPublicKey } from '../keys.js';
import { keyIdOf } from '../trust/keys.js';
import { CliError, printJson, terminalSafe } from './util.js';

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

function isoOrUndefined(name: string, v: string | undefined): string | undefined {
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
  product: string[];
  validFrom?: string;
  validUntil?: string;
  json?: boolean;
}

export async function participantAddCommand(opts: AddOptions): Promise<void> {
  const admin = await readAdminKey(opts.adminKey);
  const id = opts.id ?? slug(opts.name);
  // Re-encoded from the parsed key, so nothing but the public key itself is ever sent.
  const publicKeys = (await Promise.all(opts.publicKey.map((f) => readPublicKey(f)))).map((k) => publicPem(k));
  for (const g of opts.product) {
    if (!/^([0-9]{14}|\+[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}[0-9]|=\/[A-Z0-9]{16})$/.test(g)) throw new CliError(`--product must be a GTIN-14 (14 digits), +<LIC><PCN><U/M> (HIBCC) or =/<PPIC> (ICCBBA), got "${g}"`);
  }
  const predicate: Record<string, unknown> = { id, organisation: opts.name, roles: parseRoles(opts.role), publicKeys, ...(opts.product.length > 0 && { products: opts.product }), issuedAt: new Date().toISOString() };
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
  if (opts.json) return printJson({ id, logIndex: r.logIndex, duplicate: r.duplicate, keyIds: publicKeys.map((p) => keyIdOf(p)) });
  const verb = r.duplicate ? 'Already registered' : replaces ? 'Updated' : 'Registered';
  process.stdout.write(`${verb} ${id} (${terminalSafe(opts.name)}) as ${(predicate.roles as string[]).join(', ')} at log index ${r.logIndex}\n`);
}

export interface RevokeOptions {
  server: string;
  adminKey: string;
  id: string;
  keyId?: string;
  reason: string;
  effective?: string;
  note?: string;
  json?: boolean;
}

export async function participantRevokeCommand(opts: RevokeOptions): Promise<void> {
  const admin = await readAdminKey(opts.adminKey);
  const reasons = ['compromise', 'superseded', 'retired', 'other'];
  if (!reasons.includes(opts.reason)) throw new CliError(`--reason must be one of ${reasons.join(', ')}`);
  const predicate: Record<string, unknown> = { participantId: opts.id, reason: opts.reason, issuedAt: new Date().toISOString() };
  if (opts.keyId) predicate.keyId = opts.keyId;
  const eff = isoOrUndefined('--effective', opts.effective);
  if (eff) predicate.effectiveTime = eff;
  if (opts.note) predicate.note = opts.note;
  const bundle = await signStatement(statement([{ name: `participant:${opts.id}`, digest: { participant: opts.id } }], REVOCATION_URI, predicate), admin);
  const r = await submitBundle(opts.server, bundle);
  if (opts.json) return printJson({ id: opts.id, logIndex: r.logIndex, duplicate: r.duplicate });
  process.stdout.write(`Revoked ${opts.keyId ? `key ${opts.keyId} of ` : ''}${opts.id} (${opts.reason}) at log index ${r.logIndex}\n`);
}

export async function participantListCommand(opts: { server: string; json?: boolean }): Promise<void> {
  const data = await graphql<{ participants: Array<{ id: string; organisation: string; roles: string[]; products: string[]; revocation: { reason: string; effectiveTime: string } | null; keys: Array<{ keyId: string; revocation: { reason: string } | null }> }> }>(
    opts.server,
    '{ participants { id organisation roles products revocation { reason effectiveTime } keys { keyId revocation { reason } } } }',
  );
  if (opts.json) return printJson(data.participants);
  for (const p of data.participants) {
    const state = p.revocation ? `revoked (${p.revocation.reason}) from ${p.revocation.effectiveTime}` : 'active';
    process.stdout.write(`${terminalSafe(p.id)}\t${p.roles.join(',')}\t${state}\t${terminalSafe(p.organisation)}\n`);
    if (p.products.length > 0) process.stdout.write(`  makes ${p.products.map(terminalSafe).join(', ')}\n`);
    for (const k of p.keys) process.stdout.write(`  key ${k.keyId}${k.revocation ? ` revoked (${terminalSafe(k.revocation.reason)})` : ''}\n`);
  }
}
