import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { signedTimeField } from '../attest/order.js';
import { PREDICATE_TYPES, REGISTRY_URIS, resolvePredicateType } from '../attest/predicates.js';
import { signStatement, statement } from '../attest/sign.js';
import type { Subject } from '../attest/statement.js';
import { verifyBundle, BundleVerificationError, trustedRootProblem } from '../attest/verify.js';
import { submitBundle } from '../client/graphql.js';
import { readPrivateKey, readPublicKey } from '../keys.js';
import { normaliseDeviceUdi } from '../udi/udi.js';
import { CliError, PUBLIC_GOOD_ROOT, loadTrustedRoot, printJson, readJson, readKeyFor, terminalSafe, whyUnreadable } from './util.js';
import { ed25519FromSpki, ed25519KeyHash } from '../log/index.js';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    throw new CliError(`--subject-file: cannot read ${path}: ${whyUnreadable(e)} (a file to name as a subject by its SHA-256 was expected)`);
  }
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
  } catch {
    const names = PREDICATE_TYPES.filter((p) => !REGISTRY_URIS.has(p.uri)).map((p) => p.name);
    const near = names.filter((n) => editDistance(n, opts.type!.toLowerCase()) <= 2);
    throw new CliError(`--type ${JSON.stringify(terminalSafe(opts.type.slice(0, 100)))} is not a predicate type Pedigree accepts${near.length ? ` (did you mean ${near.join(' or ')}?)` : ''}; give one of ${names.join(', ')}, or its URI`);
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
  const key = await readKeyFor('--key', 'your PEM private key, as pedigree keygen writes it (PREFIX.key)', () => readPrivateKey(opts.key));
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
  const keys = await Promise.all(opts.publicKey.map((p) => readKeyFor('--public-key', "the signer's PEM public key (a .pub file)", () => readPublicKey(p))));
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
  } catch (caught) {
    if (!(caught instanceof BundleVerificationError)) throw caught;
    // verifyBundle names an untrusted log before any other check of the bundle; so does this.
    const e = (!['BUNDLE_INVALID', 'TRUSTED_ROOT_INVALID', 'KEY_UNSUPPORTED', 'SIGNER_NOT_NAMED'].includes(caught.code) && misnamedLog(bundle, roots)) || caught;
    // What the caller gave cannot be used: a usage or input error, not a verdict on the bundle.
    if (USAGE_CODES.has(e.code)) throw new CliError(e.message);
    if (opts.json) printJson({ valid: false, code: e.code, message: e.message });
    else process.stdout.write(`INVALID: ${terminalSafe(e.message)} (${terminalSafe(String(e.code))})\n`);
    process.exitCode = 1;
  }
}

/** Levenshtein distance, for "did you mean" on short names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * When a bundle fails its log checks: whether no trusted root names its log after all. A trusted
 * root's log is found by the log ID it states; but a log ID that its key does not make (neither
 * the SHA-256 of the key nor, for a checkpoint-signing log like this ledger, the hash of its
 * origin and key) names another log than the bundle's: that is UNTRUSTED_LOG, not a promise or
 * proof that "does not verify".
 */
function misnamedLog(bundle: unknown, roots: readonly unknown[]): BundleVerificationError | undefined {
  const entries = (bundle as { verificationMaterial?: { tlogEntries?: Array<{ logId?: { keyId?: unknown } }> } } | null)?.verificationMaterial?.tlogEntries;
  if (!Array.isArray(entries) || entries.length === 0) return undefined;
  const tlogs = roots.flatMap((r) => {
    const t = (r as { tlogs?: unknown } | null)?.tlogs;
    return Array.isArray(t) ? (t as Array<{ baseUrl?: unknown; publicKey?: { rawBytes?: unknown }; logId?: { keyId?: unknown } }>) : [];
  });
  for (const entry of entries.slice(0, 8)) {
    const id = entry?.logId?.keyId;
    if (typeof id !== 'string') continue;
    const named = tlogs.filter((t) => t?.logId?.keyId === id);
    if (named.length === 0 || named.some((t) => keyMakesLogId(t, id))) continue;
    const origins = named.map((t) => (typeof t.baseUrl === 'string' ? t.baseUrl : '?')).join(', ');
    return new BundleVerificationError('UNTRUSTED_LOG', `the bundle was logged by a transparency log that none of the trusted roots names: a trusted root states its log ID (${id}) for ${origins} but with another key, so it names another log`);
  }
  return undefined;
}

function keyMakesLogId(t: { baseUrl?: unknown; publicKey?: { rawBytes?: unknown } }, id: string): boolean {
  if (typeof t.publicKey?.rawBytes !== 'string') return true; // nothing to check it against: not ours to judge
  const spki = Buffer.from(t.publicKey.rawBytes, 'base64');
  if (createHash('sha256').update(spki).digest('base64') === id) return true;
  const raw = ed25519FromSpki(new Uint8Array(spki));
  if (raw && typeof t.baseUrl === 'string') {
    const origin = t.baseUrl.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (Buffer.from(ed25519KeyHash(origin, raw)).toString('base64') === id) return true;
  }
  return false;
}
