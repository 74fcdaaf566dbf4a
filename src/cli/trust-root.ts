/**
 * `pedigree trust-root add|revoke|list`: the trust roots participants' certificate identities
 * are registered under, as administrator-signed statements in the log.
 */
import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { REVOCATION_URI, TRUST_ROOT_URI } from '../attest/predicates.js';
import { signStatement, statement } from '../attest/sign.js';
import { graphql, submitBundle } from '../client/graphql.js';
import { readTrustRoot, TrustRootError } from '../verify/certificate.js';
import { CliError, PUBLIC_GOOD_ROOT, loadTrustedRoot, printJson, terminalSafe, whyUnreadable } from './util.js';
import { adminKeyOption, revocationPredicate } from './participant.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A CA chain in PEM (root last or first) as a Sigstore trusted root naming that one authority. */
export function trustedRootOfChain(pem: string, file: string): Record<string, unknown> {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || blocks.length > 8) throw new CliError(`--ca-chain ${file}: expected 1 to 8 PEM certificates, found ${blocks.length}`);
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch (e) {
    throw new CliError(`--ca-chain ${file}: a certificate is unreadable (${(e as Error).message})`);
  }
  for (const c of certs) if (!c.ca) throw new CliError(`--ca-chain ${file}: ${c.subject.replace(/\n/g, ', ')} is not a CA certificate`);
  // Leaf-most first, as trusted roots list them.
  certs.sort((a, b) => Number(a.checkIssued(b)) - Number(b.checkIssued(a)));
  const start = new Date(Math.max(...certs.map((c) => Date.parse(c.validFrom)))).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [{ subject: {}, uri: '', certChain: { certificates: certs.map((c) => ({ rawBytes: c.raw.toString('base64') })) }, validFor: { start } }],
    ctlogs: [],
    timestampAuthorities: [],
  };
}

export interface TrustRootAddOptions {
  server: string;
  adminKey: string;
  name: string;
  trustedRoot?: string;
  sigstorePublicGood?: boolean;
  caChain?: string;
  note?: string;
  json?: boolean;
}

export async function trustRootAddCommand(opts: TrustRootAddOptions): Promise<void> {
  if (!NAME.test(opts.name)) throw new CliError(`--name must be 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit; got "${opts.name}"`);
  const sources = [opts.trustedRoot !== undefined, opts.sigstorePublicGood === true, opts.caChain !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new CliError('give exactly one of --trusted-root FILE|URL, --sigstore-public-good or --ca-chain PEM');
  let root: unknown;
  if (opts.sigstorePublicGood) root = JSON.parse(await readFile(PUBLIC_GOOD_ROOT, 'utf8'));
  else if (opts.trustedRoot !== undefined) root = await loadTrustedRoot(opts.trustedRoot);
  else {
    const file = opts.caChain!;
    const pem = await readFile(file, 'utf8').catch((e: unknown) => {
      throw new CliError(`--ca-chain: cannot read ${file}: ${whyUnreadable(e)}`);
    });
    root = trustedRootOfChain(pem, file);
  }
  try {
    readTrustRoot(root);
  } catch (e) {
    if (e instanceof TrustRootError) throw new CliError(`the trusted root cannot be used: ${e.message}`);
    throw e;
  }
  const admin = await adminKeyOption(opts.adminKey);
  const predicate: Record<string, unknown> = { name: opts.name, trustedRoot: root, issuedAt: new Date().toISOString(), ...(opts.note && { note: opts.note }) };
  const subject = `trust-root:${opts.name}`;
  const bundle = await signStatement(statement([{ name: subject, digest: { participant: subject } }], TRUST_ROOT_URI, predicate), admin);
  const r = await submitBundle(opts.server, bundle);
  if (opts.json) return printJson({ name: opts.name, logIndex: r.logIndex, duplicate: r.duplicate });
  process.stdout.write(`${r.duplicate ? 'Already registered' : 'Registered'} trust root ${opts.name} at log index ${r.logIndex}\n`);
}

export interface TrustRootRevokeOptions {
  server: string;
  adminKey: string;
  name: string;
  reason: string;
  effective?: string;
  until?: string;
  note?: string;
  json?: boolean;
}

export async function trustRootRevokeCommand(opts: TrustRootRevokeOptions): Promise<void> {
  const predicate = revocationPredicate({ trustRoot: opts.name }, opts);
  const admin = await adminKeyOption(opts.adminKey);
  const eff = predicate.effectiveTime as string | undefined;
  const until = predicate.effectiveUntil as string | undefined;
  const subject = `trust-root:${opts.name}`;
  const bundle = await signStatement(statement([{ name: subject, digest: { participant: subject } }], REVOCATION_URI, predicate), admin);
  const r = await submitBundle(opts.server, bundle);
  if (opts.json) return printJson({ name: opts.name, logIndex: r.logIndex, duplicate: r.duplicate });
  process.stdout.write(`Revoked trust root ${opts.name} (${opts.reason}${until ? `, ${eff} to ${until}` : ''}) at log index ${r.logIndex}\n`);
}

export async function trustRootListCommand(opts: { server: string; json?: boolean }): Promise<void> {
  const data = await graphql<{ trustRoots: Array<{ name: string; digest: string; logIndex: number; authorities: number; logs: number; revocation: { reason: string; effectiveTime: string } | null }> }>(
    opts.server,
    '{ trustRoots { name digest logIndex authorities logs revocation { reason effectiveTime } } }',
  );
  if (opts.json) return printJson(data.trustRoots);
  if (data.trustRoots.length === 0) process.stdout.write('No trust roots are registered (pedigree trust-root add)\n');
  for (const r of data.trustRoots) {
    const state = r.revocation ? `revoked (${terminalSafe(r.revocation.reason)}) from ${r.revocation.effectiveTime}` : 'active';
    process.stdout.write(`${terminalSafe(r.name)}\t${state}\t${r.authorities} certificate authorit${r.authorities === 1 ? 'y' : 'ies'}, ${r.logs} log(s)\tentry ${r.logIndex}\n`);
  }
}
