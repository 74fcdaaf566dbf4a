import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCheckpoint, parseVerifierKey } from '../../src/log/index.js';
import { tempDir } from '../helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'pedigree.js');

function pedigree(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pedigree init', () => {
  it('creates the ledger with private keys readable only by the owner', async () => {
    const dir = await tempDir();
    try {
      const data = join(dir.path, 'ledger');
      const r = pedigree(['init', '--data', data, '--origin', 'hospital.example/log', '--json']);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { origin: string; logVerifierKey: string };
      expect(out.origin).toBe('hospital.example/log');
      expect(parseVerifierKey(out.logVerifierKey).name).toBe('hospital.example/log');
      for (const f of ['log.key', 'admin.key']) {
        expect(statSync(join(data, f)).mode & 0o777).toBe(0o600);
        expect(readFileSync(join(data, f), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      }
      expect(statSync(data).mode & 0o077).toBe(0);
    } finally {
      await dir.remove();
    }
  });

  it('refuses to overwrite an existing ledger and leaves it untouched', async () => {
    const dir = await tempDir();
    try {
      expect(pedigree(['init', '--data', dir.path]).code).toBe(0);
      const before = readFileSync(join(dir.path, 'log.key'), 'utf8');
      const r = pedigree(['init', '--data', dir.path]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/already holds a ledger/);
      expect(readFileSync(join(dir.path, 'log.key'), 'utf8')).toBe(before);
    } finally {
      await dir.remove();
    }
  });

  it('rejects a bad origin and bad options with exit code 3 and no stack trace', async () => {
    const dir = await tempDir();
    try {
      const r = pedigree(['init', '--data', join(dir.path, 'x'), '--origin', 'has space']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/origin/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(pedigree(['serve', '--data', join(dir.path, 'missing')]).stderr).toMatch(/pedigree init/);
      expect(pedigree(['serve', '--port', 'abc']).code).toBe(3);
      expect(pedigree(['frobnicate']).code).toBe(3);
      // Nested subcommands too: a missing required option is a usage error, exit 3.
      expect(pedigree(['witness', 'init']).code).toBe(3);
      expect(pedigree(['participant', 'add', '--admin-key', 'x']).code).toBe(3);
      // A malformed witness for the ledger, or a quorum it cannot meet, is refused before anything starts.
      await expect(Promise.resolve(pedigree(['init', '--data', join(dir.path, 'w')]).code)).resolves.toBe(0);
      const badWitness = pedigree(['serve', '--data', join(dir.path, 'w'), '--port', '0', '--witness', 'nonsense@http://127.0.0.1:1']);
      expect(badWitness.code).toBe(3);
      expect(badWitness.stderr).toMatch(/is not <witness key>@<http\(s\) URL>/);
      const quorum = pedigree(['serve', '--data', join(dir.path, 'w'), '--port', '0', '--witness-quorum', '2']);
      expect(quorum.code).toBe(3);
      expect(quorum.stderr).toMatch(/--witness-quorum needs at least one --witness/);
      // The update gate's model is a GTIN-14 with a right check digit, refused before anything is fetched.
      const model = pedigree(['verify-firmware', join(dir.path, 'w', 'ledger.json'), '--model', '09506000134353', '--server', 'http://127.0.0.1:1']);
      expect(model.code).toBe(3);
      expect(model.stderr).toMatch(/--model: GTIN 09506000134353 has check digit 3, expected 2/);
      const range = pedigree(['affected', '--range', 'vers:generic/>=3.0.0', '--server', 'http://127.0.0.1:1']);
      expect(range.code).toBe(3);
      expect(range.stderr).toMatch(/--range goes with --purl/);
    } finally {
      await dir.remove();
    }
  });

  it('prints help for every command', () => {
    const r = pedigree(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/init/);
    expect(r.stdout).toMatch(/serve/);
    expect(pedigree(['serve', '--help']).stdout).toMatch(/--port/);
  });
});

describe('pedigree serve', () => {
  it('serves a signed checkpoint and health over HTTP and stops cleanly on SIGTERM', async () => {
    const dir = await tempDir();
    try {
      expect(pedigree(['init', '--data', dir.path]).code).toBe(0);
      const child = spawn(process.execPath, [BIN, 'serve', '--data', dir.path, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /GraphQL:\s+(http:\/\/[^\s]+)\/graphql/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}`)));
      });
      const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string; treeSize: number };
      expect(health).toMatchObject({ status: 'ok', treeSize: 0 });
      const config = JSON.parse(readFileSync(join(dir.path, 'ledger.json'), 'utf8')) as { logPublicKey: string; origin: string };
      const { createPublicKey } = await import('node:crypto');
      const { ed25519NoteVerifier } = await import('../../src/crypto/node.js');
      const cp = openCheckpoint(await (await fetch(`${url}/checkpoint`)).text(), ed25519NoteVerifier(config.origin, createPublicKey(config.logPublicKey)));
      expect(cp.size).toBe(0);
      // The banner names the log's verifier key, which witnesses are given (pedigree witness add-log --vkey).
      const { verifierKeyString } = await import('../../src/crypto/node.js');
      expect(out).toContain(`log key:     ${verifierKeyString(config.origin, createPublicKey(config.logPublicKey))}`);
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      await dir.remove();
    }
  });
});
