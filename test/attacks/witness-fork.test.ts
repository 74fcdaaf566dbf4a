/**
 * Witnesses against a forked log. The operator holds the log key and keeps two histories from
 * one point: the honest one, where the device is recalled, and a fork where it is not. A witness
 * that cosigned the honest history refuses the fork's checkpoint, so the fork's evidence lacks
 * its cosignature: a verifier that requires the witness says NOT VERIFIED (WITNESS_MISSING),
 * where one that does not would be fooled. Real ledgers on LevelDB, a real witness over HTTP.
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLedger, type OpenedLedger } from '../../src/app.js';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { adminKeyPath, initDataDir } from '../../src/config/datadir.js';
import { ed25519NoteSigner, verifierKeyString } from '../../src/crypto/node.js';
import { signEvidence } from '../../src/provenance/evidence.js';
import { readPrivateKey } from '../../src/keys.js';
import { OUTCOME_EXIT } from '../../src/cli/device.js';
import { startServer, type RunningServer } from '../../src/server/http.js';
import { shippedReleasePolicy } from '../../src/provenance/release-policy.js';
import { verifyEvidence } from '../../src/verify/evidence.js';
import { addCheckpoint } from '../../src/witness/client.js';
import { cosignatureVerifierKey, parseCosignatureVerifierKey } from '../../src/log/cosignature.js';
import { Cosigning } from '../../src/witness/cosigning.js';
import { Witness } from '../../src/witness/witness.js';
import { startWitnessServer } from '../../src/witness/http.js';
import { publicKeyDer } from '../attest/fixtures.js';
import { runPedigree } from '../cli/run.js';
import { ORIGIN, tempDir, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';

interface Ledgerd {
  opened: OpenedLedger;
  server: RunningServer;
  cosigning: Cosigning;
  node: TestNode;
}

let dir: { path: string; remove: () => Promise<void> };
let witness: Witness;
let witnessServer: { url: string; close: () => Promise<void> };
let honest: Ledgerd;
let fork: Ledgerd;
let s: Scenario;
let root: unknown;
const refusals: string[] = [];
/** The witness's clock (milliseconds), moved forward by the freshness test. */
let witnessClock = Date.now();
const now = () => Math.floor(Date.now() / 1000);

