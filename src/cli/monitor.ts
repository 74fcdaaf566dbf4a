/**
 * A monitor: fetches the log's checkpoint, checks its signature against the pinned trusted root,
 * and proves it consistent with the last checkpoint it saw (kept in a state file). A log that
 * rewrote or forked its history is reported and the command exits 1.
 *
 * With --audit it also reads every new entry (C2SP entry bundles from /tile/entries/ and the
 * signed statements behind them from /vindex/payloads/), checks that the entries make up the
 * checkpoint's tree and that each statement is the one its entry logged, files each entry with
 * the same map function the ledger uses (vindex/keys.ts), and compares the rebuilt index root
 * with the one the checkpoint commits. On a difference it asks the ledger for the lists of the
 * keys it rebuilt and names the key whose list differs. Progress is kept in the state file.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { graphql } from '../client/graphql.js';
import { TILE_WIDTH, appendToFrontier, bytesEqual, leafHash, openCheckpoint, rootOfFrontier, sha256, tilePath, toHex, verifyConsistency, type Checkpoint } from '../log/index.js';
import type { Statement } from '../attest/statement.js';
import { lookupKeys } from '../vindex/keys.js';
import { VerifiableMap, indexRootOf, keyHash, valueHash } from '../vindex/map.js';
import { trustedLog } from '../verify/trust.js';
import { loadTrustedRoot } from './attest.js';
import { CliError, parsePositive, printJson } from './util.js';

interface State {
  origin: string;
  size: number;
  root: string;
  checkpoint: string;
  /** --audit progress: entries read, the compact range of their tree, and the index rebuilt. */
  audit?: { size: number; frontier: string[]; lists: Record<string, number[]> };
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

type Audit = NonNullable<State['audit']>;

/** Largest entry bundle (256 entries of at most 64 KiB) and largest statement tile read. */
const MAX_ENTRY_TILE = TILE_WIDTH * (2 + 0xffff);
const MAX_PAYLOAD_TILE = 512 * 1024 * 1024;

/** A tile, read up to `limit` bytes: a server cannot make the monitor hold more. */
async function fetchBytes(server: string, path: string, limit: number): Promise<Uint8Array> {
  const res = await fetch(new URL(path, server)).catch((e: Error) => {
    throw new CliError(`cannot reach ${server}: ${e.message}`);
  });
  if (!res.ok) throw new Inconsistent(`the log does not serve /${path.replace(/^\//, '')} (HTTP ${res.status})`);
  const tooLarge = () => new Inconsistent(`the log serves more than ${limit} bytes at /${path.replace(/^\//, '')}`);
  if (Number(res.headers.get('content-length') ?? 0) > limit) throw tooLarge();
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
}

/** Splits length-prefixed records (prefix of `width` bytes, big-endian). */
function records(bytes: Uint8Array, width: 2 | 4, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    if (at + width > bytes.length) throw new Inconsistent(`${what} is truncated`);
    const n = width === 2 ? view.getUint16(at) : view.getUint32(at);
    if (at + width + n > bytes.length) throw new Inconsistent(`${what} is truncated`);
    out.push(bytes.subarray(at + width, at + width + n));
    at += width + n;
  }
  return out;
}

/**
 * Reads entries [audit.size, cp.size), checks them against the checkpoint and files them; then
 * compares the rebuilt index root with the committed one. Returns the new audit state.
 */
