/**
 * Rotating the log key (issue 13): a real ledger with a device's supply chain, stopped, its log
 * key rotated (pedigree rotate-log-key's code), started again and grown. Receipts obtained
 * before keep verifying with stock @sigstore/verify against the new trusted root, bundles
 * fetched again keep their original timestamps and log ID, evidence mixing both terms verifies,
 * and a retired (stolen) key cannot vouch for an entry dated after it was retired.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signEntryTimestamp } from '../../src/attest/rekor.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { verifyBundle } from '../../src/attest/verify.js';
import { graphql } from '../../src/client/graphql.js';
import { initDataDir, loadDataDir, logKeyPath } from '../../src/config/datadir.js';
import { rotateLogKey, type LogKeyRotation } from '../../src/config/rotate.js';
import { ed25519NoteSigner, ed25519NoteVerifier, ed25519Raw } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { ed25519KeyHash, openCheckpoint, parseCheckpoint, parseNote } from '../../src/log/index.js';
import { signEvidence, type EvidencePackage } from '../../src/provenance/evidence.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { ORIGIN, messageOf, outcomeCode, startNode, tempDir, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { runPedigree } from '../cli/run.js';

const t = (name: string) => resolvePredicateType(name).uri;
const now = () => Math.floor(Date.now() / 1000);
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const code = (f: () => unknown) => outcomeCode(f);
const expectFor = () => ({ udi: s.udi, policy: defaultPolicy(), now: now() });
const tlogOf = (b: any) => b.verificationMaterial.tlogEntries[0];
const predicateOf = (b: any) => JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()).predicateType as string;

let dir: { path: string; remove: () => Promise<void> };
let node: TestNode;
let s: Scenario;
let root0: any;
let root1: any;
let pkg0: EvidencePackage;
let receipt: any;
let receiptIndex: number;
let checkpoint0: string;
let handoverServed: string;
let rotation: LogKeyRotation;
let oldLogKey: KeyObject;
let newLogKey: KeyObject;
let oldLogId: Buffer;
let newLogId: Buffer;
const evidence = async (u: string) => (await graphql<{ device: { evidence: EvidencePackage } }>(node.url, 'query ($u: String!) { device(udi: $u) { evidence } }', { u })).device.evidence;
const fetchRoot = async () => (await fetch(`${node.url}/trusted_root.json`)).json();

beforeAll(async () => {
  dir = await tempDir('pedigree-rotate-');
  await initDataDir(dir.path, ORIGIN);
  node = await startNode({ dir: dir.path });
  s = await buildScenario(node, { skip: ['custody', 'installation'] });
  const device = [{ digest: { udi: s.udi } }];
  // A receipt handed to a customer before the rotation.
  const r = await node.attestations.submit(await signStatement(statement(device, t('custody-transfer'), { from: 'maker', to: 'dist', transferredAt: '2026-11-02T00:00:00Z' }), s.parties.maker!.privateKey));
  receipt = r.bundle;
  receiptIndex = r.record.logIndex;
  root0 = await fetchRoot();
  pkg0 = await evidence(s.udi);
  checkpoint0 = node.ledger.checkpoint;
  writeFileSync(join(dir.path, 'root0.json'), JSON.stringify(root0));
  oldLogKey = await readPrivateKey(logKeyPath(dir.path));
  // A monitor that has seen the log before the rotation.
  const m = await runPedigree(dir.path, ['monitor', '--server', node.url, '--trusted-root', 'root0.json', '--state', 'old-root-monitor.json', '--once']);
  expect(m.code, m.stderr).toBe(0);
  expect((await runPedigree(dir.path, ['monitor', '--server', node.url, '--trusted-root', 'root0.json', '--state', 'following-monitor.json', '--once'])).code).toBe(0);

  await node.cleanup();
  rotation = await rotateLogKey(dir.path);
  node = await startNode({ dir: dir.path });
  handoverServed = await (await fetch(`${node.url}/checkpoint`)).text();
  newLogKey = await readPrivateKey(logKeyPath(dir.path));
  oldLogId = Buffer.from(ed25519KeyHash(ORIGIN, ed25519Raw(oldLogKey)));
  newLogId = Buffer.from(ed25519KeyHash(ORIGIN, ed25519Raw(newLogKey)));
  // The device's chain goes on after the rotation.
  const submit = async (st: Record<string, unknown>, key: KeyObject) => node.attestations.submit(await signStatement(st, key));
  await submit(statement(device, t('custody-transfer'), { from: 'dist', to: 'hospital', transferredAt: '2026-11-02T06:00:00Z' }), s.parties.dist!.privateKey);
  await submit(statement(device, t('installation'), { site: { name: 'Ward 1' }, installedAt: '2026-11-03T00:00:00Z' }), s.parties.hosp!.privateKey);
  root1 = await fetchRoot();
  writeFileSync(join(dir.path, 'root1.json'), JSON.stringify(root1));
}, 120_000);
afterAll(async () => {
  await node.cleanup();
  await dir.remove();
});

describe('the data directory after a log key rotation', () => {
  it('has a new log.key, the old key retired (0600), and the key history with each term in ledger.json', async () => {
    expect(createPublicKey(newLogKey).export({ format: 'pem', type: 'spki' })).not.toEqual(createPublicKey(oldLogKey).export({ format: 'pem', type: 'spki' }));
    expect(statSync(logKeyPath(dir.path)).mode & 0o777).toBe(0o600);
    expect(statSync(rotation.retiredKeyFile).mode & 0o777).toBe(0o600);
    expect(rotation.retiredKeyFile).toMatch(/log\.key\.retired-\d{4}-/);
    expect((await readPrivateKey(rotation.retiredKeyFile)).export({ format: 'pem', type: 'pkcs8' })).toEqual(oldLogKey.export({ format: 'pem', type: 'pkcs8' }));
    const { config } = await loadDataDir(dir.path);
    expect(config.logPublicKey).toBe(createPublicKey(newLogKey).export({ format: 'pem', type: 'spki' }).toString());
    expect(config.logKeys).toEqual([
      { publicKey: createPublicKey(oldLogKey).export({ format: 'pem', type: 'spki' }).toString(), validFrom: config.createdAt, validUntil: rotation.rotatedAt, firstIndex: 0 },
      { publicKey: config.logPublicKey, validFrom: rotation.newKeyFrom, firstIndex: receiptIndex + 1 },
    ]);
    expect(rotation.treeSize).toBe(receiptIndex + 1);
    expect(rotation.oldLogId).toBe(oldLogId.toString('hex'));
    expect(rotation.newLogId).toBe(newLogId.toString('hex'));
  });

  it('serves a trusted root listing each key as its own log, with its log ID and validity', () => {
    expect(root0.tlogs).toHaveLength(1);
    expect(root1.tlogs).toHaveLength(2);
    const [old, cur] = root1.tlogs;
    expect(old.logId.keyId).toBe(b64(oldLogId));
    expect(cur.logId.keyId).toBe(b64(newLogId));
    // SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ raw key), as before the rotation.
    const id = (k: KeyObject) => createHash('sha256').update(Buffer.concat([Buffer.from(`${ORIGIN}\n`), Buffer.from([1]), Buffer.from(ed25519Raw(k))])).digest('base64');
    expect([old.logId.keyId, cur.logId.keyId]).toEqual([id(oldLogKey), id(newLogKey)]);
    expect(old.publicKey.validFor).toEqual({ start: root0.tlogs[0].publicKey.validFor.start, end: rotation.rotatedAt });
    expect(cur.publicKey.validFor).toEqual({ start: rotation.newKeyFrom });
    // The terms do not overlap: no time is valid for both keys.
    expect(Date.parse(rotation.newKeyFrom) - Date.parse(rotation.rotatedAt)).toBe(1000);
    expect(old.publicKey.rawBytes).toBe(root0.tlogs[0].publicKey.rawBytes);
  });

  it('signs the first checkpoint after the rotation with both keys (the hand-over), the next ones with the new key only', () => {
    expect(handoverServed).toBe(rotation.handoverCheckpoint);
    const oldV = ed25519NoteVerifier(ORIGIN, createPublicKey(oldLogKey));
    const newV = ed25519NoteVerifier(ORIGIN, createPublicKey(newLogKey));
    // The same tree the old key last signed, now vouched for by both.
    expect(parseNote(handoverServed).text).toBe(parseNote(checkpoint0).text);
    expect(openCheckpoint(handoverServed, oldV).size).toBe(rotation.treeSize);
    expect(openCheckpoint(handoverServed, newV).size).toBe(rotation.treeSize);
    const latest = node.ledger.checkpoint;
    expect(openCheckpoint(latest, newV).size).toBe(rotation.treeSize + 2);
    expect(() => openCheckpoint(latest, oldV)).toThrow(/not signed by any known key/);
  });
});

describe('Sigstore clients after a log key rotation (stock @sigstore/verify)', () => {
  it('(a) a receipt obtained before the rotation verifies against the new trusted root, as it did against the old one', () => {
    const maker = s.parties.maker!.publicKey;
    expect(tlogOf(receipt).logId.keyId).toBe(b64(oldLogId));
    expect(code(() => verifyBundle(receipt, [root1], { publicKeys: [maker] }))).toBe('VALID');
    expect(code(() => verifyBundle(receipt, [root0], { publicKeys: [maker] }))).toBe('VALID');
  });

  it('(b) a bundle fetched again for an entry from before keeps its timestamp and log ID, is proved against a checkpoint of the new key, and verifies', async () => {
    const again = (await graphql<{ attestation: { bundle: any } }>(node.url, 'query ($i: Int!) { attestation(logIndex: $i) { bundle } }', { i: receiptIndex })).attestation.bundle;
    const e = tlogOf(again);
    expect(e.logId.keyId).toBe(b64(oldLogId));
    expect(e.inclusionPromise).toEqual(tlogOf(receipt).inclusionPromise);
    expect(e.integratedTime).toBe(tlogOf(receipt).integratedTime);
    expect(Number(e.inclusionProof.treeSize)).toBe(rotation.treeSize + 2);
    expect(openCheckpoint(e.inclusionProof.checkpoint.envelope, ed25519NoteVerifier(ORIGIN, createPublicKey(newLogKey))).size).toBe(rotation.treeSize + 2);
    const maker = s.parties.maker!.publicKey;
    expect(code(() => verifyBundle(again, [root1], { publicKeys: [maker] }))).toBe('VALID');
    // Its checkpoint is the new key's: a client still holding only the old root cannot check it.
    expect(code(() => verifyBundle(again, [root0], { publicKeys: [maker] }))).not.toBe('VALID');
  });

  it('a bundle for an entry after the rotation names the new key, verifies with the new root and not with the old one', async () => {
    const last = await node.attestations.record(node.ledger.size - 1);
    const b = await node.attestations.completedBundle(last!);
    expect(tlogOf(b).logId.keyId).toBe(b64(newLogId));
    const hosp = s.parties.hosp!.publicKey;
    expect(code(() => verifyBundle(b, [root1], { publicKeys: [hosp] }))).toBe('VALID');
    expect(code(() => verifyBundle(b, [root0], { publicKeys: [hosp] }))).toBe('UNTRUSTED_LOG');
  });

  it('refuses a bundle whose timestamp a stolen retired key made for a time after its retirement', async () => {
    const last = await node.attestations.record(node.ledger.size - 1);
    const b: any = structuredClone(await node.attestations.completedBundle(last!));
    const e = tlogOf(b);
    e.logId.keyId = b64(oldLogId);
    e.inclusionPromise.signedEntryTimestamp = signEntryTimestamp(oldLogKey, oldLogId, Buffer.from(e.canonicalizedBody, 'base64'), Number(e.logIndex), Number(e.integratedTime)).toString('base64');
    expect(code(() => verifyBundle(b, [root1], { publicKeys: [s.parties.hosp!.publicKey] }))).toBe('TLOG_PROMISE_INVALID');
  });
});

describe('the evidence verifier after a log key rotation', () => {
  let pkg1: EvidencePackage;
  beforeAll(async () => {
    pkg1 = await evidence(s.udi);
  });
  const entryNamed = (p: any, type: string) => p.bundles.find((b: any) => predicateOf(b) === t(type) && Number(tlogOf(b).logIndex) >= rotation.treeSize);
  /** The package changed by `mutate` and signed again with the current log key (a dishonest operator). */
  const resigned = (mutate: (p: any) => void) => {
    const p: any = structuredClone(pkg1);
    mutate(p);
    delete p.signature;
    return signEvidence(p, ed25519NoteSigner(ORIGIN, newLogKey));
  };

  it('(c) verifies a package mixing entries from before and after the rotation (PASS)', () => {
    const ids = new Set(pkg1.bundles.map((b: any) => tlogOf(b).logId.keyId));
    expect(ids).toEqual(new Set([b64(oldLogId), b64(newLogId)]));
    const r = verifyEvidence(pkg1, root1, expectFor());
    expect(r.outcome).toBe('PASS');
    expect(r.checkpoint.size).toBe(rotation.treeSize + 2);
  });

  it('checks the checkpoint and the package signature with the current key only', () => {
    // The old root does not know the key that signed the package: said as a key it does not hold.
    expect(code(() => verifyEvidence(pkg1, root0, expectFor()))).toBe('UNTRUSTED_LOG');
    expect(() => verifyEvidence(pkg1, root0, expectFor())).toThrow(/a key rotated since you pinned the root/);
    // A package issued before the rotation is the retired key's: fetch it again.
    expect(code(() => verifyEvidence(pkg0, root1, expectFor()))).toBe('UNTRUSTED_LOG');
    expect(verifyEvidence(pkg0, root0, expectFor()).checkpoint.size).toBe(rotation.treeSize);
  });

  it('refuses an entry after the rotation whose timestamp the stolen retired key made (its time, or backdated into its term)', () => {
    const forge = (backdate: boolean) =>
      resigned((p) => {
        const e = tlogOf(entryNamed(p, 'installation'));
        if (backdate) e.integratedTime = String(Math.floor(Date.parse(rotation.rotatedAt) / 1000) - 1);
        e.logId.keyId = b64(oldLogId);
        e.inclusionPromise.signedEntryTimestamp = signEntryTimestamp(oldLogKey, oldLogId, Buffer.from(e.canonicalizedBody, 'base64'), Number(e.logIndex), Number(e.integratedTime)).toString('base64');
      });
    const atItsTime = forge(false);
    expect(code(() => verifyEvidence(atItsTime, root1, expectFor()))).toBe('BUNDLE_INVALID');
    expect(messageOf(() => verifyEvidence(atItsTime, root1, expectFor()))).toMatch(/names a log key that was not valid at its integration time/);
    // Backdated into the old key's term, it runs backwards against the entries before it.
    expect(code(() => verifyEvidence(forge(true), root1, expectFor()))).toBe('BUNDLE_INVALID');
    // The package signed again without a change verifies: the refusals are for the forgery alone.
    expect(verifyEvidence(resigned(() => undefined), root1, expectFor()).outcome).toBe('PASS');
  });

  it('refuses an entry from before the rotation re-timestamped by the new key (not valid then)', () => {
    const p = resigned((p) => {
      const b = p.bundles.find((x: any) => Number(tlogOf(x).logIndex) === receiptIndex);
      const e = tlogOf(b);
      e.logId.keyId = b64(newLogId);
      e.inclusionPromise.signedEntryTimestamp = signEntryTimestamp(newLogKey, newLogId, Buffer.from(e.canonicalizedBody, 'base64'), Number(e.logIndex), Number(e.integratedTime)).toString('base64');
    });
    expect(messageOf(() => verifyEvidence(p, root1, expectFor()))).toMatch(/not valid at its integration time/);
  });

  it('refuses an entry whose timestamp does not verify with the key its log ID names', () => {
    const p = resigned((p) => {
      const e = tlogOf(entryNamed(p, 'installation'));
      // The new key's log ID, but the old key's signature over it.
      e.inclusionPromise.signedEntryTimestamp = signEntryTimestamp(oldLogKey, newLogId, Buffer.from(e.canonicalizedBody, 'base64'), Number(e.logIndex), Number(e.integratedTime)).toString('base64');
    });
    expect(messageOf(() => verifyEvidence(p, root1, expectFor()))).toMatch(/signed entry timestamp does not verify/);
  });
});

