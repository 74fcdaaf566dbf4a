import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { signedTimeField } from '../attest/order.js';
import { resolvePredicateType } from '../attest/predicates.js';
import { signStatement, statement } from '../attest/sign.js';
import type { Subject } from '../attest/statement.js';
import { verifyBundle, BundleVerificationError, trustedRootProblem } from '../attest/verify.js';
import { submitBundle } from '../client/graphql.js';
import { readPrivateKey, readPublicKey } from '../keys.js';
import { normaliseDeviceUdi } from '../udi/udi.js';
import { CliError, PUBLIC_GOOD_ROOT, loadTrustedRoot, printJson, readJson, terminalSafe, whyUnreadable } from './util.js';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}


export interface AttestOptions {
  server: string;
  key: string;
  out: string;
  type?: string;
  statement?: string;
  predicate?: string;
  subject: string[];
  subjectFile: string[];
  udi: string[];
  partSerial: string[];
  lot: string[];
  json?: boolean;
}

/**
 * Statements that supersede earlier ones carry their signed issue time (attestations/README.md,
 * "Signed order"); fill it in with now when the statement leaves it out.
 */
function withIssueTime(stmt: unknown): unknown {
  const s = stmt as { predicateType?: unknown; predicate?: unknown };
  if (typeof s !== 'object' || s === null || typeof s.predicateType !== 'string' || typeof s.predicate !== 'object' || s.predicate === null) return stmt;
  const field = signedTimeField(s.predicateType);
  const predicate = s.predicate as Record<string, unknown>;
  if (field === undefined || predicate[field] !== undefined) return stmt;
  return { ...s, predicate: { ...predicate, [field]: new Date().toISOString() } };
}

export async function buildStatement(opts: AttestOptions): Promise<unknown> {
  return withIssueTime(await buildStatementAsGiven(opts));
}

