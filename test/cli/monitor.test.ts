import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendMany, startNode, type TestNode } from '../helpers.js';
import { runPedigree } from './run.js';

let node: TestNode;

/** Each test keeps its own state file, so none depends on what another left behind. */
const monitor = (state: string) => runPedigree(node.dir, ['monitor', '--server', node.url, '--trusted-root', 'root.json', '--state', state, '--once']);

beforeAll(async () => {
  node = await startNode();
  writeFileSync(join(node.dir, 'root.json'), await (await fetch(`${node.url}/trusted_root.json`)).text());
});
afterAll(() => node.cleanup());

describe('pedigree monitor', () => {
  it('records the first checkpoint, then proves each later one consistent with it', async () => {
    await appendMany(node.ledger, 5);
    const first = await monitor('growth.json');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/first checkpoint recorded/);
    await appendMany(node.ledger, 300, 100);
    const second = await monitor('growth.json');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/5 -> 305 entries, consistent/);
  });

  it('raises an alert and exits 1 when the log history does not match what it saw', async () => {
    const statePath = join(node.dir, 'mismatch.json');
    await appendMany(node.ledger, 2, 2000); // a tree whose root can be contradicted
    expect((await monitor('mismatch.json')).code).toBe(0);
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    state.root = Buffer.alloc(32, 7).toString('base64'); // as if the log had shown a different tree before
    writeFileSync(statePath, JSON.stringify(state));
    await appendMany(node.ledger, 3, 1000);
    const r = await monitor('mismatch.json');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/ALERT .*not consistent/);
    state.size = 10_000;
    writeFileSync(statePath, JSON.stringify(state));
    const shrank = await monitor('mismatch.json');
    expect(shrank.code).toBe(1);
    expect(shrank.stdout).toMatch(/ALERT the log shrank/);
  });

  it('says a ledger serving no checkpoint yet (503, waiting for its witnesses) serves none, exit 3, not an alarm', async () => {
    const server = createServer((_req, res) => res.writeHead(503, { 'content-type': 'text/plain' }).end('no checkpoint has been cosigned by enough witnesses yet\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const r = await runPedigree(node.dir, ['monitor', '--server', url, '--trusted-root', 'root.json', '--state', 'waiting.json', '--once']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/serves no checkpoint \(HTTP 503\): no checkpoint has been cosigned/);
      expect(r.stdout).not.toMatch(/ALERT/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
