/**
 * The settings file: any option by its flag's name, per command or for all; the command line
 * wins over the environment, which wins over the file; what no command takes is an error.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKeyPath } from '../../src/config/datadir.js';
import { startNode, tempDir, type TestNode } from '../helpers.js';
import { BIN, runPedigree } from './run.js';

let node: TestNode;
let dir: Awaited<ReturnType<typeof tempDir>>;
const pedigree = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const { PEDIGREE_DATA: _unset, PEDIGREE_CONFIG: _none, ...inherited } = process.env;
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir.path, env: { ...inherited, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
const settings = (file: string, value: unknown) => writeFile(join(dir.path, file), JSON.stringify(value));

beforeAll(async () => {
  node = await startNode();
  dir = await tempDir();
  expect((await runPedigree(dir.path, ['keygen', '--out', 'acme'])).code).toBe(0);
  expect((await runPedigree(dir.path, ['init', '--data', 'ledger'])).code).toBe(0);
}, 30_000);
afterAll(async () => {
  await node.cleanup();
  await dir.remove();
});

describe('pedigree --config', () => {
  it('gives any option by name, a required one too; per command or for all', async () => {
    await settings('admin.json', { server: node.url, 'participant add': { 'admin-key': adminKeyPath(node.dir), role: ['supplier'] } });
    const add = await pedigree(['participant', 'add', '--config', 'admin.json', '--name', 'Acme Sensors', '--public-key', 'acme.pub']);
    expect(add.stderr).toBe('');
    expect(add.stdout).toMatch(/Registered acme-sensors \(Acme Sensors\) as supplier/);
    // PEDIGREE_CONFIG names the file when --config does not.
    const list = await pedigree(['participant', 'list'], { PEDIGREE_CONFIG: 'admin.json' });
    expect(list.stdout).toMatch(/^acme-sensors\tsupplier\tactive/m);
  });

  it('the command line wins over the environment, which wins over the file', async () => {
    await settings('serve.json', { data: 'ledger', serve: { port: 0, 'rate-limit': 0 } });
    const fromFlag = await pedigree(['serve', '--config', 'serve.json', '--data', 'from-flag'], { PEDIGREE_DATA: 'from-env' });
    expect(fromFlag.code).toBe(3);
    expect(fromFlag.stderr).toMatch(/from-flag/);
    const fromEnv = await pedigree(['serve', '--config', 'serve.json'], { PEDIGREE_DATA: 'from-env' });
    expect(fromEnv.code).toBe(3);
    expect(fromEnv.stderr).toMatch(/from-env/);
    // From the file alone: the ledger in ./ledger serves, on a port the file chose (0: any free one).
    const { PEDIGREE_DATA: _unset, ...env } = process.env;
    const child = spawn(process.execPath, [BIN, 'serve', '--config', 'serve.json'], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'], env });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /GraphQL:\s+(http:\/\/[^\s]+)\/graphql/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      expect(((await (await fetch(`${url}/healthz`)).json()) as { origin: string }).origin).toBe('pedigree.local/log');
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }, 30_000);

  it('refuses, naming it, a setting no command takes, one a command does not take, and a value of the wrong kind', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ sevre: { port: 1 } }, /"sevre" is neither an option nor a command/],
      [{ serve: { prot: 1 } }, /"serve" takes no setting "prot"; it takes data, port, .*host/],
      [{ serve: { demo: 'yes' } }, /"demo" is a switch: true or false/],
      [{ serve: { witness: 'k@http://w' } }, /"witness" can be given several times: write a list/],
      [{ serve: { port: { n: 1 } } }, /"port" must be a text or a number/],
      [[1, 2], /must hold a JSON object of settings/],
    ];
    for (const [value, want] of cases) {
      await settings('bad.json', value);
      const r = await pedigree(['serve', '--config', 'bad.json']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(want);
    }
    const missing = await pedigree(['serve', '--config', 'missing.json']);
    expect(missing.stderr).toMatch(/--config: cannot read missing\.json: no such file/);
    await writeFile(join(dir.path, 'broken.json'), '{"data": ');
    expect((await pedigree(['serve', '--config', 'broken.json'])).stderr).toMatch(/--config: broken\.json is not valid JSON/);
  });
});
