/**
 * A monitor: fetches the log's checkpoint, checks its signature against the pinned trusted root,
 * and proves it consistent with the last checkpoint it saw (kept in a state file). A log that
 * rewrote or forked its history is reported and the command exits 1.
 *
 * With --audit it also audits the verifiable index (vindex/audit.ts): it reads every new entry,
 * rebuilds the index with the ledger's map function and compares the root each checkpoint
 * commits. On a difference it asks the ledger for the lists of the keys it rebuilt and names
 * the key whose list differs. Progress is kept in the state file.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClientError, CLIENT_TIMEOUT_MS, graphql } from '../client/graphql.js';
import { HASH_SIZE, TILE_WIDTH, consistencyRanges, openCheckpoint, rangeHash, tilePath, tileWidth, verifyConsistency, type Checkpoint } from '../log/index.js';
import { AuditError, auditIndex, type AuditState } from '../vindex/audit.js';
import { trustedLog } from '../verify/trust.js';
import { CliError, EXIT_ERROR, loadTrustedRoot, parsePositive, terminalSafe } from './util.js';

interface State {
  origin: string;
  size: number;
  root: string;
  checkpoint: string;
  /** --audit progress: entries read, the compact range of their tree, and the index rebuilt. */
  audit?: AuditState;
}

export interface MonitorOptions {
  server: string;
  trustedRoot: string;
  state: string;
  interval: string;
  once?: boolean;
  audit?: boolean;
  json?: boolean;
}

/**
 * Audits up to `cp` (vindex/audit.ts); when the rebuilt root differs, asks the ledger for the
 * lists of the keys this run touched, then the rest, and names the key whose list differs.
 */
async function audit(server: string, cp: Checkpoint, prev: AuditState | undefined, progress: (done: number) => void): Promise<AuditState & { read: number }> {
  let r;
  try {
    r = await auditIndex(server, cp, prev && { state: prev }, progress);
  } catch (e) {
    if (e instanceof AuditError && e.code === 'AUDIT_FAILED') throw new Inconsistent(e.message);
    if (e instanceof AuditError) throw new CliError(e.message);
    throw e;
  }
  if (!r.matches) {
    const lists = r.state.lists;
    const keys = [...r.changed, ...Object.keys(lists).filter((k) => !r.changed.includes(k))].slice(0, 2000);
    for (const key of keys) {
      const d = await graphql<{ lookup: { indexes: number[] } }>(server, 'query ($k: String!) { lookup(key: $k) { indexes } }', { k: key }).catch(() => undefined);
      const served = d?.lookup.indexes.filter((i) => i < cp.size);
      const want = lists[key]!;
      if (!served || served.length !== want.length || served.some((v, i) => v !== want[i])) {
        const lost = want.filter((i) => !served?.includes(i));
        throw new Inconsistent(
          `the index committed at size ${cp.size} is not the one its entries make: for ${key} the log's entries give [${want.slice(0, 10).join(', ')}${want.length > 10 ? ', …' : ''}]` +
            (served ? `, the ledger lists [${served.slice(0, 10).join(', ')}${served.length > 10 ? ', …' : ''}]${lost.length ? ` (entries ${lost.slice(0, 10).join(', ')} left out)` : ''}` : ', and the ledger does not answer for it'),
        );
      }
    }
    throw new Inconsistent(`the index committed at size ${cp.size} is not the one its entries make (every list the ledger serves matches, so it holds keys no entry is filed under)`);
  }
  return { ...r.state, read: r.read };
}

/**
 * The consistency proof from `from` to `to` built from the log's hash tiles (C2SP tlog-tiles),
 * for a log served as static files (pedigree export-tiles), which answers no GraphQL. Each tile
 * is read at the width a tree of `to` has it, and no more than that many bytes.
 */
async function consistencyFromTiles(server: string, from: number, to: number): Promise<Uint8Array[]> {
  const read = async (level: number, index: number): Promise<Uint8Array> => {
    const width = tileWidth(to, level, index);
    const path = tilePath(width === TILE_WIDTH ? { level, index } : { level, index, width });
    const res = await fetch(new URL(`/${path}`, server), { signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) }).catch((e: Error) => {
      throw new CliError(`cannot reach ${server}: ${e.message}`, EXIT_ERROR, 'SERVER_UNREACHABLE');
    });
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > width * HASH_SIZE) break;
      parts.push(chunk);
    }
    if (!res.ok || size !== width * HASH_SIZE) throw new CliError(`${server} serves no ${path} of ${width} hashes (HTTP ${res.status}), so the consistency proof cannot be built`, EXIT_ERROR, 'BAD_RESPONSE');
    return new Uint8Array(Buffer.concat(parts));
  };
  return Promise.all(consistencyRanges(from, to).map((r) => rangeHash(r, read)));
}

async function readState(path: string): Promise<State | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as State;
  } catch {
    throw new CliError(`${path} is not a monitor state file`);
  }
}