async function buildStatementAsGiven(opts: AttestOptions): Promise<unknown> {
  if (opts.statement) return readJson(opts.statement, '--statement');
  if (!opts.type) throw new CliError('give --type (and --predicate and subjects), or a whole --statement');
  let type;
  try {
    type = resolvePredicateType(opts.type);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const subjects: Subject[] = [];
  for (const s of opts.subject) {
    const m = /^(?:(.*)=)?([A-Za-z0-9]+):(.+)$/.exec(s);
    if (!m) throw new CliError(`--subject must be [name=]alg:value, got "${s}"`);
    subjects.push({ ...(m[1] ? { name: m[1] } : {}), digest: { [m[2]!]: m[3]! } });
  }
  for (const f of opts.subjectFile) subjects.push({ name: basename(f), digest: { sha256: await sha256File(f) } });
  for (const u of opts.udi) {
    try {
      subjects.push({ digest: { udi: normaliseDeviceUdi(u) } });
    } catch (e) {
      throw new CliError(`--udi ${u}: ${(e as Error).message}`);
    }
  }
  for (const p of opts.partSerial) subjects.push({ digest: { partSerial: p } });
  for (const l of opts.lot) subjects.push({ digest: { lot: l } });
  if (subjects.length === 0) throw new CliError('give at least one subject (--subject, --subject-file, --udi, --part-serial or --lot)');
  const predicate = opts.predicate ? await readJson(opts.predicate, '--predicate') : {};
  if (typeof predicate !== 'object' || predicate === null || Array.isArray(predicate)) throw new CliError('--predicate must be a JSON object');
  return statement(subjects, type.uri, predicate as Record<string, unknown>);
}

export async function attestCommand(opts: AttestOptions): Promise<void> {
  const out = resolve(opts.out);
  // Checked before anything is signed or sent: a logged entry whose bundle could not be saved
  // would be logged again, with a new signed time, by the next try.
  await access(dirname(out), constants.W_OK).catch(() => {
    throw new CliError(`cannot write --out ${out}: its folder does not exist or is not writable; nothing was sent`);
  });
  const key = await readPrivateKey(opts.key);
  const stmt = await buildStatement(opts);
  const bundle = await signStatement(stmt, key);
  const r = await submitBundle(opts.server, bundle);
  await writeFile(out, `${JSON.stringify(r.bundle, null, 2)}\n`);
  if (opts.json) return printJson({ logIndex: r.logIndex, duplicate: r.duplicate, out });
  process.stdout.write(`${r.duplicate ? 'Already in the log' : 'Recorded'} at log index ${r.logIndex}; completed bundle written to ${out}\n`);
}

export interface VerifyOptions {
  trustedRoot: string[];
  sigstorePublicGood?: boolean;
  publicKey: string[];
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  artifact?: string;
  digest?: string;
  json?: boolean;
}

/** The public-good Sigstore instance's trusted root, shipped with the program (attestations/trust/README.md). */

/** Exit 0 when the bundle verifies, 1 when it does not, 3 on errors reading the inputs. */
const USAGE_CODES = new Set(['TRUSTED_ROOT_INVALID', 'KEY_UNSUPPORTED', 'SIGNER_NOT_NAMED', 'ARTIFACT_REQUIRED', 'BUNDLE_INVALID']);

export async function verifyCommand(bundlePath: string, opts: VerifyOptions): Promise<void> {
  if (opts.trustedRoot.length === 0 && !opts.sigstorePublicGood) throw new CliError('name what you trust: --trusted-root FILE|URL (repeatable) and/or --sigstore-public-good');
  const byIdentity = opts.certificateIdentity !== undefined || opts.certificateIdentityRegexp !== undefined || opts.certificateOidcIssuer !== undefined;
  if (byIdentity && opts.publicKey.length > 0) throw new CliError('give either --public-key or --certificate-identity with --certificate-oidc-issuer, not both');
  if (!byIdentity && opts.publicKey.length === 0) throw new CliError("name the signer you expect: --public-key FILE, or --certificate-identity ID (or --certificate-identity-regexp) with --certificate-oidc-issuer URL");
  if (opts.certificateIdentity !== undefined && opts.certificateIdentityRegexp !== undefined) throw new CliError('give --certificate-identity or --certificate-identity-regexp, not both');
  if (byIdentity && (opts.certificateOidcIssuer === undefined || (opts.certificateIdentity ?? opts.certificateIdentityRegexp) === undefined)) {
    throw new CliError('--certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer go together');
  }
  let subject: string | RegExp | undefined = opts.certificateIdentity;
  if (opts.certificateIdentityRegexp !== undefined) {
    try {
      subject = new RegExp(opts.certificateIdentityRegexp);
    } catch (e) {
      throw new CliError(`--certificate-identity-regexp is not a regular expression: ${(e as Error).message}`);
    }
  }
  if (opts.artifact !== undefined && opts.digest !== undefined) throw new CliError('give --artifact or --digest, not both');
  let digest: string | undefined;
  if (opts.digest !== undefined) {
    const m = /^sha256:([0-9a-fA-F]{64})$/.exec(opts.digest);
    if (!m) throw new CliError('--digest must be sha256: followed by 64 hex digits');
    digest = m[1]!.toLowerCase();
  }
  let artifact: Uint8Array | undefined;
  if (opts.artifact !== undefined) {
    try {
      artifact = await readFile(opts.artifact);
    } catch (e) {
      throw new CliError(`--artifact: cannot read ${opts.artifact}: ${whyUnreadable(e)}`);
    }
  }
  // Local files first (a private key given as --public-key is refused before anything is fetched).
  const keys = await Promise.all(opts.publicKey.map((p) => readPublicKey(p)));
  const bundle = await readJson(bundlePath, 'bundle');
  const roots = await Promise.all(
    opts.trustedRoot.map(async (r) => {
      const root = await loadTrustedRoot(r);
      const wrong = trustedRootProblem(root);
      if (wrong) throw new CliError(`--trusted-root ${r}: ${wrong}`);
      return root;
    }),
  );
  if (opts.sigstorePublicGood) roots.push(JSON.parse(await readFile(PUBLIC_GOOD_ROOT, 'utf8')));
  try {
    const v = verifyBundle(bundle, roots, {
      ...(keys.length > 0 && { publicKeys: keys }),
      ...(subject !== undefined && { identity: { subject, issuer: opts.certificateOidcIssuer! } }),
      ...(artifact && { artifact }),
      ...(digest !== undefined && { digest }),
    });
    const st = v.statement as { predicateType?: string; subject?: unknown[] } | null;
    if (opts.json) printJson({ valid: true, ...v });
    else {
      const who = v.identity ? `${v.identity.subjectAlternativeName} (issuer ${v.identity.issuer})` : `key ${v.keyId}`;
      // Rekor v2 entries carry no integration time (their time comes from a timestamp authority).
      const since = v.integratedTime > 0 ? ` since ${new Date(v.integratedTime * 1000).toISOString()}` : '';
      const where = v.logIndex >= 0 ? `, in the log at index ${v.logIndex}${since}` : ', timestamped (no transparency-log entry)';
      const what = st?.predicateType ? `\n  ${terminalSafe(String(st.predicateType))} (${st.subject?.length ?? 0} subject(s))` : '';
      process.stdout.write(`VALID: signed by ${terminalSafe(who)}${where}${artifact || digest ? ', over the artifact given' : ''}${what}\n`);
    }
  } catch (e) {
    if (!(e instanceof BundleVerificationError)) throw e;
    // What the caller gave cannot be used: a usage or input error, not a verdict on the bundle.
    if (USAGE_CODES.has(e.code)) throw new CliError(e.message);
    if (opts.json) printJson({ valid: false, code: e.code, message: e.message });
    else process.stdout.write(`INVALID: ${terminalSafe(e.message)} (${terminalSafe(String(e.code))})\n`);
    process.exitCode = 1;
  }
}
