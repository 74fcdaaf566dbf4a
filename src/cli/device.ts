import { parseCosignatureVerifierKey } from '../log/cosignature.js';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { graphql } from '../client/graphql.js';
import { parseCheckpoint, parseNote, toHex } from '../log/index.js';
import type { EvidencePackage } from '../provenance/evidence.js';
import { countedReleasers, type Outcome } from '../provenance/outcome.js';
import type { Policy } from '../provenance/policy.js';
import { shippedReleasePolicy } from '../provenance/release-policy.js';
import { checkModelGtin, normaliseDeviceUdi } from '../udi/udi.js';
import { EvidenceError, PLAIN_WORDS } from '../verify/errors.js';
import { verifyEvidence, verifyFirmwareEvidence, type CallerExpectations, type VerifiedDevice, type VerifiedFirmware } from '../verify/evidence.js';
import { componentQuery } from '../sbom/sbom.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { CliError, EXIT_ERROR as EXIT_ERROR_CODE, loadTrustedRoot, printJson, terminalSafe, whyUnreadable } from './util.js';
import { lookupKey } from '../vindex/keys.js';

/** Exit codes of verify-device and verify-evidence; anything but 0 must stop a release. */
export const OUTCOME_EXIT: Record<Outcome | 'NOT_VERIFIED', number> = { PASS: 0, FAIL: 1, INCOMPLETE: 2, RECALLED: 4, UNKNOWN: 5, NOT_VERIFIED: 6 };