async function run(data: string): Promise<Ledgerd> {
  const opened = await openLedger(data);
  const cosigning = new Cosigning(opened.ledger, { witnesses: [{ vkey: witness.vkey, url: witnessServer.url }], quorum: 1, retryMs: 200, onShortfall: (m) => refusals.push(m) });
  opened.devices.witnessing = {
    get latest() {
      return cosigning.latest;
    },
    cosignedAt: (size) => cosigning.cosignedAt(size, 500),
  };
  const server = await startServer({ ledger: opened.ledger, attestations: opened.attestations, devices: opened.devices, logError: () => undefined });
  const node = { dir: data, ledger: opened.ledger, attestations: opened.attestations, devices: opened.devices, server, url: server.url, adminKey: await readPrivateKey(adminKeyPath(data)) } as unknown as TestNode;
  return { opened, server, cosigning, node };
}
async function stop(l: Ledgerd): Promise<void> {
  l.cosigning.close();
  await l.server.close();
  await l.opened.ledger.close();
}
const evidence = (l: Ledgerd, udi: string) => l.opened.devices.evidence(udi, shippedReleasePolicy());
const verdict = (pkg: unknown, witnesses?: { keys: string[]; required: number }, at = now(), maxAgeSeconds?: number) => {
  try {
    return verifyEvidence(pkg, root, { udi: s.udi, policy: shippedReleasePolicy(), now: at, ...(witnesses && { witnesses }), ...(maxAgeSeconds !== undefined && { maxAgeSeconds }) }).outcome;
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

beforeAll(async () => {
  dir = await tempDir();
  const honestDir = join(dir.path, 'honest');
  await initDataDir(honestDir, ORIGIN);
  const logKey = createPublicKey((await openLedger(honestDir).then(async (o) => (await o.ledger.close(), o))).dataDir.config.logPublicKey);
  witness = await Witness.open({ name: 'witness.test/w1', privateKey: generateKeyPairSync('ed25519').privateKey, logs: [{ origin: ORIGIN, vkey: verifierKeyString(ORIGIN, logKey) }], statePath: join(dir.path, 'witness-state.json'), clock: () => witnessClock });
  witnessServer = await startWitnessServer({ witness });

  // One shared past: a device that passes, cosigned by the witness.
  honest = await run(honestDir);
  s = await buildScenario(honest.node, {});
  expect(await honest.cosigning.cosignedAt(honest.opened.ledger.size)).toBeDefined();
  root = await (await fetch(`${honest.server.url}/trusted_root.json`)).json();
  await writeFile(join(dir.path, 'root.json'), JSON.stringify(root));
  await stop(honest);
  await cp(honestDir, join(dir.path, 'fork'), { recursive: true });

  // The honest history records the recall; the fork, from the same point with the same key, does not.
  honest = await run(honestDir);
  fork = await run(join(dir.path, 'fork'));
  const maker = s.parties.maker!;
  const advisory = (kind: string, id: string) =>
    signStatement(statement([{ digest: { udi: s.udi } }], resolvePredicateType('advisory').uri, { id, kind, severity: kind === 'recall' ? 'high' : 'low', title: id, issuedAt: new Date().toISOString(), affects: { udis: [s.udi] } }), maker.privateKey);
  await honest.opened.attestations.submit(await advisory('recall', 'RC-FORK'));
  await fork.opened.attestations.submit(await advisory('advisory', 'NOTICE-FORK'));
  expect(fork.opened.ledger.size).toBe(honest.opened.ledger.size);
  expect(await honest.cosigning.cosignedAt(honest.opened.ledger.size)).toBeDefined();
}, 120_000);
afterAll(async () => {
  await stop(honest);
  await stop(fork);
  await witnessServer.close();
  await dir.remove();
});

describe('a forked log against a witness', () => {
  it('the witness that cosigned the honest history refuses the fork’s checkpoint', async () => {
    const size = honest.opened.ledger.size;
    const r = await addCheckpoint(witnessServer.url, size, [], fork.opened.ledger.checkpoint);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.status).toBe(422);
    // The fork's own attempts were refused too: at most it serves the shared past, never its own history.
    const served = await fetch(`${fork.server.url}/checkpoint`);
    if (served.status === 200) expect(Number((await served.text()).split('\n')[1])).toBeLessThan(size);
    else expect(served.status).toBe(503);
    expect(refusals.some((m) => /422/.test(m) || /inconsistent|fork|refused/i.test(m))).toBe(true);
    const honestServed = await (await fetch(`${honest.server.url}/checkpoint`)).text();
    expect(Number(honestServed.split('\n')[1])).toBe(size);
    expect(honestServed).toMatch(/— witness\.test\/w1 /);
    // GraphQL serves the same checkpoint as /checkpoint.
    const gql = await (await fetch(`${honest.server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ checkpoint { note } }' }) })).json();
    expect(gql.data.checkpoint.note).toBe(honestServed);
  });

  it('a verifier requiring the witness refuses the fork’s evidence; the honest evidence verifies, cosigned', async () => {
    const w = { keys: [witness.vkey], required: 1 };
    const honestPkg = await evidence(honest, s.udi);
    expect(verdict(honestPkg, w)).toBe('RECALLED');
    // The fork's ledger serves no evidence its witness did not cosign ...
    await expect(evidence(fork, s.udi)).rejects.toMatchObject({ code: 'WITNESSES_UNAVAILABLE' });
    // ... so its operator builds the package without the witness.
    const witnessing = fork.opened.devices.witnessing;
    fork.opened.devices.witnessing = undefined;
    const forkPkg = await evidence(fork, s.udi).finally(() => (fork.opened.devices.witnessing = witnessing));
    // Without witnesses the fork fools a first-time verifier: that is what witnesses are for.
    expect(verdict(forkPkg)).toBe('PASS');
    expect(verdict(forkPkg, w)).toBe('WITNESS_MISSING');
    // The CLI gate says the same, exit 6.
    await writeFile(join(dir.path, 'fork.json'), JSON.stringify(forkPkg));
    const r = await runPedigree(dir.path, ['verify-evidence', 'fork.json', '--trusted-root', 'root.json', '--udi', s.udi, '--witness', witness.vkey]);
    expect(r.code).toBe(OUTCOME_EXIT.NOT_VERIFIED);
    expect(r.stdout).toMatch(/WITNESS_MISSING/);
    expect(r.stdout).toMatch(/0 of the 1 witnesses you trust cosigned this checkpoint; you require 1/);
    // The honest package passes the same gate, and says who vouched for its checkpoint.
    await writeFile(join(dir.path, 'honest.json'), JSON.stringify(honestPkg));
    const ok = await runPedigree(dir.path, ['verify-evidence', 'honest.json', '--trusted-root', 'root.json', '--udi', s.udi, '--witness', witness.vkey, '--witness', witness.vkey]);
    expect(ok.code, ok.stderr).toBe(OUTCOME_EXIT.RECALLED);
    expect(ok.stdout).toMatch(/ {2}witness {4}witness\.test\/w1 cosigned it at \d{4}-/);
  }, 60_000);

  it('judges freshness by the witnesses’ time: an old package re-issued with a new time is expired; a refreshed one is not', async () => {
    const w = { keys: [witness.vkey], required: 1 };
    const old = await evidence(honest, s.udi);
    const later = now() + 2 * 3600;
    // The operator re-issues the old package as if new, signed with the real log key.
    const signer = ed25519NoteSigner(ORIGIN, await readPrivateKey(join(dir.path, 'honest', 'log.key')));
    const { signature: _drop, ...rest } = old;
    const reissued = signEvidence({ ...rest, evaluatedAt: later }, signer);
    expect(verdict(reissued, undefined, later, 3600)).toBe('RECALLED'); // without witnesses, the log's word
    expect(verdict(reissued, w, later, 3600)).toBe('EVIDENCE_EXPIRED');
    // The idle ledger has its latest checkpoint cosigned again: fresh evidence verifies.
    witnessClock += 2 * 3600 * 1000;
    await honest.cosigning.refresh();
    const { signature: _sig, ...fresh } = await evidence(honest, s.udi);
    // (The ledger's own clock is real time; the package is issued at the witnesses' later time.)
    expect(verdict(signEvidence({ ...fresh, evaluatedAt: later }, signer), w, later, 3600)).toBe('RECALLED');
  });

  it('a cosigned checkpoint still verifies with stock @sigstore/verify', async () => {
    const pkg = await evidence(honest, s.udi);
    expect(pkg.checkpoint).toMatch(/— witness\.test\/w1 /);
    const b = pkg.bundles.find((x: any) => JSON.parse(Buffer.from(x.dsseEnvelope.payload, 'base64').toString()).predicateType.endsWith('/component/v1')) as any;
    const supplier = s.parties.supplier!;
    const material = toTrustMaterial(TrustedRoot.fromJSON(root as object), { [supplier.keyId]: { rawBytes: publicKeyDer(supplier.publicKey), keyDetails: 9 } });
    expect(() => new Verifier(material).verify(toSignedEntity(bundleFromJSON(b)))).not.toThrow();
    expect(b.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope).toBe(pkg.checkpoint);
  });

  it('refuses bad witness flags as usage errors (exit 3)', async () => {
    const r = await runPedigree(dir.path, ['verify-evidence', 'fork.json', '--trusted-root', 'root.json', '--udi', s.udi, '--witness', 'nonsense']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/is not a witness verifier key/);
    const k = await runPedigree(dir.path, ['verify-evidence', 'fork.json', '--trusted-root', 'root.json', '--udi', s.udi, '--witness', witness.vkey, '--witnesses-required', '2']);
    expect(k.code).toBe(3);
    expect(k.stderr).toMatch(/--witnesses-required must be 1\.\.1/);
    // One key under two names is one witness: refused rather than counted twice.
    const alias = cosignatureVerifierKey('witness.test/alias', parseCosignatureVerifierKey(witness.vkey).publicKey);
    const twice = await runPedigree(dir.path, ['verify-evidence', 'fork.json', '--trusted-root', 'root.json', '--udi', s.udi, '--witness', witness.vkey, '--witness', alias]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(/the same witness key under two names/);
  });
});