describe('the command line after a log key rotation', () => {
  it('(d) pedigree verify-device PASSes the device against the new trusted root', async () => {
    const r = await runPedigree(dir.path, ['verify-device', '--server', node.url, '--udi', s.udi, '--trusted-root', 'root1.json', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'PASS' });
  });

  it('a monitor pinned to the old key alarms; one given the new trusted root follows the log across the rotation', async () => {
    const pinned = await runPedigree(dir.path, ['monitor', '--server', node.url, '--trusted-root', 'root0.json', '--state', 'old-root-monitor.json', '--once']);
    expect(pinned.code).toBe(1);
    expect(pinned.stdout).toMatch(/ALERT the checkpoint does not verify: note is not signed by any known key/);
    const following = await runPedigree(dir.path, ['monitor', '--server', node.url, '--trusted-root', 'root1.json', '--state', 'following-monitor.json', '--once']);
    expect(following.code, following.stderr + following.stdout).toBe(0);
    // It proved the tree it saw under the old key consistent with the new key's.
    expect(following.stdout).toMatch(new RegExp(`${rotation.treeSize} -> ${rotation.treeSize + 2} entries, consistent`));
    expect(parseCheckpoint(parseNote(checkpoint0).text).size).toBe(rotation.treeSize);
  });

  it('pedigree rotate-log-key refuses a running ledger, then rotates it once stopped; pedigree audit finds every term consistent', async () => {
    const running = await runPedigree(dir.path, ['rotate-log-key', '--data', dir.path, '--json']);
    expect(running.code).toBe(3);
    // With --json the error is one object on stdout.
    expect((JSON.parse(running.stdout) as { error: { message: string } }).error.message).toMatch(/stop the ledger/);
    await node.cleanup();
    const r = await runPedigree(dir.path, ['rotate-log-key', '--data', dir.path, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ treeSize: rotation.treeSize + 2, oldLogId: newLogId.toString('hex') });
    expect(out.keys).toHaveLength(3);
    expect(out.logVerifierKey).toMatch(new RegExp(`^${ORIGIN.replace(/\./g, '\\.')}\\+[0-9a-f]{8}\\+`));
    const audit = await runPedigree(dir.path, ['audit', '--data', dir.path, '--json']);
    expect(audit.code, audit.stdout + audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ consistent: true, entries: rotation.treeSize + 2 });
    // Three keys, three logs in the trusted root; the first receipt still verifies.
    node = await startNode({ dir: dir.path });
    const root2 = await fetchRoot();
    expect(root2.tlogs).toHaveLength(3);
    expect(code(() => verifyBundle(receipt, [root2], { publicKeys: [s.parties.maker!.publicKey] }))).toBe('VALID');
    expect(verifyEvidence(await evidence(s.udi), root2, expectFor()).outcome).toBe('PASS');
  });
});

