/**
 * The CLI never sends private key material, and never signs with the wrong key: a private key
 * given as a public key, or the log's key given as the administrator's, is refused before any
 * request is made. A real HTTP server counts the requests that reach it.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKeyPath } from '../../src/config/datadir.js';
import { startNode, type TestNode } from '../helpers.js';
import { runPedigree } from './run.js';

let node: TestNode;
let counter: Server;
let counterUrl: string;
let requests = 0;
const pedigree = (args: string[]) => runPedigree(node.dir, args);

beforeAll(async () => {
  node = await startNode();
  counter = createServer((_req, res) => {
    requests++;
    res.writeHead(500).end();
  });
  await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r));
  counterUrl = `http://127.0.0.1:${(counter.address() as { port: number }).port}`;
  expect((await pedigree(['keygen', '--out', 'p'])).code).toBe(0);
}, 30_000);
afterAll(async () => {
  await new Promise((r) => counter.close(r));
  await node.cleanup();
});

describe('key safety in the CLI', () => {
  it('refuses a private key given as --public-key, and sends nothing', async () => {
    const r = await pedigree(['participant', 'add', '--server', counterUrl, '--admin-key', adminKeyPath(node.dir), '--name', 'P Ltd', '--role', 'supplier', '--public-key', 'p.key']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/p\.key holds a PRIVATE key; give the public key/);
    expect(r.stderr).not.toMatch(/BEGIN/);
    const v = await pedigree(['verify', 'nothing.json', '--trusted-root', `${counterUrl}/trusted_root.json`, '--public-key', 'p.key']);
    expect(v.code).toBe(3);
    expect(requests).toBe(0);
  });

  it("refuses the log's key given as --admin-key, and sends nothing", async () => {
    const size = node.ledger.size;
    const r = await pedigree(['participant', 'add', '--server', counterUrl, '--admin-key', join(node.dir, 'log.key'), '--name', 'Q Ltd', '--role', 'supplier', '--public-key', 'p.pub']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/log's own signing key/);
    const revoke = await pedigree(['participant', 'revoke', '--server', node.url, '--admin-key', join(node.dir, 'log.key'), '--id', 'q-ltd', '--reason', 'retired']);
    expect(revoke.code).toBe(3);
    expect(revoke.stderr).toMatch(/log's own signing key/);
    expect(requests).toBe(0);
    expect(node.ledger.size).toBe(size);
  });

  it('names a missing key file instead of a raw ENOENT', async () => {
    const r = await pedigree(['attest', '--server', counterUrl, '--key', 'missing.key', '--type', 'component', '--part-serial', 'a:b:c', '--out', 'x.json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/key file missing\.key does not exist/);
    expect(requests).toBe(0);
  });

  it('updates a participant by naming the registration it replaces, and fills in signed times', async () => {
    const admin = adminKeyPath(node.dir);
    const add = ['participant', 'add', '--server', node.url, '--admin-key', admin, '--name', 'P Ltd', '--id', 'p-ltd', '--public-key', 'p.pub'];
    const first = await pedigree([...add, '--role', 'supplier']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Registered p-ltd/);
    const second = await pedigree([...add, '--role', 'supplier,distributor']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^Updated p-ltd/);
    const p = node.attestations.registry.get('p-ltd')!;
    expect(p.roles).toEqual(['supplier', 'distributor']);
    // A custody transfer without its time gets the signed time filled in.
    const custody = await pedigree(['attest', '--server', node.url, '--key', 'p.key', '--type', 'custody-transfer', '--udi', '(01)09506000134352(21)CLI-1', '--predicate', '{"from":"p-ltd","to":"x"}', '--out', 'c.json', '--json']);
    expect(custody.code, custody.stderr).toBe(0);
    const st = (await node.attestations.statement((await node.attestations.record(JSON.parse(custody.stdout).logIndex))!)).predicate as { transferredAt?: string };
    expect(Date.parse(st.transferredAt!)).toBeGreaterThan(Date.now() - 60_000);
  }, 60_000);
});
