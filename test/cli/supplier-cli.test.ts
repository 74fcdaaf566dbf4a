import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKeyPath } from '../../src/config/datadir.js';
import { startNode, type TestNode } from '../helpers.js';
import { runPedigree } from './run.js';

let node: TestNode;

const pedigree = (args: string[]) => runPedigree(node.dir, args);

beforeAll(async () => {
  node = await startNode();
});
afterAll(() => node.cleanup());

describe('supplier CLI', () => {
  it('keygen writes a 0600 private key, prints its ID, and never overwrites', async () => {
    const r = await pedigree(['keygen', '--out', 'k1', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { keyId: string; privateKey: string };
    expect(out.keyId).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(out.privateKey).mode & 0o777).toBe(0o600);
    const again = await pedigree(['keygen', '--out', 'k1']);
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/refusing to overwrite/);
  });

  it('attest by an unregistered key fails with the server code; after registration it works; after revocation it fails', async () => {
    await pedigree(['keygen', '--out', 'sup']);
    const attest = ['attest', '--server', node.url, '--key', 'sup.key', '--type', 'component', '--part-serial', 'sup:P1:S1', '--predicate', '{"partNumber":"P1","componentType":"valve"}', '--out', 'b.json'];
    const before = await pedigree(attest);
    expect(before.code).toBe(3);
    expect(before.stderr).toMatch(/SIGNER_UNKNOWN/);

    const add = await pedigree(['participant', 'add', '--server', node.url, '--admin-key', adminKeyPath(node.dir), '--name', 'Sup Ltd', '--id', 'sup', '--role', 'supplier', '--public-key', 'sup.pub', '--json']);
    expect(add.code, add.stderr).toBe(0);
    const ok = await pedigree([...attest, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ duplicate: false });

    const root = await (await fetch(`${node.url}/trusted_root.json`)).text();
    writeFileSync(join(node.dir, 'root.json'), root);
    const verified = await pedigree(['verify', 'b.json', '--trusted-root', 'root.json', '--public-key', 'sup.pub', '--json']);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true });

    const bundle = JSON.parse(readFileSync(join(node.dir, 'b.json'), 'utf8'));
    bundle.verificationMaterial.tlogEntries[0].logIndex = '0';
    writeFileSync(join(node.dir, 'bad.json'), JSON.stringify(bundle));
    const bad = await pedigree(['verify', 'bad.json', '--trusted-root', 'root.json', '--public-key', 'sup.pub']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^INVALID/);
    const fromUrl = await pedigree(['verify', 'b.json', '--trusted-root', `${node.url}/trusted_root.json`, '--public-key', 'sup.pub']);
    expect(fromUrl.code).toBe(0);
    // Two lines: who signed it and where it is logged, then what it says.
    expect(fromUrl.stdout).toMatch(/^VALID: signed by key [0-9a-f]{64}, in the log at index \d+ since [^\n]+\n {2}https:\/\/\S+ \(\d+ subject\(s\)\)\n$/);
    // Valid JSON that is not a bundle is an input error (exit 3), like a file that is not JSON.
    writeFileSync(join(node.dir, 'hello.json'), '{"hello":1}');
    const notBundle = await pedigree(['verify', 'hello.json', '--trusted-root', 'root.json', '--public-key', 'sup.pub']);
    expect(notBundle.code).toBe(3);
    expect(notBundle.stderr).toMatch(/not a Sigstore bundle/);
    const notRoot = await pedigree(['verify', 'b.json', '--trusted-root', 'sup.pub', '--public-key', 'sup.pub']);
    expect(notRoot.code).toBe(3);
    expect(notRoot.stderr).toMatch(/--trusted-root sup\.pub is not valid JSON/);
    const wrongRoot = await pedigree(['verify', 'b.json', '--trusted-root', 'hello.json', '--public-key', 'sup.pub']);
    expect(wrongRoot.code).toBe(3);
    expect(wrongRoot.stderr).toMatch(/--trusted-root hello\.json: not a Sigstore trusted root/);

    const revoke = await pedigree(['participant', 'revoke', '--server', node.url, '--admin-key', adminKeyPath(node.dir), '--id', 'sup', '--reason', 'compromise']);
    expect(revoke.code, revoke.stderr).toBe(0);
    // The statement already logged is still that entry; a new one by the revoked key is refused.
    const again = await pedigree([...attest.slice(0, -1), 'c.json', '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ duplicate: true });
    const after = await pedigree(attest.map((a) => (a === 'sup:P1:S1' ? 'sup:P1:S2' : a === 'b.json' ? 'd.json' : a)));
    expect(after.stderr).toMatch(/SIGNER_REVOKED/);
    const list = await pedigree(['participant', 'list', '--server', node.url]);
    expect(list.stdout).toMatch(/^sup\tsupplier\trevoked \(compromise\)/m);
  }, 60_000);

  it('reports an unreachable server and bad arguments with exit code 3', async () => {
    const r = await pedigree(['participant', 'list', '--server', 'http://127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach/);
    const bad = await pedigree(['attest', '--server', node.url, '--key', 'sup.key', '--out', 'x.json', '--type', 'component', '--udi', '(01)123']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--udi/);
  });
});
