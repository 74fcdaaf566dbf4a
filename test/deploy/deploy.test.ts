/**
 * deploy/: the systemd unit and the nginx site agree with the command line they run, and the
 * tools that will read them accept them. systemd-analyze (Debian package systemd) and nginx
 * (package nginx) are used when installed (`.ci/run` installs both); a test that needs a missing
 * tool is skipped and its name says why. The tests never install anything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BODY_BYTES } from '../../src/server/http.js';
import { runPedigree, BIN } from '../cli/run.js';
import { tempDir } from '../helpers.js';
import { makeCert, seq, tlv } from '../x509-ca.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const UNIT = join(DEPLOY, 'pedigree.service');
const ENV = join(DEPLOY, 'pedigree.env');
const SITE = join(DEPLOY, 'nginx-pedigree.conf');

/** An executable on PATH, or in the sbin folders a non-root PATH may lack (nginx is /usr/sbin/nginx). */
function tool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const SYSTEMD_ANALYZE = tool('systemd-analyze');
const NGINX = tool('nginx');
const skipped = (what: string, pkg: string) => ` (SKIPPED: ${what} is not installed; it comes with Debian's "${pkg}" package, which .ci/run installs)`;
const withSystemd = (name: string) => name + (SYSTEMD_ANALYZE ? '' : skipped('systemd-analyze', 'systemd'));
const withNginx = (name: string) => name + (NGINX ? '' : skipped('nginx', 'nginx'));
for (const [t, pkg] of [[SYSTEMD_ANALYZE, 'systemd'], [NGINX, 'nginx']] as const) {
  if (!t) process.stderr.write(`deploy tests: Debian package ${pkg} is not installed; its tests are skipped\n`);
}

/** A systemd unit's settings, section → key → values (in order; continuation lines joined). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** KEY=value lines of an environment file. */
function parseEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  return env;
}

const unitText = readFileSync(UNIT, 'utf8');
const unit = parseUnit(unitText);
const service = unit.get('Service')!;
const envText = readFileSync(ENV, 'utf8');
const env = parseEnv(envText);
const siteText = readFileSync(SITE, 'utf8');
const execStart = service.get('ExecStart')![0]!.split(/\s+/);

