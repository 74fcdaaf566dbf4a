/**
 * `pedigree serve` takes its port and its data directory before it loads anything, and says
 * plainly when either is taken; until the ledger is ready, it answers 503 "starting", so a health
 * check waiting for it never mistakes another server for it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, tempDir, type TestNode } from '../helpers.js';
import { BIN, runPedigree } from './run.js';

let other: Server;
let otherPort: number;
let node: TestNode;

beforeAll(async () => {
  // Another program on a port: it answers 200 to anything, /healthz included.
  other = createServer((_req, res) => res.end('{"status":"ok"}'));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherPort = (other.address() as { port: number }).port;
  node = await startNode();
}, 30_000);
afterAll(async () => {
  await new Promise((r) => other.close(r));
  await node.cleanup();
});

describe('pedigree serve starting up', () => {
  it('a port in use is said at once, before the demo is initialised or loaded', async () => {
    const dir = await tempDir();
    try {
      const r = await runPedigree(dir.path, ['serve', '--demo', '--data', join(dir.path, 'demo'), '--port', String(otherPort)]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${otherPort}: the address is already in use`));
      expect(r.stdout).not.toMatch(/Loading the demo/);
      expect(existsSync(join(dir.path, 'demo', 'ledger.json'))).toBe(false);
    } finally {
      await dir.remove();
    }
  });

  it('a data directory another ledger process holds is said plainly, with no stack trace', async () => {
    const r = await runPedigree(node.dir, ['serve', '--data', node.dir, '--port', '0']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/in use by another process/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('answers 503 "starting" while the demo loads, then serves', async () => {
    const dir = await tempDir();
    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--data', join(dir.path, 'demo'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      // The address is printed once serving; while loading, the port is read from the process's listening socket.
      const loading = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('Loading the demo supply chain')) resolve();
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      await loading;
      const port = await listeningPort(child.pid!);
      const starting = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(starting.status).toBe(503);
      expect(await starting.json()).toEqual({ status: 'starting' });
      expect((await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST' })).status).toBe(503);
      const url = await new Promise<string>((resolve) => {
        const m = () => /GraphQL:\s+(http:\/\/[^\s]+)\/graphql/.exec(out);
        if (m()) return resolve(m()![1]!);
        child.stdout.on('data', () => {
          if (m()) resolve(m()![1]!);
        });
      });
      expect(url).toBe(`http://127.0.0.1:${port}`);
      const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string; treeSize: number };
      expect(health.status).toBe('ok');
      expect(health.treeSize).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await dir.remove();
    }
  }, 60_000);
});

/** The TCP port a process listens on, read from /proc (Linux): its socket inodes matched against /proc/net/tcp. */
async function listeningPort(pid: number): Promise<number> {
  const { readdir, readlink, readFile } = await import('node:fs/promises');
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m) inodes.add(m[1]!);
  }
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '0A' && inodes.has(f[9]!)) return Number.parseInt(f[1]!.split(':')[1]!, 16);
  }
  throw new Error('the process listens on no TCP port');
}
