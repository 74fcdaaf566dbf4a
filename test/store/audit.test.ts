/**
 * `pedigree audit`: a real data directory, copied, with one byte flipped in one kind of record
 * at a time; each is caught and named, and the untouched copy is consistent.
 */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement } from '../../src/attest/sign.js';
import { loadDataDir } from '../../src/config/datadir.js';
import { LevelLogStore } from '../../src/store/level.js';
import { auditStore } from '../../src/store/audit.js';
import { indexKey } from '../../src/store/store.js';
import { componentStatement, party, registration } from '../attest/fixtures.js';
import { runPedigree } from '../cli/run.js';
import { startNode, tempDir, type TestNode } from '../helpers.js';

let node: TestNode;
let work: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  node = await startNode();
  const supplier = party('supplier');
  await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
  for (let i = 0; i < 4; i++) await node.attestations.submit(await signStatement(componentStatement('supplier', 'P', [`S${i}`]), supplier.privateKey));
  await node.server.close();
  await node.ledger.close();
  work = await tempDir();
});
afterAll(async () => {
  await work.remove();
  await node.cleanup();
});

/** A copy of the data directory with `change` applied to its LevelDB, audited. */
async function auditCopy(name: string, change?: (db: Level<string, Uint8Array>) => Promise<void>) {
  const dir = join(work.path, name);
  await cp(node.dir, dir, { recursive: true });
  const dd = await loadDataDir(dir);
  if (change) {
    const db = new Level<string, Uint8Array>(dd.dbPath, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    await change(db);
    await db.close();
  }
  const store = await LevelLogStore.open(dd.dbPath);
  try {
    return { dir, audit: await auditStore(store, dd.config.origin, dd.config.logPublicKey, dd.config.adminPublicKey) };
  } finally {
    await store.close();
  }
}

/** Flips one byte of one record in a sublevel (`key` undefined: its first record). */
const flip = (sublevel: string, key?: string, at = (n: number) => Math.floor(n / 2)) => async (db: Level<string, Uint8Array>) => {
  const sub = db.sublevel<string, Uint8Array>(sublevel, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const k = key ?? (await sub.keys({ limit: 1 }).all())[0]!;
  const v = Buffer.from((await sub.get(k))!);
  v[at(v.length)]! ^= 0x01;
  await sub.put(k, v);
};

describe('pedigree audit', () => {
  it('finds the untouched directory consistent', async () => {
    const { audit } = await auditCopy('clean');
    expect(audit.problem).toBeUndefined();
    expect(audit.entries).toBe(5);
    expect(audit.keys).toBeGreaterThan(5);
  });

  it.each([
    ['an entry’s data', 'entry', flip('entry', indexKey(2))],
    ['an entry’s leaf-hash record', 'entry', flip('time', indexKey(3), (n) => n - 1)],
    ['a tile', 'tile', flip('tile')],
    ['the stored checkpoint', 'checkpoint', async (db: Level<string, Uint8Array>) => {
      const meta = db.sublevel<string, Uint8Array>('meta', { keyEncoding: 'utf8', valueEncoding: 'view' });
      const tree = JSON.parse(Buffer.from((await meta.get('tree'))!).toString()) as { checkpoint: string };
      tree.checkpoint = tree.checkpoint.replace(/\n(\d+)\n/, (_m, n: string) => `\n${Number(n) - 1}\n`);
      await meta.put('tree', Buffer.from(JSON.stringify(tree)));
    }],
    ['an attestation record', 'record', flip('r-att', indexKey(1))],
    ['the signer an attestation record names', 'record', async (db: Level<string, Uint8Array>) => {
      const att = db.sublevel<string, Uint8Array>('r-att', { keyEncoding: 'utf8', valueEncoding: 'view' });
      const r = JSON.parse(Buffer.from((await att.get(indexKey(2)))!).toString()) as { signer: string };
      await att.put(indexKey(2), Buffer.from(JSON.stringify({ ...r, signer: 'someone-else' })));
    }],
    ['a stored bundle', 'bundle', flip('r-bundle')],
    ['an index record', 'index', flip('r-vlist')],
  ] as const)('names %s changed by one byte', async (what, kind, change) => {
    const { audit } = await auditCopy(what.replace(/\W+/g, '-'), change);
    expect(audit.problem, what).toBeDefined();
    expect(audit.problem!.kind).toBe(kind);
  });

  it('exits 1 from the command line naming the first inconsistency', async () => {
    const { dir } = await auditCopy('cli', flip('r-bundle'));
    const r = await runPedigree(work.path, ['audit', '--data', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INCONSISTENT {2}entry \d+: its stored bundle/);
  });
});