describe('deploy/pedigree.service and pedigree.env agree with `pedigree serve --help`', () => {
  let help = '';
  let options = new Set<string>();
  beforeAll(async () => {
    const r = await runPedigree(ROOT, ['serve', '--help']);
    expect(r.code).toBe(0);
    help = r.stdout;
    options = new Set([...help.matchAll(/^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
    expect(options.has('--port')).toBe(true);
  });

  it('ExecStart runs `node bin/pedigree.js serve` with options serve lists, on loopback', () => {
    expect(execStart[0]).toBe('/usr/bin/node');
    expect(execStart[1]).toMatch(/\/bin\/pedigree\.js$/);
    expect(execStart[2]).toBe('serve');
    const used = execStart.filter((t) => t.startsWith('--')).map((t) => t.split('=')[0]!);
    expect(used.length).toBeGreaterThan(0);
    for (const o of used) expect(options, `${o} is not a \`pedigree serve\` option`).toContain(o);
    expect(execStart[execStart.indexOf('--host') + 1]).toBe('127.0.0.1');
    // The only variable is the list of extra options, split on spaces ($NAME, not ${NAME}).
    expect(execStart.filter((t) => t.includes('$'))).toEqual(['$PEDIGREE_SERVE_OPTIONS']);
  });

  it('the environment file sets the variables serve reads, and names only real options', () => {
    for (const name of ['PEDIGREE_DATA', 'PORT']) {
      // Help text wraps at the terminal's width: compare with its spaces collapsed.
      expect(help.replace(/\s+/g, ' '), `serve --help says nothing of ${name}`).toContain(`env: ${name})`);
      expect(env.get(name), `${name} is not set in pedigree.env`).toBeTruthy();
    }
    expect(env.has('PEDIGREE_SERVE_OPTIONS')).toBe(true);
    for (const o of parseEnv(envText).get('PEDIGREE_SERVE_OPTIONS')!.split(/\s+/).filter(Boolean)) if (o.startsWith('--')) expect(options).toContain(o);
    // Every serve option the comments mention exists (the init line is another command).
    const mentioned = [...envText.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]).filter((o) => !['--origin', '--system', '--home-dir', '--shell'].includes(o));
    for (const o of mentioned) expect(options, `pedigree.env mentions ${o}`).toContain(o);
    expect(env.get('PEDIGREE_DATA')!.startsWith('/var/lib/pedigree/')).toBe(true);
  });

  it('the unit names its environment file, user, data directory and hardening', () => {
    expect(service.get('EnvironmentFile')).toEqual(['/etc/pedigree/pedigree.env']);
    expect(service.get('User')).toEqual(['pedigree']);
    expect(service.get('WorkingDirectory')).toEqual(['/var/lib/pedigree']);
    expect(service.get('ReadWritePaths')).toEqual(['/var/lib/pedigree']);
    expect(service.get('StateDirectory')).toEqual(['pedigree']);
    for (const [key, value] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', Restart: 'on-failure' })) {
      expect(service.get(key), key).toEqual([value]);
    }
    // V8's JIT writes code pages: this setting would stop node at start.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
  });

  it('the nginx site forwards to the port in pedigree.env and allows the bodies the ledger accepts', () => {
    const upstream = /upstream pedigree \{[^}]*server 127\.0\.0\.1:(\d+);/.exec(siteText);
    expect(upstream?.[1]).toBe(env.get('PORT'));
    expect(help).toContain(`(default: "${env.get('PORT')}"`);
    expect(/client_max_body_size 16m;/.test(siteText)).toBe(true);
    // nginx's "m" is MiB: the ledger's default body limit, as --help states it.
    expect(16 * 1024 * 1024).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(help).toMatch(new RegExp(`--max-body <bytes>[\\s\\S]*?default:\\s+"${DEFAULT_MAX_BODY_BYTES}"`));
  });
});

describe('systemd-analyze', () => {
  it.skipIf(!SYSTEMD_ANALYZE)(withSystemd('`systemd-analyze verify` accepts deploy/pedigree.service with no warning about it'), async () => {
    const dir = await tempDir('pedigree-unit-');
    try {
      // verify checks that ExecStart's program exists: where node is not /usr/bin/node, the copy
      // runs this node instead (only that path changes).
      let text = unitText;
      try {
        accessSync('/usr/bin/node', constants.X_OK);
      } catch {
        text = text.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `);
      }
      const file = join(dir.path, 'pedigree.service');
      await writeFile(file, text);
      const r = spawnSync(SYSTEMD_ANALYZE!, ['verify', '--man=no', file], { encoding: 'utf8' });
      const about = r.stderr.split('\n').filter((l) => l.includes('pedigree.service'));
      expect({ status: r.status, warnings: about }, r.stderr).toEqual({ status: 0, warnings: [] });
    } finally {
      await dir.remove();
    }
  });

  it.skipIf(!SYSTEMD_ANALYZE)(withSystemd('`systemd-analyze security --offline` rates the unit\'s exposure 2.0 or lower ("OK")'), () => {
    const r = spawnSync(SYSTEMD_ANALYZE!, ['security', '--offline=yes', '--no-pager', UNIT], { encoding: 'utf8' });
    const level = /Overall exposure level for pedigree\.service: (\d+\.\d+)/.exec(r.stdout);
    expect(level, r.stdout + r.stderr).not.toBeNull();
    expect(Number(level![1])).toBeLessThanOrEqual(2.0);
  });
});

/** A self-signed certificate for ledger.example.org and 127.0.0.1 (node:crypto, no openssl). */
function selfSigned(): { certPem: string; keyPem: string } {
  const now = Date.now();
  const san = seq(tlv(0x82, Buffer.from('ledger.example.org')), tlv(0x87, Buffer.from([127, 0, 0, 1])));
  const cert = makeCert({ cn: 'ledger.example.org', notBefore: now - 3600_000, notAfter: now + 24 * 3600_000, eku: ['1.3.6.1.5.5.7.3.1'], extensions: [{ id: '2.5.29.17', critical: false, value: san }] });
  const b64 = cert.der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return { certPem: `-----BEGIN CERTIFICATE-----\n${b64}-----END CERTIFICATE-----\n`, keyPem: cert.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string };
}

/**
 * The site wrapped in a minimal nginx.conf whose files all live in `dir`, with the test
 * certificate in place of the real one; `ports` moves the listeners and the upstream.
 */
async function nginxConfig(dir: string, ports?: { http: number; https: number; ledger: number }): Promise<string> {
  const { certPem, keyPem } = selfSigned();
  await writeFile(join(dir, 'fullchain.pem'), certPem);
  await writeFile(join(dir, 'privkey.pem'), keyPem, { mode: 0o600 });
  let site = siteText;
  for (const [from, to] of [['/etc/ssl/pedigree/fullchain.pem', join(dir, 'fullchain.pem')], ['/etc/ssl/pedigree/privkey.pem', join(dir, 'privkey.pem')]]) {
    expect(site).toContain(from!);
    site = site.replaceAll(from!, to!);
  }
  if (ports) {
    const moves: Array<[RegExp, string]> = [
      [/listen 80;/, `listen 127.0.0.1:${ports.http};`],
      [/listen \[::\]:80;\n/, ''],
      [/listen 443 ssl http2;/, `listen 127.0.0.1:${ports.https} ssl http2;`],
      [/listen \[::\]:443 ssl http2;\n/, ''],
      [/server 127\.0\.0\.1:8080;/, `server 127.0.0.1:${ports.ledger};`],
    ];
    for (const [from, to] of moves) {
      expect(site).toMatch(from);
      site = site.replace(from, to);
    }
  }
  await writeFile(join(dir, 'site.conf'), site);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
  for (const t of temp) await mkdir(join(dir, t));
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    [
      // As root, nginx's workers would run as nobody, who may not write the temp folders here.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 64; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      ...temp.map((t) => `  ${t}_temp_path ${join(dir, t)};`),
      `  include ${join(dir, 'site.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  return conf;
}

describe('nginx', () => {
  it.skipIf(!NGINX)(withNginx('`nginx -t` accepts deploy/nginx-pedigree.conf inside a minimal nginx.conf, with a self-signed test certificate'), async () => {
    const dir = await tempDir('pedigree-nginx-');
    try {
      const conf = await nginxConfig(dir.path);
      const r = spawnSync(NGINX!, ['-t', '-p', dir.path, '-e', join(dir.path, 'error.log'), '-c', conf], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/syntax is ok/);
      expect(r.stderr).toMatch(/test is successful/);
      // No warning but the one nginx 1.25.1+ gives for "listen ... http2" (see the site's comment).
      const warnings = r.stderr.split('\n').filter((l) => /\[warn\]/.test(l) && !/"listen \.\.\. http2" directive is deprecated/.test(l));
      expect(warnings).toEqual([]);
    } finally {
      await dir.remove();
    }
  });

  describe.skipIf(!NGINX)(withNginx('the site in front of a real ledger'), () => {
    let dir: { path: string; remove: () => Promise<void> };
    let ledger: ReturnType<typeof spawn> | undefined;
    let nginx: ReturnType<typeof spawn> | undefined;
    let ports: { http: number; https: number; ledger: number };
    let ca = '';

    beforeAll(async () => {
      dir = await tempDir('pedigree-proxy-');
      ports = { http: await freePort(), https: await freePort(), ledger: await freePort() };
      const data = join(dir.path, 'data');
      const init = await runPedigree(dir.path, ['init', '--data', data, '--json']);
      expect(init.code, init.stderr).toBe(0);
      // As pedigree.service runs it, on loopback without the per-address limit.
      ledger = spawn(process.execPath, [BIN, 'serve', '--data', data, '--port', String(ports.ledger), '--host', '127.0.0.1', '--rate-limit', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        let out = '';
        ledger!.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('GraphQL:')) resolve();
        });
        ledger!.once('exit', (code) => reject(new Error(`pedigree serve exited (${code}): ${out}`)));
      });
      // nginx says nothing when it is up: it is up once the TLS port answers. A port another
      // process took between freePort and nginx's bind makes nginx exit: then it starts again on
      // other ports (at most three times); any other exit fails with nginx's own error log.
      for (let start = 0; ; start++) {
        const conf = await nginxConfig(join(dir.path), ports);
        ca = await readFile(join(dir.path, 'fullchain.pem'), 'utf8');
        const proc = spawn(NGINX!, ['-p', dir.path, '-e', join(dir.path, 'error.log'), '-c', conf, '-g', 'daemon off; master_process on;'], { stdio: ['ignore', 'inherit', 'inherit'] });
        nginx = proc;
        let exited = false;
        proc.once('exit', () => (exited = true));
        let up = false;
        for (let i = 0; i < 300 && !exited && !up; i++) {
          up = await fetchVia('https', '/healthz').then(
            () => true,
            () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
          );
        }
        if (up) break;
        const log = await readFile(join(dir.path, 'error.log'), 'utf8').catch(() => '');
        if (!exited) throw new Error(`nginx did not answer on its TLS port within 30 s:\n${log.slice(-2000)}`);
        if (start >= 2 || !/Address already in use/.test(log)) throw new Error(`nginx exited:\n${log.slice(-2000)}`);
        ports = { ...ports, http: await freePort(), https: await freePort() };
      }
    });

    afterAll(async () => {
      for (const p of [nginx, ledger]) {
        if (p && p.exitCode === null) {
          const gone = new Promise((r) => p.once('exit', r));
          p.kill('SIGTERM');
          await gone;
        }
      }
      await dir?.remove();
    });

    interface Answer {
      status: number;
      headers: Record<string, string | string[] | undefined>;
      body: string;
    }
    function fetchVia(scheme: 'http' | 'https', path: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const options = { host: '127.0.0.1', port: scheme === 'https' ? ports.https : ports.http, path, method: init.method ?? 'GET', headers: { Host: 'ledger.example.org', ...init.headers } };
        const req = scheme === 'https' ? httpsRequest({ ...options, ca, servername: 'ledger.example.org' }) : httpRequest(options);
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(init.body);
      });
    }

    it('plain HTTP redirects to HTTPS', async () => {
      const r = await fetchVia('http', '/checkpoint?x=1');
      expect(r.status).toBe(301);
      expect(r.headers.location).toBe('https://ledger.example.org/checkpoint?x=1');
    });

    it('HTTPS reaches the ledger: health, checkpoint and GraphQL, with HSTS', async () => {
      const health = await fetchVia('https', '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', treeSize: 0 });
      expect(health.headers['x-request-id']).toBeTruthy();
      expect(health.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect((await fetchVia('https', '/checkpoint')).body).toMatch(/^pedigree\.local\/log\n0\n/);
      const gql = await fetchVia('https', '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(JSON.parse(gql.body)).toEqual({ data: { __typename: 'Query' } });
    });

    it('bodies up to 16 MiB reach the ledger; larger ones are refused by nginx with 413', async () => {
      const json = (n: number) => {
        const head = '{"query":"{ __typename }","variables":{"pad":"';
        const tail = '"}}';
        return Buffer.from(head + 'x'.repeat(n - head.length - tail.length) + tail);
      };
      const near = await fetchVia('https', '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json(DEFAULT_MAX_BODY_BYTES - 1024) });
      expect(near.headers['x-request-id'], 'the ledger answered').toBeTruthy();
      expect(near.status).not.toBe(413);
      const over = await fetchVia('https', '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: json(DEFAULT_MAX_BODY_BYTES + 1024) });
      expect(over.status).toBe(413);
      expect(over.headers['x-request-id'], 'nginx refused it before the ledger').toBeUndefined();
    });

    it('a GraphQL subscription streams through the proxy as the log grows (no buffering)', async () => {
      const events: string[] = [];
      let seen = '';
      const req = httpsRequest({
        host: '127.0.0.1',
        port: ports.https,
        path: `/graphql?query=${encodeURIComponent('subscription { logGrowth { toSize } }')}`,
        headers: { Host: 'ledger.example.org', Accept: 'text/event-stream' },
        ca,
        servername: 'ledger.example.org',
      });
      const opened = new Promise<void>((resolve, reject) => {
        req.on('response', (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
          res.on('data', (c: Buffer) => {
            seen += c.toString();
            // Yoga's first bytes are a ping (":"): through a buffering proxy they would not arrive.
            if (seen.startsWith(':')) resolve();
            for (const m of seen.matchAll(/^data: (.+)$/gm)) if (!events.includes(m[1]!)) events.push(m[1]!);
          });
        });
        req.on('error', reject);
      });
      req.end();
      try {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no byte of the event stream came through the proxy within 10 s: is it buffering the answer?')), 10_000);
        });
        await Promise.race([opened, late]).finally(() => clearTimeout(timer));
        // Grow the log through the proxy, over TLS, with the command line: register a participant.
        const keygen = await runPedigree(dir.path, ['keygen', '--out', join(dir.path, 'acme')]);
        expect(keygen.code, keygen.stderr).toBe(0);
        const add = await runPedigreeTrusting(dir.path, ['participant', 'add', '--server', `https://127.0.0.1:${ports.https}`, '--admin-key', join(dir.path, 'data', 'admin.key'), '--name', 'Acme', '--role', 'supplier', '--public-key', join(dir.path, 'acme.pub')]);
        expect(add.code, add.stderr + add.stdout).toBe(0);
        for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        expect(events.map((e) => JSON.parse(e))).toEqual([{ data: { logGrowth: { toSize: 1 } } }]);
      } finally {
        req.destroy();
      }
    });

    /** The CLI through the proxy: Node trusts the test certificate through NODE_EXTRA_CA_CERTS. */
    function runPedigreeTrusting(cwd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir.path, 'fullchain.pem') } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('exit', (code) => resolve({ code, stdout, stderr }));
      });
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
