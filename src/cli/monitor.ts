/**
 * A monitor: fetches the log's checkpoint, checks its signature against the pinned trusted root,
 * and proves it consistent with the last checkpoint it saw (kept in a state file). A log that
 * rewrote or forked its history is reported and the command exits 1.
 */
import { createPublicKey } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { graphql } from '../client/graphql.js';
import { openCheckpoint, verifyConsistency, type Checkpoint } from '../log/index.js';
import { ed25519NoteVerifier } from '../crypto/node.js';
import { loadTrustedRoot } from './attest.js';
import { CliError, parsePositive, printJson } from './util.js';

interface State {
  origin: string;
  size: number;
  root: string;
  checkpoint: string;
}

export interface MonitorOptions {
  server: string;
  trustedRoot: string;
  state: string;
  interval: string;
  once?: boolean;
  json?: boolean;
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
    const tlog = root.tlogs?.find((t) => t.baseUrl?.includes(origin) && t.publicKey?.rawBytes);
    if (!tlog) throw new Inconsistent(`the trusted root does not name the log "${origin}"`);
    const key = createPublicKey({ key: Buffer.from(tlog.publicKey!.rawBytes!, 'base64'), format: 'der', type: 'spki' });
    let cp: Checkpoint;
    try {
      cp = openCheckpoint(note, ed25519NoteVerifier(origin, key));
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
    const state: State = { origin, size: cp.size, root: root64, checkpoint: note };
    await writeFile(`${statePath}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    await rename(`${statePath}.tmp`, statePath);
    report({ consistent: true, origin, size: cp.size, previousSize: prev?.size ?? null, root: root64 }, prev ? `OK ${origin}: ${prev.size} -> ${cp.size} entries, consistent` : `OK ${origin}: ${cp.size} entries (first checkpoint recorded)`);
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

