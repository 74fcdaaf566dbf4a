/**
 * The compiled CLI (dist/, `npm run build:cli`; built for the tests by test/build-cli.setup.ts):
 * it runs without tsx and without the sources, and finds its assets (JSON schemas, the release
 * policy, the demo supply chain, the built web page) under its own package root. The package is
 * copied without src/, as `npm pack` ships it, and a module hook refuses any TypeScript file and
 * any file of the checkout, so nothing can quietly come from elsewhere.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiledMain, ROOT, STAMP } from '../../bin/entry.js';
import { tempDir } from '../helpers.js';

/** A module hook: fails on TypeScript, on tsx and on any module of the checkout (as opposed to the copy). */
const HOOKS = `
const checkout = ${JSON.stringify(`${pathToFileURL(ROOT).href}/`)};
const checkoutModules = ${JSON.stringify(`${pathToFileURL(join(ROOT, 'node_modules')).href}/`)};
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const path = new URL(r.url).pathname;
  if (/\\.[cm]?tsx?$/.test(path) || path.includes('/node_modules/tsx/')) throw new Error('not compiled: ' + r.url);
  if (r.url.startsWith(checkout) && !r.url.startsWith(checkoutModules)) throw new Error('from the checkout: ' + r.url);
  return r;
}
`;

let dir: { path: string; remove: () => Promise<void> };
let pkg: string;
let work: string;
let hookArgs: string[];

/** `pedigree` from the copied package, in the work directory, through the hook; never from source. */
function pedigree(args: string[]) {
  const env = { ...process.env };
  delete env.PEDIGREE_FROM_SOURCE;
  return spawnSync(process.execPath, [...hookArgs, join(pkg, 'bin', 'pedigree.js'), ...args], { cwd: work, encoding: 'utf8', env });
}