async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new CliError(`cannot read ${what} ${path}: ${whyUnreadable(e)}`);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${what} ${path} is not valid JSON`);
  }
}

/**
 * The caller's policy: the file given, validated against the policy schema, or the release
 * policy shipped with the program. The shipped one is not validated again here (the tests and the
 * server validate it), so a gate without --policy never loads the schema validator (Ajv).
 */
async function callerPolicy(path: string | undefined): Promise<Policy> {
  if (!path) return shippedReleasePolicy();
  const value = await readJsonFile(path, '--policy');
  const { parsePolicy } = await import('../provenance/policy-io.js');
  try {
    return parsePolicy(value);
  } catch (e) {
    throw new CliError(`--policy ${path}: ${(e as Error).message}`);
  }
}

function callerUdi(udi: string): string {
  try {
    return normaliseDeviceUdi(udi);
  } catch (e) {
    throw new CliError(`--udi ${terminalSafe(udi)}: ${(e as Error).message}`);
  }
}

/** "90", "90s", "30m", "24h", "7d" → seconds. */
export function parseDuration(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^([0-9]{1,9})([smhd]?)$/.exec(text);
  if (!m) throw new CliError(`${name} must be a duration such as 90s, 30m, 24h or 7d, got "${terminalSafe(text)}"`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

async function newestSeen(path: string | undefined): Promise<{ size: number; root: Uint8Array; origin: string } | undefined> {
  if (!path) return undefined;
  const text = await readFile(path, 'utf8').catch((e: unknown) => {
    throw new CliError(`cannot read --trusted-checkpoint ${path}: ${whyUnreadable(e)}`);
  });
  try {
    const c = parseCheckpoint(parseNote(text).text);
    return { size: c.size, root: c.root, origin: c.origin };
  } catch (e) {
    throw new CliError(`--trusted-checkpoint ${path}: ${(e as Error).message}`);
  }
}

/**
 * The newest checkpoint seen moves forward: once a newer one has verified (signed by the
 * trusted log and proved consistent with the one in the file), it replaces it, atomically.
 */
async function rememberCheckpoint(path: string | undefined, seen: { size: number } | undefined, r: { checkpoint: VerifiedDevice['checkpoint'] }): Promise<void> {
  if (!path || (seen && r.checkpoint.size <= seen.size)) return;
  const tmp = `${resolve(path)}.${process.pid}.tmp`;
  await writeFile(tmp, r.checkpoint.note);
  await rename(tmp, resolve(path));
}

const MEANING: Record<Outcome, string> = {
  PASS: 'the whole chain verifies under your policy',
  FAIL: 'do not deploy',
  INCOMPLETE: 'required evidence is missing; do not deploy yet',
  RECALLED: 'do not use',
  UNKNOWN: 'this ledger has no record of this device; check the label',
};

/** What was verified, in words; every line comes from the verified bundles. */
function printVerified(r: VerifiedDevice, extra: string[]): void {
  const t = terminalSafe;
  const lines = [`${r.outcome}  ${r.udi}  — ${MEANING[r.outcome]}`];
  for (const rc of r.recalls) lines.push(`  recall     ${t(rc.id)}: ${t(rc.title)}${rc.action ? ` — ${t(rc.action)}` : ''}`);
  const g = r.graph;
  if (g.assembly) {
    const a = g.assembly.statement.predicate as { model?: string };
    lines.push(`  model      ${t(String(a.model ?? ''))}, assembled by ${t(g.assembly.signer ?? 'an unregistered key')}`);
    const notCounted = new Set(r.evaluation.findings.filter((f) => f.step === 'component' && f.code !== 'COMPONENT_UNATTESTED').flatMap((f) => f.entries));
    for (const c of g.components) {
      const by = c.attestations.map((n) => `${n.signer ?? '?'}${notCounted.has(n.logIndex) ? ' (not counted)' : ''}`);
      lines.push(`  component  ${t(c.componentType)} ${t(c.partSerial ?? c.lot ?? '')}: ${by.length ? `attested by ${t(by.join(', '))}` : 'not attested'}`);
    }
    const running = new Set(r.evaluation.firmware?.running ?? []);
    for (const f of g.firmware) if (running.has(f.sha256)) lines.push(`  firmware   ${t(f.name)} ${t(f.version ?? '')} sha256:${f.sha256.slice(0, 12)}… (runs now)`);
    for (const h of r.evaluation.firmware?.history ?? []) {
      lines.push(`  updated    ${t(h.firmware)} ${t(h.fromVersion ?? '')} sha256:${h.from.slice(0, 12)}… → ${t(h.version ?? '')} sha256:${h.to.slice(0, 12)}… by ${t(h.by)}${h.updatedAt ? ` at ${t(h.updatedAt)}` : ''}`);
    }
  }
  const release = g.releases.at(-1);
  if (release) lines.push(`  release    ${t(String((release.statement.predicate as { verificationResult?: string }).verificationResult))} by ${t(release.signer ?? '?')}`);
  const inst = g.installations.at(-1);
  if (inst) lines.push(`  installed  ${t(String(((inst.statement.predicate as { site?: { name?: string } }).site?.name) ?? ''))}`);
  for (const f of r.evaluation.findings) lines.push(`  ${f.severity.toUpperCase().padEnd(10)} ${f.code}: ${t(f.message)}${f.entries.length ? ` [entries ${f.entries.join(', ')}]` : ''}`);
  if (r.evaluation.findings.length === 0 && r.outcome === 'PASS') lines.push('  every required step is present, signed by allowed participants, and nothing blocks it');
  lines.push(`  policy     ${t(r.policy.name)} (sha256 ${r.policy.digest.slice(0, 16)}…)`, `  checked    against checkpoint ${r.checkpoint.size} of ${t(r.checkpoint.origin)}, ${r.bundles} bundles verified`);
  for (const w of r.witnesses) lines.push(`  witness    ${t(w.name)} cosigned it at ${new Date(w.time * 1000).toISOString()}`);
  process.stdout.write(`${[...lines, ...extra].join('\n')}\n`);
}

/** The JSON of a verified result: `subject` names what was verified (the device, or the firmware image). */
function verifiedJson(r: VerifiedDevice | VerifiedFirmware, subject: Record<string, unknown>): Record<string, unknown> {
  return {
    verified: true,
    outcome: r.outcome,
    ...subject,
    verdict: r.evaluation.verdict,
    findings: r.evaluation.findings,
    recalls: r.recalls,
    policy: r.policy,
    checkpoint: { origin: r.checkpoint.origin, size: r.checkpoint.size, root: r.checkpoint.root },
    issuedAt: r.issuedAt,
    bundles: r.bundles,
    witnesses: r.witnesses,
    provenance: r.tree,
  };
}

function notVerified(e: EvidenceError, json: boolean | undefined, action = 'do not deploy', extra: Record<string, unknown> = {}): void {
  if (json) printJson({ verified: false, outcome: 'NOT_VERIFIED', code: e.code, reason: PLAIN_WORDS[e.code], message: e.message, ...extra });
  else process.stdout.write(`NOT VERIFIED — ${action}\n  ${PLAIN_WORDS[e.code]}\n  ${terminalSafe(e.message)} (${e.code})\n`);
  process.exitCode = OUTCOME_EXIT.NOT_VERIFIED;
}

/**
 * Evidence with a consistency proof from `fromSize`. A ledger that is now smaller than what the
 * caller saw cannot give that proof; its evidence is then fetched without one, so that the
 * verifier says what happened (EVIDENCE_STALE) instead of a tool error.
 */
async function askEvidence(ask: (fromSize: number | undefined) => Promise<EvidencePackage | undefined>, fromSize: number | undefined): Promise<EvidencePackage | undefined> {
  try {
    return await ask(fromSize);
  } catch (e) {
    if (fromSize === undefined || (e as { code?: string }).code !== 'INVALID_ARGUMENT') throw e;
    return ask(undefined);
  }
}

/** The server's address, checked before anything is asked of it. */
function serverUrl(server: string): URL {
  try {
    const u = new URL(server);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    return u;
  } catch {
    throw new CliError(`--server ${terminalSafe(JSON.stringify(server))} is not an http(s) URL (e.g. http://127.0.0.1:8080)`);
  }
}

