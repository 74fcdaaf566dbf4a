import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ed25519Raw } from '../../src/crypto/node.js';
import { parseCosignatureVerifierKey, verifyCosignatures } from '../../src/log/cosignature.js';
import { addCheckpoint } from '../../src/witness/client.js';
import { BIN, runPedigree } from '../cli/run.js';
import { tempDir } from '../helpers.js';
import { testLog } from './fixtures.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function workDir(): Promise<string> {
  const dir = await tempDir('pedigree-witness-cli-');
  cleanups.push(dir.remove);
  return dir.path;
}

/** Starts `pedigree witness serve` and resolves once it has printed its URL (or exited). */
function serve(cwd: string, args: string[]): Promise<{ child: ChildProcessWithoutNullStreams; url?: string; code?: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'witness', 'serve', ...args], { cwd });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /^witness \S+ listening on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(stdout);
      if (m) resolve({ child, url: m[1]!, stdout, stderr });
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ child, code, stdout, stderr }));
  });
}

function stop(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('pedigree witness', () => {
  it('init creates a 0600 key and prints the verifier key; it never overwrites; usage errors exit 3', async () => {
    const cwd = await workDir();
    const r = await runPedigree(cwd, ['witness', 'init', '--dir', 'w', '--name', 'witness.example.org/w1']);
    expect(r.code, r.stderr).toBe(0);
    const vkey = /^(witness\.example\.org\/w1\+[0-9a-f]{8}\+\S+)$/m.exec(r.stdout)?.[1];
    expect(vkey).toBeDefined();
    const key = createPrivateKey(await readFile(join(cwd, 'w', 'witness.key'), 'utf8'));
    expect(Buffer.from(parseCosignatureVerifierKey(vkey!).publicKey)).toEqual(Buffer.from(ed25519Raw(key)));
    expect((await stat(join(cwd, 'w', 'witness.key'))).mode & 0o777).toBe(0o600);

    const again = await runPedigree(cwd, ['witness', 'init', '--dir', 'w', '--name', 'witness.example.org/w1']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/already exists/);
    expect((await runPedigree(cwd, ['witness', 'init', '--dir', 'x'])).code).toBe(3);
    expect((await runPedigree(cwd, ['witness', 'init', '--dir', 'x', '--name', 'has space'])).code).toBe(3);
    expect((await runPedigree(cwd, ['witness', 'serve', '--dir', 'w', '--port', 'http'])).code).toBe(3);
    expect((await runPedigree(cwd, ['witness', 'nonsense'])).code).toBe(3);
    const help = await runPedigree(cwd, ['witness', 'serve', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--port/);
  });

  it('add-log then serve: cosigns the log over HTTP, refuses a busy port with a clear error, and stops on SIGTERM', async () => {
    const cwd = await workDir();
    const log = await testLog('example.org/log');
    cleanups.push(() => log.ledger.close());
    const init = await runPedigree(cwd, ['witness', 'init', '--dir', 'w', '--name', 'witness.example.org/w1', '--json']);
    expect(init.code, init.stderr).toBe(0);
    const { vkey } = JSON.parse(init.stdout) as { vkey: string };

    const empty = await serve(cwd, ['--dir', 'w', '--port', '0']);
    expect(empty.code).toBe(3);
    expect(empty.stderr).toMatch(/follows no log/);

    expect((await runPedigree(cwd, ['witness', 'add-log', '--dir', 'w', '--vkey', 'not-a-key'])).code).toBe(3);
    expect((await runPedigree(cwd, ['witness', 'add-log', '--dir', 'nowhere', '--vkey', log.vkey])).code).toBe(3);
    const badAudit = await runPedigree(cwd, ['witness', 'add-log', '--dir', 'w', '--vkey', log.vkey, '--audit', 'ftp://ledger']);
    expect(badAudit.code).toBe(3);
    expect(badAudit.stderr).toMatch(/--audit must be the ledger's http\(s\) URL/);
    expect(JSON.parse(await readFile(join(cwd, 'w', 'witness.json'), 'utf8')).logs).toEqual([]);
    const added = await runPedigree(cwd, ['witness', 'add-log', '--dir', 'w', '--vkey', log.vkey]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/now follows example\.org\/log/);

    const running = await serve(cwd, ['--dir', 'w', '--port', '0', '--host', '127.0.0.1']);
    expect(running.url, running.stderr).toBeDefined();
    cleanups.push(() => stop(running.child));
    await log.append(3);
    const r = await addCheckpoint(running.url!, 0, [], log.ledger.checkpoint, { timeoutMs: 10_000 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(verifyCosignatures(`${log.ledger.checkpoint}${r.cosignatures}`, [parseCosignatureVerifierKey(vkey)]).map((v) => v.name)).toEqual(['witness.example.org/w1']);
    expect((await stat(join(cwd, 'w', 'state.json'))).mode & 0o777).toBe(0o600);

    const busy = await serve(cwd, ['--dir', 'w', '--port', new URL(running.url!).port]);
    expect(busy.code).toBe(3);
    expect(busy.stderr).toMatch(/already in use/);

    await stop(running.child);
    expect(running.child.exitCode).toBe(0);
  });
});
