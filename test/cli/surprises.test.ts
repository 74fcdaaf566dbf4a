/**
 * Issue 13, "a CLI that never surprises": against a real ledger (the demo supply chain on a real
 * server) and real files, each surprise the issue names, asserted as the behaviour it should be.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { checkOrigin } from '../../src/config/datadir.js';
import { buildProgram } from '../../src/cli/main.js';
import { ed25519FromSpki, ed25519KeyHash } from '../../src/log/index.js';
import { ORIGIN, startNode, tempDir, type TestNode } from '../helpers.js';
import { BIN, runPedigree } from './run.js';

let node: TestNode;
let demo: DemoSummary;
let rootSpki: Buffer;
const DEVICE = '(01)09506000134352(21)IP-000001';
const run = (args: string[]) => runPedigree(node.dir, args);
const files = () => readdirSync(node.dir).sort();

beforeAll(async () => {
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  const rootText = await (await fetch(`${node.url}/trusted_root.json`)).text();
  writeFileSync(join(node.dir, 'root.json'), rootText);
  const root = JSON.parse(rootText) as { tlogs: Array<{ baseUrl: string; publicKey: { rawBytes: string }; logId: { keyId: string } }> };
  rootSpki = Buffer.from(root.tlogs[0]!.publicKey.rawBytes, 'base64');
  // Another ledger's root with the same origin: another key, so another log ID.
  const spki = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const other = structuredClone(root);
  other.tlogs[0]!.publicKey.rawBytes = spki.toString('base64');
  other.tlogs[0]!.logId.keyId = Buffer.from(ed25519KeyHash(ORIGIN, ed25519FromSpki(new Uint8Array(spki))!)).toString('base64');
  writeFileSync(join(node.dir, 'other_tr.json'), JSON.stringify(other));
  // The same, but stating this ledger's log ID: it still names another log (its key is not this log's).
  const forged = structuredClone(other);
  forged.tlogs[0]!.logId.keyId = root.tlogs[0]!.logId.keyId;
  writeFileSync(join(node.dir, 'forged_tr.json'), JSON.stringify(forged));
  // A lot the ledger knows that no device contains, attested with the CLI: its completed bundle is l99.json.
  const attest = await run(['attest', '--server', node.url, '--key', join(demo.keysDir, 'valveco.key'), '--out', 'l99.json', '--type', 'component', '--lot', 'valveco:VALVE-7:L99', '--predicate', '{"componentType":"valve","partNumber":"VALVE-7","lot":"L99"}']);
  if (attest.code !== 0) throw new Error(`attest failed: ${attest.stderr}`);
}, 120_000);
afterAll(() => node.cleanup());

describe('1. the gates write evidence only once it verified, and say when the root is not pinned', () => {
  it('verify-device and verify-firmware with a wrong trusted root: NOT VERIFIED (exit 6) and no evidence file, not even a partial one', async () => {
    const before = files();
    const device = await run(['verify-device', '--server', node.url, '--udi', DEVICE, '--trusted-root', 'other_tr.json', '--evidence', 'bad-device.json']);
    expect(device.code, device.stderr).toBe(6);
    expect(device.stdout).toMatch(/^NOT VERIFIED/);
    const firmware = await run(['verify-firmware', demo.firmwareFiles.fixed, '--model', demo.model, '--server', node.url, '--trusted-root', 'other_tr.json', '--evidence', 'bad-firmware.json', '--json']);
    expect(firmware.code, firmware.stderr).toBe(6);
    expect(JSON.parse(firmware.stdout)).toMatchObject({ verified: false, outcome: 'NOT_VERIFIED', trustedRoot: { pinned: true } });
    expect(existsSync(join(node.dir, 'bad-device.json'))).toBe(false);
    expect(existsSync(join(node.dir, 'bad-firmware.json'))).toBe(false);
    expect(files()).toEqual(before);
  });

  it('with the right pinned root the evidence is written, and --json says the root was pinned', async () => {
    const r = await run(['verify-device', '--server', node.url, '--udi', DEVICE, '--trusted-root', 'root.json', '--evidence', 'good-device.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { outcome: string; evidence: string; trustedRoot: { pinned: boolean } };
    expect(out).toMatchObject({ outcome: 'PASS', evidence: join(node.dir, 'good-device.json'), trustedRoot: { pinned: true } });
    expect(JSON.parse(readFileSync(join(node.dir, 'good-device.json'), 'utf8'))).toHaveProperty('checkpoint');
    const fw = await run(['verify-firmware', demo.firmwareFiles.fixed, '--model', demo.model, '--server', node.url, '--trusted-root', 'root.json', '--evidence', 'good-firmware.json']);
    expect(fw.code, fw.stderr).toBe(0);
    expect(existsSync(join(node.dir, 'good-firmware.json'))).toBe(true);
    expect(files().filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('verified evidence that cannot be written: the verdict and the error in one JSON object, exit 3', async () => {
    const r = await run(['verify-device', '--server', node.url, '--udi', DEVICE, '--trusted-root', 'root.json', '--evidence', join('no-such-folder', 'e.json'), '--json']);
    expect(r.code).toBe(3);
    const out = JSON.parse(r.stdout) as { outcome: string; error: { code: string; message: string } };
    expect(out).toMatchObject({ outcome: 'PASS', error: { code: 'EVIDENCE_NOT_WRITTEN', message: expect.stringMatching(/cannot write --evidence no-such-folder\/e\.json/) } });
    expect(existsSync(join(node.dir, 'no-such-folder'))).toBe(false);
  });

  it('without --trusted-root: a loud warning with the key fingerprint on stderr, and "pinned": false in --json', async () => {
    const fingerprint = createHash('sha256').update(rootSpki).digest('hex');
    const r = await run(['verify-device', '--server', node.url, '--udi', DEVICE, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^WARNING: no --trusted-root: trusting the root the server sent \(log test\.pedigree\.local\/log, key SHA256:([0-9a-f]{64})\); pin it with --trusted-root FILE/);
    expect(r.stderr).toContain(fingerprint);
    const out = JSON.parse(r.stdout) as { trustedRoot: { pinned: boolean; source: string; logs: Array<{ origin: string; keySha256: string }> } };
    expect(out.trustedRoot).toEqual({ pinned: false, source: `${node.url}/trusted_root.json`, logs: [{ origin: ORIGIN, keySha256: fingerprint }] });
    const fw = await run(['verify-firmware', demo.firmwareFiles.fixed, '--model', demo.model, '--server', node.url]);
    expect(fw.code, fw.stderr).toBe(0);
    expect(fw.stderr).toMatch(/^WARNING: no --trusted-root/);
  });
});

describe('2. lookups that match nothing say what was looked up and suggest the likely key', () => {
  it('a lot without its supplier namespace: a usage error (exit 3) naming the shape and the lot it likely is', async () => {
    const r = await run(['affected', '--server', node.url, '--lot', 'VALVE-7:L78']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/--lot "VALVE-7:L78": a lot is <supplier>:<part>:<lot>.*the supplier is missing.*did you mean valveco:VALVE-7:L78\?/);
    const json = await run(['affected', '--server', node.url, '--lot', 'VALVE-7:L78', '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'INVALID_ARGUMENT', message: expect.stringMatching(/did you mean valveco:VALVE-7:L78/), lookedUp: 'lot:VALVE-7:L78', didYouMean: ['valveco:VALVE-7:L78'] } });
  });

  it('a lot the ledger has no record of (case differs): exit 5, the key looked up, and the key differing only by case', async () => {
    const r = await run(['affected', '--server', node.url, '--lot', 'valveco:VALVE-7:l78']);
    expect(r.code).toBe(5);
    expect(r.stdout).not.toMatch(/0 device\(s\)/);
    expect(r.stderr).toMatch(/no record of lot valveco:VALVE-7:l78 \(looked up lot:valveco:VALVE-7:l78\).*did you mean valveco:VALVE-7:L78\?/);
    const json = await run(['affected', '--server', node.url, '--part-serial', 'ACME-SENSORS:nothing:here', '--json']);
    expect(json.code).toBe(5);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'NOT_FOUND', lookedUp: 'partSerial:ACME-SENSORS:nothing:here', didYouMean: [] } });
    const digest = await run(['affected', '--server', node.url, '--firmware-digest', '0'.repeat(64)]);
    expect(digest.code).toBe(5);
    expect(digest.stderr).toMatch(/no record of firmware image sha256:0{64} \(looked up sha256:0{64} and fitted:0{64}\)/);
  });

  it('a lot the ledger knows that no device contains: "0 device(s)" with what the ledger has, exit 0; the right key still answers', async () => {
    const r = await run(['affected', '--server', node.url, '--lot', 'valveco:VALVE-7:L99']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^0 device\(s\) contain valveco:VALVE-7:L99\n\(the ledger has 1 entry about lot valveco:VALVE-7:L99; no device contains it in its latest assembly\)/);
    const right = await run(['affected', '--server', node.url, '--lot', 'valveco:VALVE-7:L78', '--json']);
    expect(right.code, right.stderr).toBe(0);
    expect(JSON.parse(right.stdout)).toHaveLength(3);
  });
});

describe('3. an origin is a name, never a URL', () => {
  it('init --origin https://… is refused (exit 3) and nothing is created', async () => {
    const dir = await tempDir();
    try {
      const r = await runPedigree(dir.path, ['init', '--data', 'ledger', '--origin', 'https://ledger.example.org/log']);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/origin "https:\/\/ledger\.example\.org\/log" must be a name without a scheme .*use "ledger\.example\.org\/log"/);
      expect(existsSync(join(dir.path, 'ledger'))).toBe(false);
      const slash = await runPedigree(dir.path, ['init', '--data', 'ledger', '--origin', 'ledger.example.org/log/', '--json']);
      expect(slash.code).toBe(3);
      expect(JSON.parse(slash.stdout)).toEqual({ error: { code: 'ORIGIN_INVALID', message: expect.stringMatching(/must not end with "\/"/) } });
    } finally {
      await dir.remove();
    }
    for (const bad of ['http://x.example/log', 'x.example//log', 'x.example/log/']) expect(() => checkOrigin(bad), bad).toThrow(/ORIGIN_INVALID|origin/);
    expect(() => checkOrigin('ledger.example.org/log')).not.toThrow();
  });
});

describe('4. every option error names the option and what is expected', () => {
  it('--server without a scheme names --server and the URL expected on every command, never "Invalid URL"', async () => {
    const commands = [
      ['participant', 'list'],
      ['affected', '--lot', 'a:b:c'],
      ['monitor', '--trusted-root', 'root.json', '--once'],
      ['verify-device', '--udi', DEVICE],
      ['submit', 'l99.json'],
      ['attest', '--key', 'k', '--out', 'o.json', '--type', 'component', '--lot', 'a:b:c'],
    ];
    for (const c of commands) {
      const r = await run([...c, '--server', '127.0.0.1:18181']);
      expect(r.code, c.join(' ')).toBe(3);
      expect(r.stderr, c.join(' ')).toMatch(/--server expects the ledger's http\(s\) URL, such as http:\/\/127\.0\.0\.1:8080; got "127\.0\.0\.1:18181" \(did you mean http:\/\/127\.0\.0\.1:18181\?\)/);
      expect(r.stderr).not.toMatch(/Invalid URL/);
    }
  });

  it('a missing key or file names the option, the file and what was expected, never ENOENT', async () => {
    const key = await run(['attest', '--server', node.url, '--key', 'missing.key', '--out', 'o.json', '--type', 'component', '--lot', 'a:b:c']);
    expect(key.code).toBe(3);
    expect(key.stderr).toMatch(/--key: key file missing\.key does not exist; expected your PEM private key/);
    const admin = await run(['participant', 'add', '--server', node.url, '--admin-key', 'missing-admin.key', '--name', 'X', '--role', 'supplier', '--public-key', 'x.pub']);
    expect(admin.stderr).toMatch(/--admin-key: key file missing-admin\.key does not exist; expected the administrator's PEM private key/);
    const subject = await run(['attest', '--server', node.url, '--key', join(demo.keysDir, 'valveco.key'), '--out', 'o.json', '--type', 'component', '--subject-file', 'no-such-file.bin']);
    expect(subject.stderr).toMatch(/--subject-file: cannot read no-such-file\.bin: no such file/);
    const keygen = await run(['keygen', '--out', join('no-such-folder', 'k')]);
    expect(keygen.stderr).toMatch(/--out no-such-folder\/k: cannot write .*k\.key: no such file/);
    const policy = await run(['verify-device', '--server', node.url, '--udi', DEVICE, '--trusted-root', 'root.json', '--policy', 'no-policy.json']);
    expect(policy.stderr).toMatch(/cannot read --policy no-policy\.json: no such file/);
    for (const r of [key, admin, subject, keygen, policy]) {
      expect(r.code).toBe(3);
      expect(r.stderr).not.toMatch(/ENOENT|no such file or directory, open/);
    }
  });

  it('--type with a typo lists the valid types and suggests the near one', async () => {
    const r = await run(['attest', '--server', node.url, '--key', join(demo.keysDir, 'valveco.key'), '--out', 'o.json', '--type', 'componet', '--lot', 'a:b:c']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--type "componet" is not a predicate type Pedigree accepts \(did you mean component\?\); give one of component, firmware, .*openvex/);
  });

  it('no help shows "(default: [])" for a repeatable option', async () => {
    const all = (c: ReturnType<typeof buildProgram>): Array<ReturnType<typeof buildProgram>> => [c, ...c.commands.flatMap(all)];
    const helps = all(buildProgram()).map((c) => c.helpInformation());
    expect(helps.length).toBeGreaterThan(20);
    for (const h of helps) expect(h).not.toMatch(/default: \[\]/);
    expect(helps.join('\n')).toMatch(/--witness <vkey@url>/);
    const spawned = await run(['attest', '--help']);
    expect(spawned.code).toBe(0);
    expect(spawned.stdout).toMatch(/--subject <\[name=\]alg:value>/);
    expect(spawned.stdout).not.toMatch(/\(default: \[\]\)/);
  });
});

describe('5. a trusted root that does not name the bundle\'s log', () => {
  it('is UNTRUSTED_LOG, also when it states the log ID with another log\'s key, not a promise that "could not be verified"', async () => {
    const pub = join(demo.keysDir, 'valveco.pub');
    const ok = await run(['verify', 'l99.json', '--trusted-root', 'root.json', '--public-key', pub]);
    expect(ok.code, ok.stderr).toBe(0);
    for (const root of ['other_tr.json', 'forged_tr.json']) {
      const r = await run(['verify', 'l99.json', '--trusted-root', root, '--public-key', pub, '--json']);
      expect(r.code, root).toBe(1);
      const out = JSON.parse(r.stdout) as { valid: boolean; code: string; message: string };
      expect(out, root).toMatchObject({ valid: false, code: 'UNTRUSTED_LOG' });
      expect(out.message).toMatch(/none of the trusted roots names/);
      expect(out.message).not.toMatch(/promise/);
    }
  });
});

describe('6. --json errors have one shape on stdout, with the documented exit code', () => {
  const shape = (stdout: string) => {
    const out = JSON.parse(stdout) as { error: { code: string; message: string } };
    expect(Object.keys(out)).toEqual(['error']);
    expect(typeof out.error.code).toBe('string');
    expect(out.error.message.length).toBeGreaterThan(0);
    return out.error;
  };

  it('an unreachable server, for every command that talks to one', async () => {
    const down = 'http://127.0.0.1:1';
    const commands = [
      ['submit', 'l99.json'],
      ['attest', '--key', join(demo.keysDir, 'valveco.key'), '--out', 'never.json', '--type', 'component', '--lot', 'valveco:VALVE-7:L98'],
      ['participant', 'list'],
      ['trust-root', 'list'],
      ['affected', '--lot', 'valveco:VALVE-7:L78'],
      ['verify-device', '--udi', DEVICE, '--trusted-root', 'root.json'],
      ['verify-firmware', demo.firmwareFiles.fixed, '--model', demo.model, '--trusted-root', 'root.json'],
      ['monitor', '--trusted-root', 'root.json', '--once', '--state', 'never-state.json'],
    ];
    for (const c of commands) {
      const r = await run([...c, '--server', down, '--json']);
      expect(r.code, c[0]).toBe(3);
      expect(shape(r.stdout).code, c[0]).toBe('SERVER_UNREACHABLE');
      expect(r.stderr, c[0]).toBe('');
    }
    expect(existsSync(join(node.dir, 'never.json'))).toBe(false);
  });

  it('usage errors (exit 3), for commands at every depth', async () => {
    for (const args of [['frobnicate'], ['verify-device'], ['participant', 'add', '--admin-key', 'x'], ['witness', 'init'], ['serve', '--port', 'abc'], ['verify', 'l99.json', '--bogus'], ['audit', '--data', 'no-such-ledger']]) {
      const r = await run([...args, '--json']);
      expect(r.code, args.join(' ')).toBe(3);
      shape(r.stdout);
      expect(r.stderr, args.join(' ')).toBe('');
    }
  });

  it('serve --json prints one JSON line once listening, and its errors as JSON', async () => {
    const dir = await tempDir();
    try {
      expect((await runPedigree(dir.path, ['init', '--data', 'ledger'])).code).toBe(0);
      const child = spawn(process.execPath, [BIN, 'serve', '--data', 'ledger', '--port', '0', '--json'], { cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.on('exit', () => reject(new Error('serve exited')));
      });
      const up = JSON.parse(line) as { listening: string; origin: string; entries: number; graphql: string; trustedRoot: string };
      expect(up).toMatchObject({ origin: 'pedigree.local/log', entries: 0, graphql: `${up.listening}/graphql` });
      expect((await fetch(`${up.listening}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const busy = await runPedigree(dir.path, ['serve', '--data', 'missing', '--port', '0', '--json']);
      expect(busy.code).toBe(3);
      expect(shape(busy.stdout).code).toBe('LEDGER_MISSING');
    } finally {
      await dir.remove();
    }
  });
});
