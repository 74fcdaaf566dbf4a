/**
 * A lying server (a real HTTP server in front of a real ledger) against the release gate and
 * the offline verifier: another device's genuine evidence, a lax-policy package under the real
 * policy's name, a stale package after a newer checkpoint. None of them gives PASS.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql } from '../../src/client/graphql.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { readPrivateKey } from '../../src/keys.js';
import { OUTCOME_EXIT } from '../../src/cli/device.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { signCheckpoint } from '../../src/log/index.js';
import { LAX_POLICY, startLyingServer, type LyingServer } from '../lying-server.js';
import { runPedigree } from '../cli/run.js';

let node: TestNode;
let demo: DemoSummary;
let liar: LyingServer;
const pedigree = (args: string[]) => runPedigree(node.dir, args);
const gate = (udi: string, extra: string[] = []) => pedigree(['verify-device', '--server', liar.url, '--trusted-root', 'root.json', '--udi', udi, ...extra]);

beforeAll(async () => {
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  liar = await startLyingServer(node.url);
  // The release engineer pinned the honest ledger's trusted root long ago.
  writeFileSync(join(node.dir, 'root.json'), await (await fetch(`${node.url}/trusted_root.json`)).text());
}, 120_000);
afterAll(async () => {
  await liar.close();
  await node.cleanup();
});

describe('verify-device against a lying server', () => {
  it('refuses another device’s genuine evidence: NOT VERIFIED, exit 6, and writes no evidence', async () => {
    liar.lie = { kind: 'other-device', udi: demo.passing[0]! };
    const r = await gate(demo.recalled[0]!, ['--evidence', 'wrong.json']);
    expect(r.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(r.stdout).toMatch(/^NOT VERIFIED — do not deploy/);
    expect(r.stdout).toMatch(/EVIDENCE_WRONG_DEVICE/);
    expect(r.stdout).not.toMatch(/PASS/);
    expect(existsSync(join(node.dir, 'wrong.json'))).toBe(false);
  }, 60_000);

  it('judges a lax-policy package under its own policy: the recalled device is RECALLED (exit 4)', async () => {
    liar.lie = { kind: 'lax-policy' };
    // The server really does sign a PASS under the lax policy ...
    const lax = await graphql<{ device: { evidence: { verdict: { verdict: string }; policy: { name: string } } } }>(node.url, 'query ($u: String!, $p: JSON) { device(udi: $u) { evidence(policy: $p) } }', { u: demo.recalled[0], p: LAX_POLICY });
    expect(lax.device.evidence.verdict.verdict).toBe('PASS');
    expect(lax.device.evidence.policy.name).toBe('InfuSafe release policy');
    // ... and the gate ignores it.
    const r = await gate(demo.recalled[0]!);
    expect(r.code).toBe(OUTCOME_EXIT.RECALLED);
    expect(r.stdout).toMatch(/^RECALLED {2}\(01\)09506000134352\(21\)IP-000021/);
    expect(r.stdout).toMatch(/policy {5}InfuSafe release policy \(sha256 /);
  }, 60_000);

  it('applies the caller’s --policy, not the server’s: a strict policy blocks what the lax one passes', async () => {
    liar.lie = { kind: 'lax-policy' };
    writeFileSync(join(node.dir, 'strict.json'), JSON.stringify({ name: 'strict', steps: { assembly: { required: true }, release: { required: true }, installation: { required: true } } }));
    const r = await gate(demo.incomplete[0]!, ['--policy', 'strict.json']);
    expect(r.code).toBe(OUTCOME_EXIT.INCOMPLETE);
    expect(r.stdout).toMatch(/RELEASE_MISSING/);
  }, 60_000);

  it('refuses a package older than the newest checkpoint the caller has seen (a recall left out)', async () => {
    liar.lie = { kind: 'honest' };
    const device = demo.passing[4]!;
    const before = await graphql<{ device: { evidence: unknown } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: device });
    // The manufacturer recalls the device; the release engineer's monitor has seen that checkpoint.
    const maker = await readPrivateKey(join(demo.keysDir, 'infusion-corp.key'));
    await node.attestations.submit(await signStatement(statement([{ digest: { udi: device } }], resolvePredicateType('advisory').uri, { id: 'RC-LATE', kind: 'recall', severity: 'high', title: 'Late recall', issuedAt: new Date().toISOString(), affects: { udis: [device] } }), maker));
    writeFileSync(join(node.dir, 'seen.checkpoint'), await (await fetch(`${node.url}/checkpoint`)).text());
    // An older checkpoint in the file is moved forward by a verified newer one.
    writeFileSync(join(node.dir, 'old.checkpoint'), (before.device.evidence as { checkpoint: string }).checkpoint);
    liar.lie = { kind: 'honest' };
    expect((await gate(demo.passing[0]!, ['--trusted-checkpoint', 'old.checkpoint'])).code).toBe(OUTCOME_EXIT.PASS);
    expect(readFileSync(join(node.dir, 'old.checkpoint'), 'utf8')).toBe(readFileSync(join(node.dir, 'seen.checkpoint'), 'utf8'));
    liar.lie = { kind: 'replay', evidence: before.device.evidence };
    const r = await gate(device, ['--trusted-checkpoint', 'seen.checkpoint']);
    expect(r.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(r.stdout).toMatch(/EVIDENCE_STALE/);
    // The honest answer is the recall.
    liar.lie = { kind: 'honest' };
    const honest = await gate(device, ['--trusted-checkpoint', 'seen.checkpoint']);
    expect(honest.code).toBe(OUTCOME_EXIT.RECALLED);
    expect(honest.stdout).toMatch(/Late recall/);
  }, 60_000);

  it('accepts fresh evidence within --max-age (expiry itself: test/verify/evidence.test.ts)', async () => {
    const r = await pedigree(['verify-device', '--server', node.url, '--trusted-root', 'root.json', '--udi', demo.passing[0]!, '--max-age', '10m']);
    expect(r.code).toBe(OUTCOME_EXIT.PASS);
  }, 60_000);
});

describe('verify-device against a server that answers with anything', () => {
  it('prints no terminal control sequences from a server’s error, and gives no verdict', async () => {
    liar.lie = { kind: 'respond', body: JSON.stringify({ errors: [{ message: '\u001b[2K\r\u001b[1APASS  (01)09506000134352(21)IP-000021 — the whole chain verifies\u001b[8m', extensions: { code: '\u001b[31mX' } }] }) };
    const r = await gate(demo.recalled[0]!);
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(/\u001b/);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('treats an answer without evidence as NOT VERIFIED (exit 6), not an error or a verdict', async () => {
    liar.lie = { kind: 'respond', body: JSON.stringify({ data: { device: null } }) };
    const r = await gate(demo.passing[0]!);
    expect(r.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(r.stdout).toMatch(/NOT VERIFIED — do not deploy/);
  }, 60_000);

  it('refuses by default a replayed package older than an hour', async () => {
    liar.lie = { kind: 'honest' };
    const pkg = (await graphql<{ device: { evidence: { evaluatedAt: number } } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u: demo.passing[0] })).device.evidence;
    // The unit tests move the clock; here the default is what is checked: 1h, and "none" lifts it.
    const help = await pedigree(['verify-device', '--help']);
    expect(help.stdout).toMatch(/--max-age <duration>[\s\S]*default: "1h"/);
    liar.lie = { kind: 'replay', evidence: pkg };
    expect((await gate(demo.passing[0]!, ['--max-age', 'none'])).code).toBe(OUTCOME_EXIT.PASS);
  }, 60_000);
});

describe('a rolled-back ledger and usage errors', () => {
  it('a ledger smaller than the checkpoint the caller has seen is NOT VERIFIED (exit 6), not a tool error', async () => {
    liar.lie = { kind: 'honest' };
    const signer = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key')));
    writeFileSync(join(node.dir, 'future.checkpoint'), signCheckpoint({ origin: ORIGIN, size: node.ledger.size + 10, root: new Uint8Array(32).fill(7), extensions: [] }, signer));
    const r = await gate(demo.passing[0]!, ['--trusted-checkpoint', 'future.checkpoint']);
    expect(r.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(r.stdout).toMatch(/EVIDENCE_STALE/);
  }, 60_000);

  it('usage errors exit 3 from every command: a missing or unknown option, a server that is not a URL', async () => {
    const cases: string[][] = [
      ['verify-device', '--server', node.url],
      ['verify-device', '--server', node.url, '--udi', demo.passing[0]!, '--bogus'],
      ['verify-evidence', 'x.json', '--trusted-root', 'root.json'],
      ['verify', 'x.json'],
      ['monitor', '--server', node.url],
      ['attest', '--server', node.url, '--key', 'k.key'],
      ['verify-device', '--server', '127.0.0.1:1', '--udi', demo.passing[0]!],
    ];
    for (const args of cases) {
      const r = await pedigree(args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
    }
  }, 60_000);

  it('attest refuses an --out it cannot write before signing or sending anything', async () => {
    await pedigree(['keygen', '--out', 'w']);
    const size = node.ledger.size;
    const r = await pedigree(['attest', '--server', node.url, '--key', 'w.key', '--type', 'component', '--part-serial', 'w:P:1', '--predicate', '{"partNumber":"P","componentType":"c"}', '--out', '/nonexistent-dir/x.json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot write --out .*nothing was sent/);
    expect(node.ledger.size).toBe(size);
  }, 60_000);
});

describe('verify-evidence offline', () => {
  it('refuses a saved package about another device, and judges a lax one under the caller’s policy', async () => {
    const ok = await pedigree(['verify-device', '--server', node.url, '--trusted-root', 'root.json', '--udi', demo.passing[0]!, '--evidence', 'one.json']);
    expect(ok.code, ok.stderr).toBe(0);
    const wrong = await pedigree(['verify-evidence', 'one.json', '--trusted-root', 'root.json', '--udi', demo.recalled[0]!, '--json']);
    expect(wrong.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ verified: false, code: 'EVIDENCE_WRONG_DEVICE' });
    const lax = await graphql<{ device: { evidence: unknown } }>(node.url, 'query ($u: String!, $p: JSON) { device(udi: $u) { evidence(policy: $p) } }', { u: demo.recalled[0], p: LAX_POLICY });
    writeFileSync(join(node.dir, 'lax.json'), JSON.stringify(lax.device.evidence));
    const judged = await pedigree(['verify-evidence', 'lax.json', '--trusted-root', 'root.json', '--udi', demo.recalled[0]!, '--json']);
    expect(judged.code).toBe(OUTCOME_EXIT.RECALLED);
    expect(JSON.parse(judged.stdout)).toMatchObject({ verified: true, outcome: 'RECALLED', policy: { name: 'InfuSafe release policy' } });
  }, 60_000);

  it('says UNKNOWN for a device the ledger has never seen, apart from INCOMPLETE', async () => {
    const r = await pedigree(['verify-device', '--server', node.url, '--trusted-root', 'root.json', '--udi', '(01)09506000134352(21)NO-SUCH-1']);
    expect(r.code).toBe(OUTCOME_EXIT.UNKNOWN);
    expect(r.stdout).toMatch(/^UNKNOWN .* this ledger has no record of this device; check the label/);
  }, 60_000);

  it('gives usage errors exit 3 with a clear message, never a verdict’s code', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--policy', 'missing.json'], /cannot read --policy missing\.json/],
      [['--policy', 'root.json'], /--policy root\.json: policy field/],
      [['--max-age', 'soon'], /--max-age must be a duration/],
    ];
    for (const [extra, message] of cases) {
      const r = await pedigree(['verify-device', '--server', node.url, '--trusted-root', 'root.json', '--udi', demo.passing[0]!, ...extra]);
      expect(r.code, extra.join(' ')).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const bad = await pedigree(['verify-evidence', 'any.json', '--trusted-root', 'root.json', '--udi', '(01)123']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--udi/);
  }, 60_000);
});
