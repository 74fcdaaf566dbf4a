import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { graphql } from '../client/graphql.js';
import { parseCheckpoint, parseNote } from '../log/index.js';
import { EvidenceError, verifyEvidence, type EvidencePackage } from '../provenance/evidence.js';
import { type Evaluation, type Verdict } from '../provenance/policy.js';
import { parsePolicy } from '../provenance/policy-io.js';
import { normaliseDeviceUdi } from '../udi/udi.js';
import { loadTrustedRoot } from './attest.js';
import { CliError, EXIT_ERROR, printJson } from './util.js';

export const VERDICT_EXIT: Record<Verdict, number> = { PASS: 0, FAIL: 1, INCOMPLETE: 2 };

async function readJsonFile(path: string, what: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`cannot read ${what} ${path}`);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${what} ${path} is not valid JSON`);
  }
}

function printEvaluation(udi: string, e: Evaluation, extra: string[]): void {
  const lines = [`${e.verdict}  ${udi}  (policy: ${e.policy})`];
  for (const f of e.findings) lines.push(`  ${f.severity.toUpperCase().padEnd(10)} ${f.code}: ${f.message}${f.entries.length ? ` [entries ${f.entries.join(', ')}]` : ''}`);
  if (e.findings.length === 0) lines.push('  every required step is present, signed by allowed participants, and nothing blocks it');
  process.stdout.write(`${[...lines, ...extra].join('\n')}\n`);
}

async function trustedCheckpointOf(path: string | undefined): Promise<{ size: number; root: Uint8Array } | undefined> {
  if (!path) return undefined;
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`cannot read --trusted-checkpoint ${path}`);
  });
  try {
    const c = parseCheckpoint(parseNote(text).text);
    return { size: c.size, root: c.root };
  } catch (e) {
    throw new CliError(`--trusted-checkpoint: ${(e as Error).message}`);
  }
}

export interface VerifyDeviceOptions {
  server: string;
  udi: string;
  policy?: string;
  evidence?: string;
  trustedRoot?: string;
  trustedCheckpoint?: string;
  json?: boolean;
}

/**
 * The release gate: fetches the device's evidence package and re-derives the verdict locally,
 * proofs and signatures included, so the answer does not rest on trusting the server.
 * Exit 0 PASS, 1 FAIL, 2 INCOMPLETE, 3 error.
 */
export async function verifyDeviceCommand(opts: VerifyDeviceOptions): Promise<void> {
  let udi: string;
  try {
    udi = normaliseDeviceUdi(opts.udi);
  } catch (e) {
    throw new CliError(`--udi: ${(e as Error).message}`);
  }
  const policy = opts.policy ? (() => {
    return readJsonFile(opts.policy!, '--policy').then((p) => {
      try {
        return parsePolicy(p);
      } catch (e) {
        throw new CliError(`--policy: ${(e as Error).message}`);
      }
    });
  })() : Promise.resolve(undefined);
  const trusted = await trustedCheckpointOf(opts.trustedCheckpoint);
  const root = await loadTrustedRoot(opts.trustedRoot ?? new URL('/trusted_root.json', opts.server).toString());
  const data = await graphql<{ device: { evidence: EvidencePackage } }>(
    opts.server,
    'query ($u: String!, $p: JSON, $f: Int) { device(udi: $u) { evidence(policy: $p, fromSize: $f) } }',
    { u: udi, p: (await policy) ?? null, f: trusted?.size ?? null },
  );
  const pkg = data.device.evidence;
  if (opts.evidence) await writeFile(resolve(opts.evidence), `${JSON.stringify(pkg, null, 2)}\n`);
  let result;
  try {
    result = verifyEvidence(pkg, root, trusted ? { trustedCheckpoint: trusted } : {});
  } catch (e) {
    if (e instanceof EvidenceError) throw new CliError(`the server's evidence does not verify: ${e.message} (${e.code})`, EXIT_ERROR);
    throw e;
  }
  const extra = [`  verified locally: ${result.bundles} bundles against checkpoint of size ${result.treeSize}`];
  if (opts.evidence) extra.push(`  evidence package written to ${resolve(opts.evidence)}`);
  if (opts.json) printJson({ udi, ...result.evaluation, treeSize: result.treeSize, bundles: result.bundles });
  else printEvaluation(udi, result.evaluation, extra);
  process.exitCode = VERDICT_EXIT[result.evaluation.verdict];
}

export interface VerifyEvidenceOptions {
  trustedRoot: string;
  trustedCheckpoint?: string;
  json?: boolean;
}

/** Offline: exit 0 PASS, 1 FAIL, 2 INCOMPLETE; 3 when the package does not verify. */
export async function verifyEvidenceCommand(file: string, opts: VerifyEvidenceOptions): Promise<void> {
  const pkg = await readJsonFile(file, 'evidence');
  const root = await loadTrustedRoot(opts.trustedRoot);
  const trusted = await trustedCheckpointOf(opts.trustedCheckpoint);
  try {
    const r = verifyEvidence(pkg, root, trusted ? { trustedCheckpoint: trusted } : {});
    if (opts.json) printJson({ valid: true, udi: r.udi, ...r.evaluation, treeSize: r.treeSize, bundles: r.bundles });
    else printEvaluation(r.udi, r.evaluation, [`  evidence verified offline: ${r.bundles} bundles against checkpoint of size ${r.treeSize}`]);
    process.exitCode = VERDICT_EXIT[r.evaluation.verdict];
  } catch (e) {
    if (!(e instanceof EvidenceError)) throw e;
    if (opts.json) printJson({ valid: false, code: e.code, message: e.message });
    else process.stdout.write(`INVALID EVIDENCE: ${e.message} (${e.code})\n`);
    process.exitCode = EXIT_ERROR;
  }
}

export async function affectedCommand(opts: { server: string; lot?: string; partSerial?: string; firmwareDigest?: string; json?: boolean }): Promise<void> {
  const data = await graphql<{ affectedDevices: Array<{ udi: string; installations: Array<{ summary: { site?: { name?: string; department?: string } } }> }> }>(
    opts.server,
    'query ($l: String, $p: String, $f: String) { affectedDevices(lot: $l, partSerial: $p, firmwareDigest: $f) { udi installations } }',
    { l: opts.lot ?? null, p: opts.partSerial ?? null, f: opts.firmwareDigest ?? null },
  );
  if (opts.json) return printJson(data.affectedDevices);
  process.stdout.write(`${data.affectedDevices.length} device(s) affected\n`);
  for (const d of data.affectedDevices) {
    const site = d.installations[d.installations.length - 1]?.summary.site;
    process.stdout.write(`  ${d.udi}\t${site ? `${site.name}${site.department ? `, ${site.department}` : ''}` : 'not installed'}\n`);
  }
}