class Inconsistent extends Error {}

export async function monitorCommand(opts: MonitorOptions): Promise<void> {
  const interval = parsePositive('--interval', opts.interval);
  const root = (await loadTrustedRoot(opts.trustedRoot)) as { tlogs?: Array<{ baseUrl?: string; publicKey?: { rawBytes?: string } }> };
  const statePath = resolve(opts.state);
  // --json: one compact JSON object per line, so a watching monitor's output is a stream.
  const report = (event: Record<string, unknown>, line: string) => process.stdout.write(opts.json ? `${JSON.stringify(event)}\n` : `${new Date().toISOString()} ${line}\n`);

  const once = async (): Promise<void> => {
    const res = await fetch(new URL('/checkpoint', opts.server)).catch((e: Error) => {
      throw new CliError(`cannot reach ${opts.server}: ${e.message}`, EXIT_ERROR, 'SERVER_UNREACHABLE');
    });
    if (!res.ok) throw new CliError(`${opts.server} serves no checkpoint (HTTP ${res.status}): ${terminalSafe((await res.text()).slice(0, 200).trim())}`, EXIT_ERROR, 'BAD_RESPONSE');
    const note = await res.text();
    const origin = note.split('\n', 1)[0]!;
    // Exactly the log the trusted root names, as verifiers match it (a log named by a prefix is another log).
    let log;
    try {
      log = trustedLog(root, origin);
    } catch {
      throw new Inconsistent(`the trusted root does not name the log ${JSON.stringify(origin.slice(0, 100))}`);
    }
    let cp: Checkpoint;
    try {
      cp = openCheckpoint(note, log.verifier);
    } catch (e) {
      throw new Inconsistent(`the checkpoint does not verify: ${(e as Error).message}`);
    }
    const prev = await readState(statePath);
    const root64 = Buffer.from(cp.root).toString('base64');
    if (prev && prev.origin !== origin) throw new CliError(`${statePath} follows ${prev.origin}, not ${origin}`);
    if (prev && prev.size > cp.size) throw new Inconsistent(`the log shrank from ${prev.size} to ${cp.size} entries`);
    if (prev && prev.size === cp.size && prev.root !== root64) throw new Inconsistent(`fork: two different roots for size ${cp.size}`);
    if (prev && prev.size > 0 && prev.size < cp.size) {
      // The ledger's GraphQL proof; a log served as static files answers none: built from its tiles.
      const hashes = await graphql<{ consistencyProof: { hashes: string[] } }>(opts.server, 'query ($f: Int!, $t: Int!) { consistencyProof(fromSize: $f, toSize: $t) { hashes } }', { f: prev.size, t: cp.size }).then(
        (d) => d.consistencyProof.hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64'))),
        (e: unknown) => {
          if (e instanceof ClientError && e.code === 'BAD_RESPONSE') return consistencyFromTiles(opts.server, prev.size, cp.size);
          throw e;
        },
      );
      try {
        verifyConsistency(prev.size, cp.size, hashes, new Uint8Array(Buffer.from(prev.root, 'base64')), cp.root);
      } catch (e) {
        throw new Inconsistent(`size ${cp.size} is not consistent with size ${prev.size}: ${(e as Error).message}`);
      }
    }
    let audited: (AuditState & { read: number }) | undefined;
    if (opts.audit) {
      const started = Date.now();
      let last = started;
      audited = await audit(opts.server, cp, prev?.audit, (done) => {
        // Progress on long work, to stderr, at most every two seconds.
        if (!opts.json && Date.now() - last > 2000) {
          last = Date.now();
          process.stderr.write(`auditing: ${done} of ${cp.size} entries read\n`);
        }
      });
    }
    const state: State = { origin, size: cp.size, root: root64, checkpoint: note, ...(audited ? { audit: { size: audited.size, frontier: audited.frontier, lists: audited.lists } } : prev?.audit && { audit: prev.audit }) };
    await writeFile(`${statePath}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    await rename(`${statePath}.tmp`, statePath);
    const auditLine = audited ? `; index audited: ${audited.read} new entries read, ${Object.keys(audited.lists).length} keys, root matches` : '';
    report(
      { consistent: true, origin, size: cp.size, previousSize: prev?.size ?? null, root: root64, ...(audited && { audit: { read: audited.read, keys: Object.keys(audited.lists).length, indexRootMatches: true } }) },
      (prev ? `OK ${origin}: ${prev.size} -> ${cp.size} entries, consistent` : `OK ${origin}: ${cp.size} entries (first checkpoint recorded)`) + auditLine,
    );
  };

  for (;;) {
    try {
      await once();
    } catch (e) {
      if (!(e instanceof Inconsistent)) throw e;
      report({ consistent: false, problem: e.message }, `ALERT ${e.message}`);
      process.exitCode = 1;
      return;
    }
    if (opts.once) return;
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
}