export interface VerifyDeviceOptions {
  server: string;
  udi: string;
  policy?: string;
  evidence?: string;
  trustedRoot?: string;
  trustedCheckpoint?: string;
  maxAge?: string;
  witness?: string[];
  witnessesRequired?: string;
  json?: boolean;
}

/** --witness (repeatable) and --witnesses-required: the witnesses whose cosignatures the caller requires. */
export function callerWitnesses(keys: readonly string[] = [], required?: string): { keys: string[]; required: number } | undefined {
  if (keys.length === 0) {
    if (required !== undefined) throw new CliError('--witnesses-required needs at least one --witness <vkey>');
    return undefined;
  }
  const unique = [...new Set(keys.map((k) => k.trim()))];
  const seen: string[] = [];
  for (const k of unique) {
    let raw: string;
    try {
      raw = toHex(parseCosignatureVerifierKey(k).publicKey);
    } catch (e) {
      throw new CliError(`--witness ${JSON.stringify(k.slice(0, 80))} is not a witness verifier key (name+keyid+base64, as "pedigree witness init" prints): ${(e as Error).message}`);
    }
    if (seen.includes(raw)) throw new CliError('two --witness keys are the same witness key under two names; give each witness once');
    seen.push(raw);
  }
  const n = required === undefined ? unique.length : Number(required);
  if (!Number.isSafeInteger(n) || n < 1 || n > unique.length) throw new CliError(`--witnesses-required must be 1..${unique.length} (the number of different --witness keys given)`);
  return { keys: unique, required: n };
}

/**
 * The release gate: fetches the device's evidence package and verifies it locally against what
 * the caller expects — this device, this policy, now, at least the checkpoint the caller has
 * seen — so the answer does not rest on trusting the server.
 */
export async function verifyDeviceCommand(opts: VerifyDeviceOptions): Promise<void> {
  serverUrl(opts.server);
  const udi = callerUdi(opts.udi);
  await runGate(
    opts,
    (policy, f) => graphql<{ device?: { evidence?: EvidencePackage } | null }>(opts.server, 'query ($u: String!, $p: JSON, $f: Int) { device(udi: $u) { evidence(policy: $p, fromSize: $f) } }', { u: udi, p: policy, f: f ?? null }).then((d) => d?.device?.evidence ?? undefined),
    (pkg, root, expect) => verifyEvidence(pkg, root, { udi, ...expect }),
    (r, extra) => printVerified(r, extra),
    (r) => verifiedJson(r, { udi: r.udi }),
  );
}

type GateOptions = Omit<VerifyDeviceOptions, 'udi'>;
type CommonExpectations = Omit<CallerExpectations, 'udi'>;

/**
 * What both gates do: the caller's policy, maximum age (an hour by default: a server cannot keep
 * answering with a package from before a recall), newest checkpoint and witnesses; the trusted
 * root (the server's own only with a warning); the evidence, verified locally; and only then is
 * anything written, the newest checkpoint moved forward and the outcome's exit code set.
 */