async function audit(server: string, cp: Checkpoint, prev: Audit | undefined, progress: (done: number) => void): Promise<Audit & { read: number }> {
  const state: Audit = prev ? structuredClone(prev) : { size: 0, frontier: [], lists: {} };
  const frontier = state.frontier.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
  const start = state.size;
  const changed = new Set<string>();
  for (let tile = Math.floor(start / TILE_WIDTH); tile * TILE_WIDTH < cp.size; tile++) {
    const end = Math.min(cp.size, (tile + 1) * TILE_WIDTH);
    const width = end - tile * TILE_WIDTH;
    const id = { level: 'entries' as const, index: tile, ...(width < TILE_WIDTH && { width }) };
    const path = tilePath(id);
    const [entries, payloads] = await Promise.all([fetchBytes(server, `/${path}`, MAX_ENTRY_TILE), fetchBytes(server, `/vindex/payloads/${path.slice('tile/entries/'.length)}`, MAX_PAYLOAD_TILE)]);
    const es = records(entries, 2, `entry bundle ${tile}`);
    const ps = records(payloads, 4, `payload tile ${tile}`);
    if (es.length !== width || ps.length !== width) throw new Inconsistent(`tile ${tile} holds ${es.length} entries and ${ps.length} statements, not ${width}`);
    for (let i = Math.max(0, state.size - tile * TILE_WIDTH); i < width; i++) {
      const index = tile * TILE_WIDTH + i;
      appendToFrontier(frontier, index, leafHash(es[i]!));
      let body: { spec?: { payloadHash?: { value?: unknown } } };
      let statement: Statement;
      try {
        body = JSON.parse(Buffer.from(es[i]!).toString('utf8'));
        statement = JSON.parse(Buffer.from(ps[i]!).toString('utf8')) as Statement;
      } catch {
        throw new Inconsistent(`entry ${index} or its statement is not JSON`);
      }
      if (body.spec?.payloadHash?.value !== toHex(sha256(ps[i]!))) throw new Inconsistent(`entry ${index}: the statement the log serves is not the one its entry logged`);
      for (const key of lookupKeys(statement)) {
        (state.lists[key] ??= []).push(index);
        changed.add(key);
      }
      state.size = index + 1;
    }
    progress(state.size);
  }
  if (!bytesEqual(rootOfFrontier(frontier), cp.root)) throw new Inconsistent(`the entries the log serves do not make up the tree its checkpoint of size ${cp.size} commits`);
  state.frontier = frontier.map((h) => Buffer.from(h).toString('base64'));
  const committed = indexRootOf(cp.extensions);
  if (!committed) throw new Inconsistent(`the checkpoint of size ${cp.size} commits no verifiable index`);
  const map = new VerifiableMap();
  for (const [key, list] of Object.entries(state.lists)) map.set(keyHash(key), valueHash(list));
  if (!bytesEqual(map.root, committed)) {
    // Name the key: ask the ledger for the lists of keys this run touched, then the rest.
    const keys = [...changed, ...Object.keys(state.lists).filter((k) => !changed.has(k))].slice(0, 2000);
    for (const key of keys) {
      const d = await graphql<{ lookup: { indexes: number[] } }>(server, 'query ($k: String!) { lookup(key: $k) { indexes } }', { k: key }).catch(() => undefined);
      const served = d?.lookup.indexes.filter((i) => i < cp.size);
      const want = state.lists[key]!;
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
  return { ...state, read: state.size - start };
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
  const report = (event: Record<string, unknown>, line: string) => (opts.json ? printJson(event) : process.stdout.write(`${new Date().toISOString()} ${line}\n`));

  const once = async (): Promise<void> => {
    const res = await fetch(new URL('/checkpoint', opts.server)).catch((e: Error) => {
      throw new CliError(`cannot reach ${opts.server}: ${e.message}`);
    });
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
      const { consistencyProof } = await graphql<{ consistencyProof: { hashes: string[] } }>(opts.server, 'query ($f: Int!, $t: Int!) { consistencyProof(fromSize: $f, toSize: $t) { hashes } }', { f: prev.size, t: cp.size });
      try {
        verifyConsistency(prev.size, cp.size, consistencyProof.hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64'))), new Uint8Array(Buffer.from(prev.root, 'base64')), cp.root);
      } catch (e) {
        throw new Inconsistent(`size ${cp.size} is not consistent with size ${prev.size}: ${(e as Error).message}`);
      }
    }
    let audited: (Audit & { read: number }) | undefined;
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

