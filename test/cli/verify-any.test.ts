/**
 * `pedigree verify` on a bundle another Sigstore client made: the shipped public-good root, the
 * expected certificate identity and the artifact in hand; each failure names its check.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPedigree } from './run.js';

const fixtures = JSON.parse(readFileSync(new URL('../vectors/sigstore-js/bundles.json', import.meta.url), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'pedigree-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'dsse.json'), JSON.stringify(fixtures.valid.v3.dsse.withSigningCert));
writeFileSync(join(dir, 'expired.json'), JSON.stringify(fixtures.invalid.v1.messageSignature.invalidExpiredCert));
writeFileSync(join(dir, 'hello.txt'), Buffer.from(fixtures.artifact, 'base64'));
const timestamped = JSON.parse(readFileSync(new URL('../vectors/sigstore-js/timestamped.json', import.meta.url), 'utf8'));
writeFileSync(join(dir, 'rekor-v2.json'), JSON.stringify(timestamped.bundles['v0.3 message signature, Rekor v2 hashedrekord 0.0.2, RFC 3161 timestamp']));
writeFileSync(join(dir, 'other.txt'), 'goodbye, world!');
const identity = ['--certificate-identity', 'brian@dehamer.com', '--certificate-oidc-issuer', 'https://github.com/login/oauth'];
const pedigree = (args: string[]) => runPedigree(dir, ['verify', ...args]);

describe('pedigree verify, for any Sigstore bundle', () => {
  it('accepts a public-good bundle for its identity and artifact (exit 0) and says what failed otherwise (exit 1)', async () => {
    const ok = await pedigree(['dsse.json', '--sigstore-public-good', ...identity, '--artifact', 'hello.txt']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^VALID: signed by brian@dehamer\.com \(issuer https:\/\/github\.com\/login\/oauth\), in the log at index \d+/);
    const who = await pedigree(['dsse.json', '--sigstore-public-good', '--certificate-identity', 'mallory@example.com', '--certificate-oidc-issuer', 'https://github.com/login/oauth', '--json']);
    expect(who.code).toBe(1);
    expect(JSON.parse(who.stdout)).toMatchObject({ valid: false, code: 'IDENTITY_MISMATCH' });
    const what = await pedigree(['dsse.json', '--sigstore-public-good', ...identity, '--artifact', 'other.txt']);
    expect(what.code).toBe(1);
    expect(what.stdout).toMatch(/INVALID: the signed text\/plain payload is not the artifact .*ARTIFACT_MISMATCH/);
    const when = await pedigree(['expired.json', '--sigstore-public-good', ...identity, '--artifact', 'hello.txt']);
    expect(when.code).toBe(1);
    expect(when.stdout).toMatch(/signing time is outside the certificate's validity .*CERTIFICATE_NOT_VALID_AT_SIGNING/);
    const pattern = await pedigree(['dsse.json', '--sigstore-public-good', '--certificate-identity-regexp', '^brian@dehamer\\.com$', '--certificate-oidc-issuer', 'https://github.com/login/oauth', '--digest', `sha256:${'0'.repeat(64)}`]);
    expect(pattern.code).toBe(1);
    expect(pattern.stdout).toMatch(/ARTIFACT_MISMATCH/);
  });

  it('gives up on a trusted-root URL that never answers, and says a non-JSON answer is not a trusted root (exit 3)', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => undefined); // accepts, never answers
    const html = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not a root</html>'));
    await Promise.all([silent, html].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    const url = (s: typeof silent) => `http://127.0.0.1:${(s.address() as { port: number }).port}/trusted_root.json`;
    try {
      const notJson = await pedigree(['dsse.json', '--trusted-root', url(html), ...identity]);
      expect(notJson.code).toBe(3);
      expect(notJson.stderr).toMatch(/--trusted-root: .* did not answer JSON/);
      // The same fetch, with a short limit instead of the 30 s the command allows.
      const { loadTrustedRoot } = await import('../../src/cli/util.js');
      await expect(loadTrustedRoot(url(silent), 200)).rejects.toThrow(/--trusted-root: cannot fetch .*: no answer within 0.2 s/);
    } finally {
      silent.closeAllConnections();
      await Promise.all([silent, html].map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('says where a Rekor v2 entry is without inventing a log time (its time comes from the timestamp authority)', async () => {
    const r = await pedigree(['rekor-v2.json', '--sigstore-public-good', ...identity, '--artifact', 'hello.txt']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^VALID: signed by brian@dehamer\.com \(issuer https:\/\/github\.com\/login\/oauth\), in the log at index \d+, over the artifact given\n$/);
  });

  it('refuses usage it cannot answer with exit 3: no trust named, no signer named, a bad digest', async () => {
    const noTrust = await pedigree(['dsse.json', ...identity]);
    expect(noTrust.code).toBe(3);
    expect(noTrust.stderr).toMatch(/--trusted-root .*--sigstore-public-good/);
    const noSigner = await pedigree(['dsse.json', '--sigstore-public-good']);
    expect(noSigner.code).toBe(3);
    expect(noSigner.stderr).toMatch(/name the signer you expect/);
    const badDigest = await pedigree(['dsse.json', '--sigstore-public-good', ...identity, '--digest', 'md5:abc']);
    expect(badDigest.code).toBe(3);
    expect(badDigest.stderr).toMatch(/--digest must be sha256:/);
  });
});