async function runGate<R extends VerifiedDevice | VerifiedFirmware>(
  opts: GateOptions,
  ask: (policy: Policy, fromSize: number | undefined) => Promise<EvidencePackage | undefined>,
  verify: (pkg: EvidencePackage, root: unknown, expect: CommonExpectations) => R,
  print: (r: R, extra: string[]) => void,
  json: (r: R) => Record<string, unknown>,
  action = 'do not deploy',
): Promise<void> {
  const server = serverUrl(opts.server);
  const { seen, expect } = await callerExpectations(opts, '1h');
  const source = opts.trustedRoot ?? new URL('/trusted_root.json', server).toString();
  const root = await loadTrustedRoot(source);
  // Trust on first use: without a pinned root the answer rests on the server's own key. Said
  // loudly, with the key's fingerprint to check and pin; --json says it too.
  const trust = { trustedRoot: { pinned: opts.trustedRoot !== undefined, source: opts.trustedRoot === undefined ? source : resolveSource(source), logs: rootFingerprints(root) } };
  if (!opts.trustedRoot) {
    const logs = trust.trustedRoot.logs.map((l) => `log ${l.origin}, key SHA256:${l.keySha256}`).join('; ') || 'it names no log';
    process.stderr.write(`WARNING: no --trusted-root: trusting the root the server sent (${terminalSafe(logs)}); pin it with --trusted-root FILE (save ${source} once, after checking that fingerprint with the ledger's operator)\n`);
  }
  const pkg = await askEvidence((f) => ask(expect.policy, f), seen?.size);
  if (!pkg) return notVerified(new EvidenceError('EVIDENCE_INVALID', 'the server answered without an evidence package'), opts.json, action, trust);
  let result: R;
  try {
    result = verify(pkg, root, expect);
  } catch (e) {
    if (e instanceof EvidenceError) return notVerified(e, opts.json, action, trust);
    throw e;
  }
  // Only evidence that verified is ever written, whole (a temporary file renamed into place); if
  // it cannot be, the verdict is still shown and the exit is an error.
  let unwritten: string | undefined;
  if (opts.evidence) {
    const out = resolve(opts.evidence);
    const tmp = `${out}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(pkg, null, 2)}\n`)
      .then(() => rename(tmp, out))
      .catch(async (e: unknown) => {
        await rm(tmp, { force: true }).catch(() => undefined);
        unwritten = `cannot write --evidence ${opts.evidence}: ${whyUnreadable(e)}`;
      });
  }
  const written = opts.evidence !== undefined && unwritten === undefined;
  // With --json, an evidence file that could not be written is said in the one verdict object
  // (stdout carries one JSON object); the exit is the error's either way.
  const failedWrite = unwritten !== undefined && opts.json ? { error: { code: 'EVIDENCE_NOT_WRITTEN', message: unwritten } } : {};
  await settle(result, opts, seen, print, (r) => ({ ...json(r), ...trust, ...(written && { evidence: resolve(opts.evidence!) }), ...failedWrite }), written ? [`  evidence package written to ${resolve(opts.evidence!)}`] : []);
  if (unwritten) {
    if (!opts.json) throw new CliError(unwritten);
    process.exitCode = EXIT_ERROR_CODE;
  }
}

