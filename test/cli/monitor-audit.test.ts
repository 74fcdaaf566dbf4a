/**
 * `pedigree monitor --audit` rebuilds the verifiable index from the log's own entries and
 * compares it with the root each checkpoint commits. Against an honest ledger it agrees and
 * resumes where it stopped; against a dishonest one (a real server, with a log built in the
 * test with the real log key, whose index leaves the lot recall out of the lot's list) it
 * alarms, exits 1 and names the key and the entry left out.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Statement } from '../../src/attest/statement.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { readPrivateKey } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { MemoryLogStore } from '../../src/store/memory.js';
import { lookupKeys } from '../../src/vindex/keys.js';
import { signStatement } from '../../src/attest/sign.js';
import { submitBundle } from '../../src/client/graphql.js';
import { party, registration } from '../attest/fixtures.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { runPedigree } from './run.js';
import { serveTiles, type TileServer } from '../tile-server.js';

let node: TestNode;
let demo: DemoSummary;
let dishonest: Ledger;
let server: TileServer;
let liarUrl: string;
const monitor = (url: string, state: string, json = false) =>
  runPedigree(node.dir, ['monitor', '--audit', '--once', '--server', url, '--trusted-root', 'root.json', '--state', state, ...(json ? ['--json'] : [])]);

beforeAll(async () => {
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  writeFileSync(join(node.dir, 'root.json'), await (await fetch(`${node.url}/trusted_root.json`)).text());

  // The dishonest operator: the same entries, in the same order, signed with the real log key,
  // but the recall of the demo's valve lot is filed under nothing about the lot.
  const signer = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
  dishonest = await Ledger.open({ store: new MemoryLogStore(), signer });
  const size = node.ledger.size;
  const entries = await node.ledger.entries(0, size);
  const appends: Array<Promise<unknown>> = [];
  for (const e of entries) {
    const statement = (await node.attestations.statement((await node.attestations.record(e.index))!)) as Statement;
    const hide = statement.predicateType.endsWith('/advisory/v1') && (statement.predicate as { kind?: string }).kind === 'recall';
    appends.push(dishonest.append({ data: e.data, lookupKeys: lookupKeys(statement).filter((k) => !(hide && k === `lot:${demo.recalledLot}`)) }));
  }
  await Promise.all(appends);
  server = await serveTiles(dishonest, {
    checkpoint: true,
    rest: async (path, req, res) => {
      if (path === '/graphql') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const { variables } = JSON.parse(Buffer.concat(chunks).toString());
        const [l] = await dishonest.readIndex((v) => v.lookup([variables.k]));
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { lookup: { indexes: l!.indexes } } }));
      }
      // The statements themselves are genuine: pass them through from the real ledger.
      const r = await fetch(new URL(path, node.url));
      res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer()));
    },
  });
  liarUrl = server.url;
}, 120_000);
afterAll(async () => {
  await server.close();
  await dishonest.close();
  await node.cleanup();
});

describe('pedigree monitor --audit', () => {
  it('rebuilds the honest ledger’s index from its entries, agrees with the committed root, and resumes where it stopped', async () => {
    const first = await monitor(node.url, 'honest.json');
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`index audited: ${node.ledger.size} new entries read, \\d+ keys, root matches`));
    const before = node.ledger.size;
    for (const name of ['audit-a', 'audit-b', 'audit-c']) await submitBundle(node.url, await signStatement(registration(party(name), ['supplier']), node.adminKey));
    expect(node.ledger.size).toBe(before + 3);
    const second = await monitor(node.url, 'honest.json', true);
    expect(second.code, second.stderr).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report).toMatchObject({ consistent: true, previousSize: before, size: node.ledger.size, audit: { read: node.ledger.size - before, indexRootMatches: true } });
  }, 60_000);

  it('alarms on a checkpoint whose index root leaves the recall out, naming the key and the entry', async () => {
    // The same tree, genuinely signed: only the index differs.
    expect(dishonest.state.root).toEqual((await node.ledger.rootAt(dishonest.size)));
    const r = await monitor(liarUrl, 'liar.json');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`ALERT the index committed at size ${dishonest.size} is not the one its entries make: for lot:${demo.recalledLot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} the log's entries give \\[.*\\], the ledger lists \\[.*\\] \\(entries \\d+ left out\\)`));
  }, 60_000);
});
