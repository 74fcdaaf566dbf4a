/**
 * `pedigree backup` / `pedigree restore` (issue 13), against the real CLI, a real `pedigree serve`
 * on 127.0.0.1 and real LevelDB: a backup taken while submitters keep the ledger busy holds one
 * committed state (its root is the source's root at that size), restores to a ledger that opens,
 * audits clean and still verifies a receipt issued before the backup; refusals change nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/app.js';
import { signStatement } from '../../src/attest/sign.js';
import { submitBundle } from '../../src/client/graphql.js';
import { readPrivateKey } from '../../src/keys.js';
import { openCheckpoint, verifyConsistency, verifyInclusion } from '../../src/log/index.js';
import { ed25519NoteVerifier } from '../../src/crypto/node.js';
import { startServer } from '../../src/server/http.js';
import { requestSnapshot } from '../../src/store/backup.js';
import { indexKey } from '../../src/store/store.js';
import { spkiPem } from '../../src/trust/keys.js';
import { componentStatement, party, register } from '../attest/fixtures.js';
import { BIN, runPedigree } from '../cli/run.js';
import { tempDir } from '../helpers.js';

let work: { path: string; remove: () => Promise<void> };
const p = (...parts: string[]) => join(work.path, ...parts);
const pedigree = (args: string[]) => runPedigree(work.path, args);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

/** `pedigree serve` on a free port; resolves once it prints its URL. */
async function serve(data: string): Promise<{ url: string; child: ChildProcess; stop: (signal?: NodeJS.Signals) => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', '0', '--rate-limit', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /GraphQL:\s+(http:\/\/[^\s]+)\/graphql/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    void exited.then(() => reject(new Error(`serve exited: ${out}`)));
  });
  return {
    url,
    child,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Entries of a directory, and of its parent's entries that start with its name (temporary siblings). */
async function footprint(dir: string): Promise<string[]> {
  const base = dir.split('/').pop()!;
  const parent = dir.slice(0, -base.length - 1);
  const siblings = (await readdir(parent)).filter((n) => n.includes(base));
  const inside = await readdir(dir).catch(() => [] as string[]);
  return [...siblings.map((n) => `../${n}`), ...inside].sort();
}

const supplier = party('supplier');
let source: string;
let receipt: { logIndex: number; bundle: Record<string, unknown> };
let live: { treeSize: number; root: string; live: boolean; keys: string[] };
let acknowledged: { before: number; during: number; total: number };
let finalSize: number;

beforeAll(async () => {
  work = await tempDir('pedigree-backup-');
  source = p('source');
  expect((await pedigree(['init', '--data', source])).code).toBe(0);
  await writeFile(p('supplier.pub'), spkiPem(supplier.publicKey));
  const node = await serve(source);
  try {
    // The socket is there, a socket, owner-only from the start.
    const sock = await lstat(join(source, 'backup.sock'));
    expect(sock.isSocket()).toBe(true);
    expect(sock.mode & 0o777).toBe(0o600);

    await register(node.url, await readPrivateKey(join(source, 'admin.key')), supplier, ['supplier']);
    // A receipt (completed bundle) issued before the backup.
    const first = await submitBundle(node.url, await signStatement(componentStatement('supplier', 'P', ['R0']), supplier.privateKey));
    receipt = { logIndex: first.logIndex, bundle: first.bundle };

    // Concurrent submitters keep the ledger committing until the backup has finished.
    let backupRunning = false;
    let backupDone = false;
    const counts = { before: 0, during: 0, total: 0 };
    let started!: () => void;
    const enoughToStart = new Promise<void>((r) => (started = r));
    const submitter = async (who: number) => {
      for (let i = 0; i < 60 && !backupDone; i++) {
        await submitBundle(node.url, await signStatement(componentStatement('supplier', 'P', [`W${who}-${i}`]), supplier.privateKey));
        counts.total++;
        if (backupRunning) counts.during++;
        else if (!backupDone) counts.before++;
        if (counts.total === 6) started();
      }
    };
    const submitters = [0, 1, 2].map(submitter);
    await enoughToStart;
    backupRunning = true;
    const backup = await pedigree(['backup', '--data', source, '--out', p('live-backup'), '--json']);
    backupRunning = false;
    backupDone = true;
    await Promise.all(submitters);
    expect(backup.code, backup.stderr).toBe(0);
    live = JSON.parse(backup.stdout);
    acknowledged = counts;
    // One more after the backup, so the source has grown past it.
    await submitBundle(node.url, await signStatement(componentStatement('supplier', 'P', ['AFTER']), supplier.privateKey));
    finalSize = Number((await (await fetch(`${node.url}/checkpoint`)).text()).split('\n')[1]);
  } finally {
    expect(await node.stop()).toBe(0);
  }
  // Stopping removed the socket.
  expect(await lstat(join(source, 'backup.sock')).catch(() => undefined)).toBeUndefined();
});

afterAll(async () => {
  await work?.remove();
});

describe('pedigree backup while the ledger serves', () => {
  it('takes one committed state while submissions are in flight', () => {
    expect(live.live).toBe(true);
    expect(acknowledged.during).toBeGreaterThan(0);
    // Registration, the receipt and everything acknowledged before the backup began are in it.
    expect(live.treeSize).toBeGreaterThanOrEqual(2 + acknowledged.before);
    expect(live.treeSize).toBeLessThan(finalSize);
    expect(live.keys).toEqual(['log.key', 'admin.key']);
  });

  it("has the source's root at the backup's size, and the source's later tree is consistent with it", async () => {
    const opened = await openLedger(source);
    try {
      expect(opened.ledger.size).toBe(finalSize);
      expect(b64(await opened.ledger.rootAt(live.treeSize))).toBe(live.root);
      const proof = await opened.ledger.consistencyProof(live.treeSize, finalSize);
      verifyConsistency(live.treeSize, finalSize, proof.hashes, Buffer.from(live.root, 'base64'), opened.ledger.state.root);
    } finally {
      await opened.ledger.close();
    }
  });

  it('writes the key files 0600 and says what the backup holds', async () => {
    for (const f of ['log.key', 'admin.key']) expect((await stat(p('live-backup', f))).mode & 0o777).toBe(0o600);
    expect((await stat(p('live-backup'))).mode & 0o777).toBe(0o700);
    const manifest = JSON.parse(await readFile(p('live-backup', 'backup.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'pedigree-backup/v1', treeSize: live.treeSize, root: live.root, keys: ['log.key', 'admin.key'], live: true });
    expect(JSON.stringify(manifest)).not.toMatch(/PRIVATE KEY/);
  });

  it('restores to a new directory whose ledger opens, audits clean and verifies the earlier receipt', async () => {
    const r = await pedigree(['restore', '--from', p('live-backup'), '--data', p('restored'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ restored: true, consistent: true, treeSize: live.treeSize, root: live.root });
    for (const f of ['log.key', 'admin.key']) expect((await stat(p('restored', f))).mode & 0o777).toBe(0o600);
    const audit = await pedigree(['audit', '--data', p('restored'), '--json']);
    expect(audit.code, audit.stdout).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ consistent: true, entries: live.treeSize });

    const opened = await openLedger(p('restored'));
    const server = await startServer({ ledger: opened.ledger, attestations: opened.attestations, devices: opened.devices, logError: () => undefined });
    try {
      const config = opened.dataDir.config;
      const cp = openCheckpoint(await (await fetch(`${server.url}/checkpoint`)).text(), ed25519NoteVerifier(config.origin, createPublicKey(config.logPublicKey)));
      expect(cp.size).toBe(live.treeSize);
      expect(b64(cp.root)).toBe(live.root);
      // The receipt's inclusion proof leads to the restored ledger's root at the receipt's size.
      const tlog = (receipt.bundle.verificationMaterial as { tlogEntries: Array<{ inclusionProof: { treeSize: string; rootHash: string; hashes: string[] } }> }).tlogEntries[0]!;
      const size = Number(tlog.inclusionProof.treeSize);
      expect(b64(await opened.ledger.rootAt(size))).toBe(tlog.inclusionProof.rootHash);
      const proof = await opened.ledger.inclusionProof(receipt.logIndex, live.treeSize);
      verifyInclusion(receipt.logIndex, live.treeSize, proof.leafHash, proof.hashes, cp.root);
      // And it verifies offline against the restored ledger's trusted root.
      await writeFile(p('receipt.json'), JSON.stringify(receipt.bundle));
      await writeFile(p('restored-root.json'), await (await fetch(`${server.url}/trusted_root.json`)).text());
      const v = await pedigree(['verify', 'receipt.json', '--trusted-root', 'restored-root.json', '--public-key', 'supplier.pub', '--json']);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ valid: true });
      // The restored ledger takes new entries.
      const next = await submitBundle(server.url, await signStatement(componentStatement('supplier', 'P', ['NEW']), supplier.privateKey));
      expect(next.logIndex).toBe(live.treeSize);
    } finally {
      await server.close();
      await opened.ledger.close();
    }
  });
});

describe('pedigree backup of a stopped ledger', () => {
  it('opens the store directly and restores the same tree', async () => {
    const b = await pedigree(['backup', '--data', source, '--out', p('stopped-backup'), '--without-keys', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const out = JSON.parse(b.stdout);
    expect(out).toMatchObject({ live: false, treeSize: finalSize, keys: [] });
    expect(await readdir(p('stopped-backup'))).not.toContain('log.key');
    // Without keys, restoring needs them given.
    const refused = await pedigree(['restore', '--from', p('stopped-backup'), '--data', p('from-stopped')]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/without its keys: give --keys/);
    expect(await footprint(p('from-stopped'))).toEqual([]);
    const r = await pedigree(['restore', '--from', p('stopped-backup'), '--data', p('from-stopped'), '--keys', source]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`at tree size ${finalSize}, root ${out.root}`);
    expect((await stat(p('from-stopped', 'log.key'))).mode & 0o777).toBe(0o600);
  });

  it('falls back to the store when a killed ledger left its socket behind, and a new serve replaces it', async () => {
    const dir = p('killed');
    expect((await pedigree(['init', '--data', dir])).code).toBe(0);
    const node = await serve(dir);
    await node.stop('SIGKILL');
    expect((await lstat(join(dir, 'backup.sock'))).isSocket()).toBe(true);
    const b = await pedigree(['backup', '--data', dir, '--out', p('killed-backup'), '--json']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout)).toMatchObject({ live: false, treeSize: 0 });
    const again = await serve(dir);
    try {
      const b2 = await pedigree(['backup', '--data', dir, '--out', p('killed-backup-2'), '--json']);
      expect(b2.code, b2.stderr).toBe(0);
      expect(JSON.parse(b2.stdout)).toMatchObject({ live: true, treeSize: 0 });
      // The stream holds the store only: no key material goes through the socket.
      const snap = (await requestSnapshot(dir))!;
      const logKey = (await readFile(join(dir, 'log.key'), 'utf8')).split('\n')[1]!;
      for await (const chunk of snap.chunks) for (const [, v] of chunk) expect(Buffer.from(v).toString('latin1')).not.toContain(logKey);
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});

describe('refusals change nothing', () => {
  it('refuses to restore into a non-empty directory or over a ledger', async () => {
    await mkdir(p('busy'));
    await writeFile(p('busy', 'notes.txt'), 'mine');
    const before = await footprint(p('busy'));
    const r = await pedigree(['restore', '--from', p('live-backup'), '--data', p('busy')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is not empty/);
    expect(await footprint(p('busy'))).toEqual(before);
    const over = await pedigree(['restore', '--from', p('live-backup'), '--data', source]);
    expect(over.code).toBe(3);
    expect(over.stderr).toMatch(/already holds a ledger/);
  });

  it('refuses a backup into a non-empty directory, and restoring what is not a backup', async () => {
    const before = await footprint(p('busy'));
    const b = await pedigree(['backup', '--data', source, '--out', p('busy')]);
    expect(b.code).toBe(3);
    expect(b.stderr).toMatch(/not empty/);
    expect(await footprint(p('busy'))).toEqual(before);
    const notBackup = await pedigree(['restore', '--from', source, '--data', p('nowhere')]);
    expect(notBackup.code).toBe(3);
    expect(notBackup.stderr).toMatch(/not a pedigree backup/);
    expect(await footprint(p('nowhere'))).toEqual([]);
  });

  it('refuses an inconsistent backup after auditing it, leaving nothing behind (exit 1)', async () => {
    const r0 = await pedigree(['backup', '--data', source, '--out', p('tampered')]);
    expect(r0.code, r0.stderr).toBe(0);
    const db = new Level<string, Uint8Array>(p('tampered', 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    const entries = db.sublevel<string, Uint8Array>('entry', { keyEncoding: 'utf8', valueEncoding: 'view' });
    const v = Buffer.from((await entries.get(indexKey(2)))!);
    v[Math.floor(v.length / 2)]! ^= 1;
    await entries.put(indexKey(2), v);
    await db.close();
    const r = await pedigree(['restore', '--from', p('tampered'), '--data', p('from-tampered'), '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ restored: false, consistent: false, problem: { kind: 'entry', where: 'entry 2' } });
    expect(await footprint(p('from-tampered'))).toEqual([]);
  });
});