/** A trusted root's source as given: a URL, or the file's absolute path. */
const resolveSource = (source: string) => (/^https?:\/\//.test(source) ? source : resolve(source));

/** The logs a trusted root names: origin and SHA-256 of the log's public key (SPKI DER), to check and pin. */
function rootFingerprints(root: unknown): Array<{ origin: string; keySha256: string }> {
  const tlogs = (root as { tlogs?: unknown } | null)?.tlogs;
  if (!Array.isArray(tlogs)) return [];
  return tlogs.slice(0, 8).flatMap((t: { baseUrl?: unknown; publicKey?: { rawBytes?: unknown } }) => {
    if (typeof t?.publicKey?.rawBytes !== 'string') return [];
    const origin = typeof t.baseUrl === 'string' ? t.baseUrl.replace(/^https?:\/\//, '').replace(/\/+$/, '') : '?';
    return [{ origin: origin.slice(0, 200), keySha256: createHash('sha256').update(Buffer.from(t.publicKey.rawBytes, 'base64')).digest('hex') }];
  });
}

/** What the caller expects besides what the evidence is about: its policy, clock, newest checkpoint seen, maximum age and witnesses. */
async function callerExpectations(
  opts: { policy?: string; maxAge?: string; trustedCheckpoint?: string; witness?: string[]; witnessesRequired?: string },
  defaultMaxAge?: string,
): Promise<{ seen: Awaited<ReturnType<typeof newestSeen>>; expect: CommonExpectations }> {
  const policy = await callerPolicy(opts.policy);
  const maxAge = opts.maxAge ?? defaultMaxAge;
  const maxAgeSeconds = maxAge === 'none' ? undefined : parseDuration('--max-age', maxAge);
  const seen = await newestSeen(opts.trustedCheckpoint);
  const witnesses = callerWitnesses(opts.witness, opts.witnessesRequired);
  return { seen, expect: { policy, now: Math.floor(Date.now() / 1000), ...(seen && { newestSeen: seen }), ...(maxAgeSeconds !== undefined && { maxAgeSeconds }), ...(witnesses && { witnesses }) } };
}

/** After a verification: the newest checkpoint moves forward, the result is printed, the outcome is the exit code. */
async function settle<R extends VerifiedDevice | VerifiedFirmware>(
  r: R,
  opts: { trustedCheckpoint?: string; json?: boolean },
  seen: { size: number } | undefined,
  print: (r: R, extra: string[]) => void,
  json: (r: R) => Record<string, unknown>,
  extra: string[],
): Promise<void> {
  await rememberCheckpoint(opts.trustedCheckpoint, seen, r);
  if (opts.json) printJson(json(r));
  else print(r, extra);
  process.exitCode = OUTCOME_EXIT[r.outcome];
}

export interface VerifyEvidenceOptions {
  udi?: string;
  firmware?: string;
  model?: string;
  trustedRoot: string;
  policy?: string;
  trustedCheckpoint?: string;
  maxAge?: string;
  witness?: string[];
  witnessesRequired?: string;
  json?: boolean;
}

/** Offline: the same verification as verify-device, from a saved package. */
export async function verifyEvidenceCommand(file: string, opts: VerifyEvidenceOptions): Promise<void> {
  if ((opts.udi === undefined) === (opts.firmware === undefined)) throw new CliError('give the device (--udi) or the firmware image (--firmware with --model) the evidence must be about');
  if (opts.firmware !== undefined && opts.model === undefined) throw new CliError("--firmware needs --model, the model's GTIN-14 (14 digits)");
  if (opts.model !== undefined) callerModel(opts.model);
  if (opts.udi === undefined && opts.model !== undefined && opts.firmware === undefined) throw new CliError('--model goes with --firmware');
  const udi = opts.udi === undefined ? undefined : callerUdi(opts.udi);
  const { seen, expect } = await callerExpectations(opts);
  const sha256 = opts.firmware === undefined ? undefined : await hashFile(opts.firmware);
  const pkg = await readJsonFile(file, 'evidence');
  const root = await loadTrustedRoot(opts.trustedRoot);
  const offline = ['  evidence verified offline'];
  try {
    if (udi !== undefined) await settle(verifyEvidence(pkg, root, { udi, ...expect }), opts, seen, printVerified, (r) => verifiedJson(r, { udi: r.udi }), offline);
    else await settle(verifyFirmwareEvidence(pkg, root, { firmware: { sha256: sha256!, model: opts.model! }, ...expect }), opts, seen, (r, extra) => printFirmware(opts.firmware!, r, extra), (r) => verifiedJson(r, { firmware: firmwareJson(opts.firmware!, r) }), offline);
  } catch (e) {
    if (e instanceof EvidenceError) return notVerified(e, opts.json, udi !== undefined ? 'do not deploy' : 'do not flash');
    throw e;
  }
}

export interface AffectedOptions {
  server: string;
  lot?: string;
  partSerial?: string;
  firmwareDigest?: string;
  purl?: string;
  range?: string;
  json?: boolean;
}

/** Exit code of `affected` when the ledger has no record at all of what was named (likely a typo): the gates' UNKNOWN. */
export const EXIT_NOT_FOUND = OUTCOME_EXIT.UNKNOWN;

/** Lots and part serials as the ledger files them: "<supplier>:<part>:<id>" (the server's own check). */
const PART_KEY = /^[A-Za-z0-9._\-/]{1,64}:[A-Za-z0-9._\-/]{1,64}:[A-Za-z0-9._\-/]{1,64}$/;
/** Lookups asked at most to suggest a key (in requests of LOOKUPS_PER_REQUEST, under the server's alias limit). */
const MAX_CANDIDATES = 40;
const LOOKUPS_PER_REQUEST = 20;

/** How many log entries the ledger files under each key (its verifiable index), in a bounded number of requests. */
async function entriesUnder(server: string, keys: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < keys.length; i += LOOKUPS_PER_REQUEST) {
    const chunk = keys.slice(i, i + LOOKUPS_PER_REQUEST);
    const query = `query (${chunk.map((_, j) => `$k${j}: String!`).join(', ')}) { ${chunk.map((_, j) => `k${j}: lookup(key: $k${j}) { indexes }`).join(' ')} }`;
    const data = await graphql<Record<string, { indexes: number[] }>>(server, query, Object.fromEntries(chunk.map((k, j) => [`k${j}`, k])));
    chunk.forEach((k, j) => counts.set(k, data[`k${j}`]?.indexes.length ?? 0));
  }
  return counts;
}

/**
 * Keys a person likely meant by a lot or part serial the ledger does not know: the same with the
 * supplier's namespace added (from the registered suppliers) or differing only by case (the
 * registered participant ids; the part and id as given, in capitals or in lower case).
 */
function candidates(value: string, participants: ReadonlyArray<{ id: string; roles: string[] }>): string[] {
  const parts = value.split(':');
  const cases = (x: string) => [...new Set([x, x.toUpperCase(), x.toLowerCase()])];
  const out: string[] = [];
  if (parts.length === 3) {
    const [supplier, part, id] = parts as [string, string, string];
    const suppliers = [...new Set([supplier, ...participants.filter((p) => p.id.toLowerCase() === supplier.toLowerCase()).map((p) => p.id)])];
    for (const s of suppliers) for (const p of cases(part)) for (const i of cases(id)) out.push(`${s}:${p}:${i}`);
  } else if (parts.length === 2) {
    const [part, id] = parts as [string, string];
    const suppliers = participants.filter((p) => p.roles.includes('supplier')).map((p) => p.id);
    // Exactly as given under each supplier first, then the case variants.
    for (const s of suppliers) out.push(`${s}:${part}:${id}`);
    for (const p of cases(part)) for (const i of cases(id)) for (const s of suppliers) out.push(`${s}:${p}:${i}`);
  }
  return [...new Set(out)].filter((c) => c !== value && PART_KEY.test(c)).slice(0, MAX_CANDIDATES);
}

/** The keys among the candidates the ledger has entries under ("did you mean"), or [] when it cannot say. */
async function suggest(server: string, kind: 'lot' | 'partSerial', value: string): Promise<string[]> {
  try {
    const { participants } = await graphql<{ participants: Array<{ id: string; roles: string[] }> }>(server, '{ participants { id roles } }');
    const tried = candidates(value, participants);
    if (tried.length === 0) return [];
    const counts = await entriesUnder(server, tried.map((c) => lookupKey(kind, c)));
    return tried.filter((c) => (counts.get(lookupKey(kind, c)) ?? 0) > 0).slice(0, 5);
  } catch {
    return [];
  }
}

export async function affectedCommand(opts: AffectedOptions): Promise<void> {
  serverUrl(opts.server);
  if (opts.range !== undefined && opts.purl === undefined) throw new CliError('--range goes with --purl (a package URL without a version)');
  const given = [opts.lot, opts.partSerial, opts.firmwareDigest, opts.purl].filter((v) => v !== undefined).length;
  if (given !== 1) throw new CliError('give exactly one of --lot, --part-serial, --firmware-digest or --purl');
  // A digest as verify-firmware prints it ("sha256:…") or in capitals is the same digest.
  const firmwareDigest = opts.firmwareDigest?.trim().replace(/^sha256:/i, '').toLowerCase();
  if (firmwareDigest !== undefined && !/^[0-9a-f]{64}$/.test(firmwareDigest)) throw new CliError(`--firmware-digest must be a SHA-256: 64 hex digits, optionally after "sha256:", not ${terminalSafe(JSON.stringify(opts.firmwareDigest!.slice(0, 80)))}`);
  let pkg: string | undefined;
  if (opts.purl !== undefined) {
    try {
      pkg = componentQuery(opts.purl, opts.range).package;
    } catch (e) {
      throw new CliError(`${/range/.test((e as Error).message) && opts.range !== undefined ? '--range' : '--purl'}: ${(e as Error).message}`);
    }
  }
  // What is looked up, normalised as the ledger files it: the option, the value and the index key.
  const lot = opts.lot?.trim();
  const partSerial = opts.partSerial?.trim();
  const part = lot !== undefined ? { option: '--lot', kind: 'lot' as const, what: 'lot', value: lot } : partSerial !== undefined ? { option: '--part-serial', kind: 'partSerial' as const, what: 'part serial', value: partSerial } : undefined;
  if (part && !PART_KEY.test(part.value)) {
    const meant = await suggest(opts.server, part.kind, part.value);
    const shape = `<supplier>:<part>:<${part.kind === 'lot' ? 'lot' : 'serial'}>`;
    const missing = part.value.split(':').length === 2 ? ' (the supplier is missing)' : '';
    throw new CliError(`${part.option} ${terminalSafe(JSON.stringify(part.value.slice(0, 200)))}: a ${part.what} is ${shape}, e.g. valveco:VALVE-7:L78${missing}${meant.length ? `; did you mean ${meant.join(' or ')}?` : ''}`, EXIT_ERROR_CODE, 'INVALID_ARGUMENT', { lookedUp: lookupKey(part.kind, part.value), didYouMean: meant });
  }
  type Row = { udi: string; installations: Array<{ summary: { site?: { name?: string; department?: string } } }>; firmware: Array<{ name: string; version?: string; sha256: string; components: string[] }> };
  const data = await graphql<{ affectedDevices: Row[] }>(
    opts.server,
    'query ($l: String, $p: String, $f: String, $u: String, $r: String) { affectedDevices(lot: $l, partSerial: $p, firmwareDigest: $f, purl: $u, range: $r) { udi installations firmware } }',
    { l: lot ?? null, p: partSerial ?? null, f: firmwareDigest ?? null, u: opts.purl ?? null, r: opts.range ?? null },
  );
  const n = data.affectedDevices.length;
  // Nothing matched: does the ledger know what was named at all? One bounded lookup (and, for a
  // lot or part serial it does not know, the keys it likely meant). Unknown: exit 5, not "0 devices".
  let known: string | undefined;
  if (n === 0) {
    const keys = part ? [lookupKey(part.kind, part.value)] : firmwareDigest !== undefined ? [lookupKey('sha256', firmwareDigest), lookupKey('fitted', firmwareDigest)] : [lookupKey('purl', pkg!)];
    const named = part ? `${part.what} ${part.value}` : firmwareDigest !== undefined ? `firmware image sha256:${firmwareDigest}` : `package ${pkg}`;
    let counts: Map<string, number> | undefined;
    try {
      counts = await entriesUnder(opts.server, keys);
    } catch (e) {
      process.stderr.write(`pedigree: could not check whether the ledger knows ${terminalSafe(named)}: ${terminalSafe((e as Error).message)}\n`);
    }
    const entries = counts ? keys.reduce((a, k) => a + (counts!.get(k) ?? 0), 0) : undefined;
    if (entries === 0) {
      const meant = part ? await suggest(opts.server, part.kind, part.value) : [];
      throw new CliError(
        `the ledger has no record of ${terminalSafe(named)} (looked up ${terminalSafe(keys.join(' and '))}), so no device is known to ${part ? 'contain' : 'run'} it${meant.length ? `; did you mean ${terminalSafe(meant.join(' or '))}?` : ''}`,
        EXIT_NOT_FOUND,
        'NOT_FOUND',
        { lookedUp: keys.length === 1 ? keys[0] : keys, didYouMean: meant },
      );
    }
    if (entries !== undefined) known = `(the ledger has ${entries} entr${entries === 1 ? 'y' : 'ies'} about ${named}; no device ${part ? "contains it in its latest assembly" : 'runs it now'})`;
  }
  if (opts.json) return printJson(data.affectedDevices);
  const asked =
    opts.purl !== undefined
      ? `run firmware with ${opts.purl}${opts.range ? ` in ${opts.range}` : ''}`
      : firmwareDigest !== undefined
        ? `run firmware sha256:${firmwareDigest}`
        : `contain ${part!.value}`;
  process.stdout.write(`${n} device(s) ${terminalSafe(asked)}\n`);
  if (known) process.stdout.write(`${terminalSafe(known)}\n`);
  for (const d of data.affectedDevices) {
    const site = d.installations[d.installations.length - 1]?.summary.site;
    const fw = d.firmware.map((f) => `${f.name} ${f.version ?? f.sha256.slice(0, 12)}${f.components.length ? ` (${f.components.join(', ')})` : ''}`).join('; ');
    process.stdout.write(`  ${terminalSafe(d.udi)}\t${site ? terminalSafe(`${site.name}${site.department ? `, ${site.department}` : ''}`) : 'not installed'}${fw ? `\t${terminalSafe(fw)}` : ''}\n`);
  }
  process.stdout.write("(the ledger's answer, not verified here: check each device with verify-device before acting on it)\n");
}

export interface VerifyFirmwareOptions extends Omit<VerifyDeviceOptions, 'udi'> {
  model: string;
}

/**
 * The update gate: hashes the image here (nothing is uploaded), fetches the ledger's evidence
 * about that digest for the model, verifies it locally against what the caller expects — this
 * image, this model, this policy, now — and applies the update policy.
 */
export async function verifyFirmwareCommand(file: string, opts: VerifyFirmwareOptions): Promise<void> {
  serverUrl(opts.server);
  callerModel(opts.model);
  const sha256 = await hashFile(file);
  await runGate(
    opts,
    (policy, f) =>
      graphql<{ firmwareImage?: { evidence?: EvidencePackage } | null }>(opts.server, 'query ($s: String!, $m: String!, $p: JSON, $f: Int) { firmwareImage(sha256: $s, model: $m) { evidence(policy: $p, fromSize: $f) } }', { s: sha256, m: opts.model, p: policy, f: f ?? null }).then(
        (d) => d?.firmwareImage?.evidence ?? undefined,
      ),
    (pkg, root, expect) => verifyFirmwareEvidence(pkg, root, { firmware: { sha256, model: opts.model }, ...expect }),
    (r, extra) => printFirmware(file, r, extra),
    (r) => verifiedJson(r, { firmware: firmwareJson(file, r) }),
    'do not flash',
  );
}

function callerModel(model: string): string {
  try {
    return checkModelGtin(model);
  } catch (e) {
    throw new CliError(`--model: ${(e as Error).message}`);
  }
}

function firmwareJson(file: string, r: VerifiedFirmware): Record<string, unknown> {
  const known = r.outcome !== 'UNKNOWN';
  return { file: resolve(file), ...r.firmware, name: known ? r.graph.firmware.name : null, version: known ? (r.graph.firmware.version ?? null) : null, releasedBy: countedReleasers(r.graph, r.evaluation) };
}

/** What was verified about the image, in words; every line comes from the verified bundles. */
function printFirmware(file: string, r: VerifiedFirmware, extra: string[]): void {
  const t = terminalSafe;
  const f = r.graph.firmware;
  const lines = [`${r.outcome}  ${t(file)}  — ${FIRMWARE_MEANING[r.outcome]}`, `  image      sha256:${r.firmware.sha256}`, `  model      ${r.firmware.model}`];
  if (r.outcome === 'UNKNOWN') lines.push('  nothing in the ledger names this image');
  else lines.push(`  firmware   ${t(f.name)} ${t(f.version ?? '')}, released for this model by ${t(countedReleasers(r.graph, r.evaluation).join(', ') || 'no one')}`);
  for (const rc of r.recalls) lines.push(`  recall     ${t(rc.id)}: ${t(rc.title)}${rc.action ? ` — ${t(rc.action)}` : ''}`);
  for (const x of r.outcome === 'UNKNOWN' ? [] : r.evaluation.findings) lines.push(`  ${x.severity.toUpperCase().padEnd(10)} ${x.code}: ${t(x.message)}${x.entries.length ? ` [entries ${x.entries.join(', ')}]` : ''}`);
  if (r.evaluation.findings.length === 0 && r.outcome === 'PASS') lines.push('  released for this model, built, described, tested; nothing blocks it');
  lines.push(`  policy     ${t(r.policy.name)} (sha256 ${r.policy.digest.slice(0, 16)}…)`, `  checked    against checkpoint ${r.checkpoint.size} of ${t(r.checkpoint.origin)}, ${r.bundles} bundles verified`);
  for (const w of r.witnesses) lines.push(`  witness    ${t(w.name)} cosigned it at ${new Date(w.time * 1000).toISOString()}`);
  process.stdout.write(`${[...lines, ...extra].join('\n')}\n`);
}

const FIRMWARE_MEANING: Record<Outcome, string> = {
  PASS: 'may be flashed onto this model under your policy',
  FAIL: 'do not flash',
  INCOMPLETE: 'required evidence is missing; do not flash yet',
  RECALLED: 'recalled; do not flash',
  UNKNOWN: 'this ledger has no record of this image: not a released build (or a damaged file); do not flash',
};

/** SHA-256 of a file, streamed. */
async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    throw new CliError(`cannot read firmware image ${file}: ${whyUnreadable(e)}`);
  }
  return h.digest('hex');
}