beforeAll(async () => {
  dir = await tempDir('pedigree-packed-');
  pkg = join(dir.path, 'package');
  work = join(dir.path, 'work');
  mkdirSync(work);
  // What package.json "files" ships (not src/), and the checkout's installed dependencies.
  for (const f of ['package.json', 'bin', 'dist', 'attestations', 'schema', join('web', 'dist')]) {
    expect(existsSync(join(ROOT, f)), `${f} is built (npm run build)`).toBe(true);
    cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  // Marks in the copy's assets: output that shows them was read from the copy's package root.
  const policyFile = join(pkg, 'attestations', 'policies', 'release.json');
  const policy = JSON.parse(readFileSync(policyFile, 'utf8')) as { name: string };
  writeFileSync(policyFile, JSON.stringify({ ...policy, name: 'Copied release policy' }, null, 2));
  const page = join(pkg, 'web', 'dist', 'index.html');
  writeFileSync(page, readFileSync(page, 'utf8').replace('</body>', '<!-- served from the copied package --></body>'));
  writeFileSync(join(dir.path, 'hooks.mjs'), HOOKS);
  writeFileSync(join(dir.path, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir.path, 'hooks.mjs')).href)});\n`);
  hookArgs = ['--import', pathToFileURL(join(dir.path, 'register.mjs')).href];
});

afterAll(async () => {
  await dir?.remove();
});

describe('the compiled CLI', () => {
  it('is built, and is what bin/pedigree.js runs in this checkout', () => {
    expect(existsSync(join(ROOT, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(compiledMain(ROOT, {})).toBe(join(ROOT, 'dist', 'cli', 'main.js'));
    expect(compiledMain(ROOT, { PEDIGREE_FROM_SOURCE: '1' })).toBeNull();
    // The copied package has no sources: it runs its own build.
    expect(compiledMain(pkg, {})).toBe(join(pkg, 'dist', 'cli', 'main.js'));
  });

  it('runs --help without tsx or the sources', () => {
    const r = pedigree(['--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: pedigree /);
    for (const c of ['serve', 'verify-device', 'verify-evidence', 'verify-firmware', 'witness']) expect(r.stdout).toContain(`  ${c} `);
  });

  it('refuses a TypeScript module through the hook (the check above can fail)', () => {
    const r = spawnSync(process.execPath, [...hookArgs, '-e', `import(${JSON.stringify(pathToFileURL(join(ROOT, 'src', 'cli', 'main.ts')).href)})`], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not compiled/);
  });

  it('serves the demo with the copied schemas, demo and page, and verifies its evidence offline with the copied policy', async () => {
    const env = { ...process.env };
    delete env.PEDIGREE_FROM_SOURCE;
    const child = spawn(process.execPath, [...hookArgs, join(pkg, 'bin', 'pedigree.js'), 'serve', '--demo', '--data', 'ledger', '--port', '0'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let out = '';
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /GraphQL:\s+(http:\/\/[^\s]+)\/graphql/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', () => reject(new Error(`serve exited: ${out}${err}`)));
      });
      // The demo was read from attestations/demo and every attestation checked against attestations/schemas.
      expect(out).toMatch(/Loaded \d+ demo attestations/);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<!-- served from the copied package -->');
      writeFileSync(join(work, 'root.json'), await (await fetch(`${url}/trusted_root.json`)).text());

      const udi = '(01)09506000134352(21)IP-000007';
      const gate = pedigree(['verify-device', '--server', url, '--trusted-root', 'root.json', '--udi', udi, '--evidence', 'ev.json']);
      expect(gate.stderr).toBe('');
      expect(gate.stdout).toMatch(/^PASS /);
      expect(gate.status).toBe(0);

      const offline = pedigree(['verify-evidence', 'ev.json', '--trusted-root', 'root.json', '--udi', udi, '--json']);
      expect(offline.stderr).toBe('');
      expect(offline.status).toBe(0);
      const verdict = JSON.parse(offline.stdout) as { outcome?: string; verdict?: string; policy: { name: string } };
      expect(verdict.policy.name).toBe('Copied release policy');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('bin/entry.js: which code runs', () => {
  let root: string;
  const at = (path: string, seconds: number) => {
    mkdirSync(join(path, '..'), { recursive: true });
    if (!existsSync(path)) writeFileSync(path, '');
    utimesSync(path, seconds, seconds);
  };

  beforeAll(() => {
    root = join(dir.path, 'layout');
    at(join(root, 'src', 'cli', 'main.ts'), 1_000);
    at(join(root, 'src', 'log', 'hash.ts'), 1_000);
    at(join(root, 'dist', 'cli', 'main.js'), 2_000);
    for (const d of ['src', 'src/cli', 'src/log']) utimesSync(join(root, d), 1_000, 1_000);
  });

  it('runs the sources without a finished build (no stamp)', () => {
    rmSync(join(root, STAMP), { force: true });
    expect(compiledMain(root, {})).toBeNull();
  });

  it('runs the build when no source changed after it started', () => {
    at(join(root, STAMP), 2_000);
    expect(compiledMain(root, {})).toBe(join(root, 'dist', 'cli', 'main.js'));
  });

  it('runs the sources once any source, however deep, or a tsconfig is newer than the build', () => {
    at(join(root, 'src', 'log', 'hash.ts'), 3_000);
    expect(compiledMain(root, {})).toBeNull();
    at(join(root, 'src', 'log', 'hash.ts'), 1_000);
    expect(compiledMain(root, {})).not.toBeNull();
    at(join(root, 'tsconfig.build.json'), 3_000);
    expect(compiledMain(root, {})).toBeNull();
    at(join(root, STAMP), 4_000);
    expect(compiledMain(root, {})).not.toBeNull();
  });

  it('runs the sources once a source file is deleted after the build (its directory changed)', () => {
    at(join(root, STAMP), 5_000);
    expect(compiledMain(root, {})).not.toBeNull();
    at(join(root, 'src', 'log', 'old.ts'), 1_000);
    utimesSync(join(root, 'src', 'log'), 1_000, 1_000);
    expect(compiledMain(root, {})).not.toBeNull();
    rmSync(join(root, 'src', 'log', 'old.ts')); // the directory's time is now
    expect(compiledMain(root, {})).toBeNull();
    utimesSync(join(root, 'src', 'log'), 1_000, 1_000);
    expect(compiledMain(root, {})).not.toBeNull();
  });

  it('runs the sources with PEDIGREE_FROM_SOURCE=1, and without a compiled entry point', () => {
    expect(compiledMain(root, { PEDIGREE_FROM_SOURCE: '1' })).toBeNull();
    rmSync(join(root, 'dist', 'cli', 'main.js'));
    expect(compiledMain(root, {})).toBeNull();
  });
});
