/**
 * Snapshots through DATA/backup.sock, in process: several backups taken back to back while
 * submitters keep committing each land on a commit boundary (each restored copy audits clean and
 * its root is the source's root at its size); the listener's protocol refuses what it does not
 * know and one backup runs at a time.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type OpenedLedger } from '../../src/app.js';
import { signStatement } from '../../src/attest/sign.js';
import { initDataDir, adminKeyPath } from '../../src/config/datadir.js';
import { readPrivateKey } from '../../src/keys.js';
import { requestSnapshot, restoreBackup, serveBackups, takeBackup, type BackupListener } from '../../src/store/backup.js';
import { componentStatement, party, registration } from '../attest/fixtures.js';
import { ORIGIN, tempDir } from '../helpers.js';

let work: { path: string; remove: () => Promise<void> };
let data: string;
let opened: OpenedLedger;
let listener: BackupListener;
const supplier = party('supplier');

beforeAll(async () => {
  work = await tempDir('pedigree-backup-live-');
  data = join(work.path, 'data');
  await initDataDir(data, ORIGIN);
  opened = await openLedger(data);
  listener = await serveBackups(data, opened.snapshot!);
  await opened.attestations.submit(await signStatement(registration(supplier, ['supplier']), await readPrivateKey(adminKeyPath(data))));
});

afterAll(async () => {
  await listener?.close();
  await opened?.ledger.close();
  await work?.remove();
});

/** One raw exchange with the socket: what the ledger answers to `request`. */
function exchange(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(listener.path);
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString('latin1')));
    s.on('end', () => resolve(got));
    s.on('error', reject);
    s.write(request);
  });
}

describe('backups while committing', () => {
  it('every snapshot lands between two commits', async () => {
    let stop = false;
    let n = 0;
    const submitter = async (who: number) => {
      while (!stop) await opened.attestations.submit(await signStatement(componentStatement('supplier', 'P', [`L${who}-${n++}`]), supplier.privateKey));
    };
    const submitters = [0, 1, 2, 3].map(submitter);
    const taken: Array<{ size: number; root: string; out: string }> = [];
    try {
      for (let i = 0; i < 4; i++) {
        const sizeBefore = opened.ledger.size;
        const r = await takeBackup({ data, out: join(work.path, `b${i}`) });
        expect(r.manifest.live).toBe(true);
        expect(r.manifest.treeSize).toBeGreaterThanOrEqual(sizeBefore);
        taken.push({ size: r.manifest.treeSize, root: r.manifest.root, out: r.out });
      }
    } finally {
      stop = true;
      await Promise.all(submitters);
    }
    // The ledger moved on between the backups.
    expect(new Set(taken.map((t) => t.size)).size).toBeGreaterThan(1);
    for (const [i, t] of taken.entries()) {
      expect(Buffer.from(await opened.ledger.rootAt(t.size)).toString('base64')).toBe(t.root);
      const restored = await restoreBackup({ from: t.out, data: join(work.path, `r${i}`) });
      expect(restored).toMatchObject({ entries: t.size, manifest: { treeSize: t.size, root: t.root } });
    }
  });
});

describe('the backup socket', () => {
  it('refuses an unknown request', async () => {
    expect(JSON.parse(await exchange('{"v":1,"op":"keys"}\n'))).toMatchObject({ ok: false, error: expect.stringMatching(/unknown request/) });
    expect(JSON.parse(await exchange('not json\n'))).toMatchObject({ ok: false });
  });

  it('serves one backup at a time', async () => {
    // A ledger whose snapshot waits for a gate, so the first backup is still running.
    const dir = join(work.path, 'gated');
    await initDataDir(dir, ORIGIN);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const gated = await serveBackups(dir, async function* () {
      await gate;
      yield [[Buffer.from('k'), Buffer.from('v')] as [Uint8Array, Uint8Array]];
    });
    try {
      const first = (await requestSnapshot(dir))!;
      await expect(requestSnapshot(dir)).rejects.toThrow(/another backup is being taken/);
      open();
      const got: Array<[Uint8Array, Uint8Array]> = [];
      for await (const chunk of first.chunks) got.push(...chunk);
      expect(got.map(([k, v]) => `${Buffer.from(k)}=${Buffer.from(v)}`)).toEqual(['k=v']);
    } finally {
      await gated.close();
    }
  });

  it('stops a snapshot cut short by the ledger closing, and the backup leaves nothing', async () => {
    const dir = join(work.path, 'cut');
    await initDataDir(dir, ORIGIN);
    let served!: () => void;
    const started = new Promise<void>((r) => (served = r));
    const cut = await serveBackups(dir, async function* () {
      yield [[Buffer.from('k'), Buffer.from('v')] as [Uint8Array, Uint8Array]];
      served();
      await new Promise(() => undefined); // never ends: the ledger closes first
    });
    const backup = takeBackup({ data: dir, out: join(work.path, 'cut-backup') });
    await started;
    await cut.close();
    await expect(backup).rejects.toThrow(/stopped sending the snapshot/);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(work.path)).filter((n) => n.includes('cut-backup'))).toEqual([]);
  });

  it('is off for a data directory whose path is too long for a socket, and nothing is bound elsewhere', async () => {
    const { readdir } = await import('node:fs/promises');
    const dir = join(work.path, 'd'.repeat(Math.max(1, 104 - join(work.path, '/backup.sock').length)));
    await initDataDir(dir, ORIGIN);
    const before = (await readdir(work.path)).sort();
    await expect(serveBackups(dir, opened.snapshot!)).rejects.toThrow(/too long for a Unix socket/);
    expect((await readdir(work.path)).sort()).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['admin.key', 'admin.pub', 'ledger.json', 'log.key']);
    // Stopped, it is backed up from the store directly.
    await (await openLedger(dir)).ledger.close();
    const r = await takeBackup({ data: dir, out: join(work.path, 'long-backup') });
    expect(r.manifest).toMatchObject({ live: false, treeSize: 0 });
  });
});
