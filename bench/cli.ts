/**
 * CLI start-up against `node -e 0` measured in the same run: `pedigree --help`, and
 * `pedigree verify-evidence` on a saved evidence package (as a hospital runs it, offline). Each
 * command is run once to warm caches (tsx's transform cache among them), then `runs` times; the
 * medians are compared.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { median, round } from './common.js';

export const BIN = join(import.meta.dirname, '..', 'bin', 'pedigree.js');

export interface CliBenchResult {
  runs: number;
  nodeMs: number;
  helpMs: number;
  /** helpMs ÷ nodeMs. */
  helpRatio: number;
  verifyEvidenceMs: number;
  /** verifyEvidenceMs ÷ nodeMs. */
  verifyEvidenceRatio: number;
  /** verify-evidence's exit code (0: PASS). */
  verifyEvidenceExit: number;
  /** Attestations in the package verified. */
  packageBundles: number;
}

function time(args: string[], runs: number): { ms: number; status: number } {
  const once = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.error) throw r.error;
    return { ms: performance.now() - t0, status: r.status ?? -1, stderr: r.stderr };
  };
  const first = once();
  const times: number[] = [];
  let status = first.status;
  for (let i = 0; i < runs; i++) {
    const r = once();
    times.push(r.ms);
    status = r.status;
  }
  return { ms: median(times), status };
}

/** `evidenceDir` holds evidence.json, trusted_root.json and udi.txt (from benchDevice's saveTo). */
export function benchCli(evidenceDir: string, runs = 5): CliBenchResult {
  const node = time(['-e', '0'], runs);
  const help = time([BIN, '--help'], runs);
  if (help.status !== 0) throw new Error(`pedigree --help exited with ${help.status}`);
  const pkg = join(evidenceDir, 'evidence.json');
  const udi = readFileSync(join(evidenceDir, 'udi.txt'), 'utf8');
  const verify = time([BIN, 'verify-evidence', pkg, '--udi', udi, '--trusted-root', join(evidenceDir, 'trusted_root.json'), '--json'], runs);
  return {
    runs,
    nodeMs: round(node.ms, 1),
    helpMs: round(help.ms, 1),
    helpRatio: round(help.ms / node.ms),
    verifyEvidenceMs: round(verify.ms, 1),
    verifyEvidenceRatio: round(verify.ms / node.ms),
    verifyEvidenceExit: verify.status,
    packageBundles: (JSON.parse(readFileSync(pkg, 'utf8')) as { bundles: unknown[] }).bundles.length,
  };
}
