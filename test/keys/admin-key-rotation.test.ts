/**
 * Handing the administrator over to a new key (issue 13): an administrator-key statement
 * signed with the current key, logged; then only the new key signs registry statements, at
 * ingestion, after a restart and in every evidence verifier, while registrations made before
 * keep verifying offline. Real keys, real ledger, the real command line.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY_URI, PARTICIPANT_URI } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql } from '../../src/client/graphql.js';
import { adminKeyPath, adminPubPath, logKeyPath } from '../../src/config/datadir.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { publicPem, readPrivateKey, readPublicKey } from '../../src/keys.js';
import { signEvidence, type EvidencePackage } from '../../src/provenance/evidence.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { TrustRegistry } from '../../src/trust/registry.js';
import { keyIdOf, spkiPem } from '../../src/trust/keys.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { ORIGIN, messageOf, outcomeCode, startNode, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { party, registration } from '../attest/fixtures.js';
import { runPedigree } from '../cli/run.js';

const handover = (publicKey: KeyObject) =>
  statement([{ name: 'participant:admin', digest: { participant: 'admin' } }], ADMIN_KEY_URI, { publicKey: spkiPem(publicKey), issuedAt: new Date().toISOString() });
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const now = () => Math.floor(Date.now() / 1000);
const code = (f: () => unknown) => outcomeCode(f);
const refusal = async (p: Promise<unknown>) => p.then(() => 'accepted', (e: { code?: string }) => e.code);
const predicateOf = (b: any) => JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()).predicateType as string;
const logIndexOf = (b: any) => Number(b.verificationMaterial.tlogEntries[0].logIndex);

let node: TestNode;
let s: Scenario;
let oldAdmin: KeyObject;
let newAdmin: KeyObject;
let handoverIndex: number;
let root: unknown;
const evidence = async (u: string) => (await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u })).device.evidence;
const submit = (st: unknown, key: KeyObject) => signStatement(st, key).then((b) => node.attestations.submit(b));

beforeAll(async () => {
  node = await startNode();
  s = await buildScenario(node);
  oldAdmin = node.adminKey;
  root = await (await fetch(`${node.url}/trusted_root.json`)).json();
}, 60_000);
afterAll(() => node.cleanup());

describe('the administrator hand-over', () => {
  it('refuses a hand-over signed by anyone but the administrator: a participant, an unknown key', async () => {
    const attacker = p256();
    expect(await refusal(submit(handover(attacker.publicKey), s.parties.maker!.privateKey))).toBe('ROLE_NOT_ALLOWED');
    expect(await refusal(submit(handover(attacker.publicKey), attacker.privateKey))).toBe('SIGNER_UNKNOWN');
    // Nor to a key that is already someone's, nor to the administrator's own key.
    expect(await refusal(submit(handover(s.parties.maker!.publicKey), oldAdmin))).toBe('REGISTRATION_INVALID');
    expect(await refusal(submit(handover(createPublicKey(oldAdmin)), oldAdmin))).toBe('REGISTRATION_INVALID');
  });

  it('pedigree rotate-admin-key logs the hand-over and installs the new key in the data directory', async () => {
    const keygen = await runPedigree(node.dir, ['keygen', '--out', join(node.dir, 'next-admin')]);
    expect(keygen.code, keygen.stderr).toBe(0);
    const r = await runPedigree(node.dir, ['rotate-admin-key', '--server', node.url, '--admin-key', adminKeyPath(node.dir), '--new-key', join(node.dir, 'next-admin.key'), '--data', node.dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    newAdmin = await readPrivateKey(join(node.dir, 'next-admin.key'));
    expect(out).toMatchObject({ duplicate: false, oldKeyId: keyIdOf(oldAdmin), newKeyId: keyIdOf(newAdmin), adminKey: adminKeyPath(node.dir) });
    handoverIndex = out.logIndex;
    // admin.key and admin.pub are the new key's; the old private key is kept aside, 0600.
    expect(publicPem(await readPrivateKey(adminKeyPath(node.dir)))).toBe(publicPem(newAdmin));
    expect(publicPem(await readPublicKey(adminPubPath(node.dir)))).toBe(publicPem(newAdmin));
    expect(statSync(adminKeyPath(node.dir)).mode & 0o777).toBe(0o600);
    const retired = readdirSync(node.dir).filter((f) => f.startsWith('admin.key.retired-'));
    expect(retired).toHaveLength(1);
    expect(statSync(join(node.dir, retired[0]!)).mode & 0o777).toBe(0o600);
    expect(publicPem(await readPrivateKey(join(node.dir, retired[0]!)))).toBe(publicPem(oldAdmin));
    // The registry shows the administrator's two keys, the old one superseded from the hand-over.
    const admin = node.attestations.registry.get('admin')!;
    expect(admin.keys.map((k) => [k.keyId, k.revocation?.reason ?? null])).toEqual([
      [keyIdOf(oldAdmin), 'superseded'],
      [keyIdOf(newAdmin), null],
    ]);
  });

  it('refuses the old key for new registrations (and for another hand-over), accepts the new one', async () => {
    const late = party('late-joiner');
    expect(await refusal(submit(registration(late, ['distributor']), oldAdmin))).toBe('SIGNER_REVOKED');
    expect(await refusal(submit(handover(p256().publicKey), oldAdmin))).toBe('SIGNER_REVOKED');
    // Through the command line too, with the retired key file.
    const retired = readdirSync(node.dir).find((f) => f.startsWith('admin.key.retired-'))!;
    const pub = join(node.dir, 'late.pub');
    await writeFile(pub, spkiPem(late.publicKey));
    const refused = await runPedigree(node.dir, ['participant', 'add', '--server', node.url, '--admin-key', retired, '--name', 'Late Joiner', '--id', 'late-joiner', '--role', 'distributor', '--public-key', pub]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/SIGNER_REVOKED/);
    const added = await runPedigree(node.dir, ['participant', 'add', '--server', node.url, '--admin-key', adminKeyPath(node.dir), '--name', 'Late Joiner', '--id', 'late-joiner', '--role', 'distributor', '--public-key', pub, '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout).logIndex).toBeGreaterThan(handoverIndex);
  });

  it('holds after a restart: the registry is rebuilt with the hand-over, and the data directory audits consistent', async () => {
    const dir = node.dir;
    await node.server.close();
    await node.ledger.close();
    const audit = await runPedigree(dir, ['audit', '--data', dir, '--json']);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ consistent: true });
    const reopened = await startNode({ dir: dir });
    node = { ...reopened, cleanup: () => reopened.cleanup().then(() => rm(dir, { recursive: true, force: true })) };
    const again = party('after-restart');
    expect(await refusal(submit(registration(again, ['qa']), oldAdmin))).toBe('SIGNER_REVOKED');
    expect((await submit(registration(again, ['qa']), newAdmin)).duplicate).toBe(false);
  });
});

describe('evidence verifiers across a hand-over', () => {
  let pkg: EvidencePackage;
  const expectFor = () => ({ udi: s.udi, policy: defaultPolicy(), now: now() });
  beforeAll(async () => {
    pkg = await evidence(s.udi);
  });

  it('verify a package whose registry was signed by the old key before the hand-over and by the new key after it (PASS)', () => {
    const registry = pkg.bundles.filter((b: any) => predicateOf(b) === PARTICIPANT_URI || predicateOf(b) === ADMIN_KEY_URI);
    const hints = new Set(registry.map((b: any) => b.verificationMaterial.publicKey.hint));
    expect(hints).toEqual(new Set([keyIdOf(oldAdmin), keyIdOf(newAdmin)]));
    expect(registry.some((b: any) => logIndexOf(b) === handoverIndex && predicateOf(b) === ADMIN_KEY_URI)).toBe(true);
    expect(verifyEvidence(pkg, root, expectFor()).outcome).toBe('PASS');
  });

  it('refuse a hand-over (or any registry entry) that claims a participant key, not an administrator key', async () => {
    const logKey = await readPrivateKey(logKeyPath(node.dir));
    const resigned = (mutate: (b: any) => void) => {
      const p: any = structuredClone(pkg);
      mutate(p.bundles.find((x: any) => logIndexOf(x) === handoverIndex));
      delete p.signature;
      return signEvidence(p, ed25519NoteSigner(ORIGIN, logKey));
    };
    const forged = resigned((b) => (b.verificationMaterial.publicKey.hint = keyIdOf(s.parties.maker!.publicKey)));
    expect(code(() => verifyEvidence(forged, root, expectFor()))).toBe('SIGNER_UNKNOWN');
    expect(messageOf(() => verifyEvidence(forged, root, expectFor()))).toMatch(/as an administrator key/);
    // Left out of the package, the hand-over is missed: the new key's registrations are then unknown.
    const p: any = structuredClone(pkg);
    p.bundles = p.bundles.filter((x: any) => logIndexOf(x) !== handoverIndex);
    delete p.signature;
    expect(code(() => verifyEvidence(signEvidence(p, ed25519NoteSigner(ORIGIN, logKey)), root, expectFor()))).toBe('SIGNER_UNKNOWN');
    // Unchanged and signed again, it verifies: the refusals are for the changes alone.
    expect(verifyEvidence(resigned(() => undefined), root, expectFor()).outcome).toBe('PASS');
  });

  it('the registry every verifier rebuilds applies the hand-over in log order', () => {
    const next = p256();
    const reg = new TrustRegistry(spkiPem(createPublicKey(oldAdmin)));
    const oldId = keyIdOf(oldAdmin);
    reg.apply(handover(next.publicKey) as never, 7, 1000);
    expect(() => reg.checkSigner(oldId, 999)).not.toThrow();
    expect(() => reg.checkSigner(oldId, 1000)).toThrow(expect.objectContaining({ code: 'SIGNER_REVOKED' }));
    expect(reg.checkSigner(keyIdOf(next.publicKey), 1000).participant.id).toBe('admin');
    expect(reg.adminKeys(1000).map((k) => k.keyId)).toEqual([keyIdOf(next.publicKey)]);
  });
});
