/**
 * An auditing witness (`pedigree witness add-log --audit <ledger URL>`) rebuilds the verifiable
 * index from the log's own entries before it cosigns. A dishonest operator holding the log key
 * commits an index that leaves the demo's lot recall out of the lot's list — at a size no
 * monitor need ever be shown — and the witness refuses to cosign it (422), so a verifier that
 * requires the witness never accepts evidence proved against it. The honest ledger's checkpoint
 * is cosigned. Real ledgers, a real dishonest server, a real witness over HTTP.
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Statement } from '../../src/attest/statement.js';
import { ed25519NoteSigner, verifierKeyString } from '../../src/crypto/node.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { readPrivateKey } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { MemoryLogStore } from '../../src/store/memory.js';
import { lookupKey, lookupKeys } from '../../src/vindex/keys.js';
import { addCheckpoint } from '../../src/witness/client.js';
import { startWitnessServer } from '../../src/witness/http.js';
import { Witness, type RefusedCheckpoint } from '../../src/witness/witness.js';
import { ORIGIN, startNode, tempDir, type TestNode } from '../helpers.js';
import { serveTiles, type TileServer } from '../tile-server.js';

let node: TestNode;
let demo: DemoSummary;
let dishonest: Ledger;
let liar: TileServer;
let liarUrl: string;
let dir: { path: string; remove: () => Promise<void> };
const refused: RefusedCheckpoint[] = [];

async function auditingWitness(ledgerUrl: string, name: string) {
  const witness = await Witness.open({
    name,
    privateKey: generateKeyPairSync('ed25519').privateKey,
    logs: [{ origin: ORIGIN, vkey: verifierKeyString(ORIGIN, createPublicKey(await readPrivateKey(join(node.dir, 'log.key')))), audit: ledgerUrl }],
    statePath: join(dir.path, `${name.replace(/\W/g, '_')}.json`),
    onRefused: (e) => refused.push(e),
  });
  return startWitnessServer({ witness });
}

beforeAll(async () => {
  dir = await tempDir();
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
  // The operator's second log: the same entries in the same order, signed with the real key,
  // but the lot recall is filed under nothing about the lot.
  dishonest = await Ledger.open({ store: new MemoryLogStore(), signer: ed25519NoteSigner(ORIGIN, await readPrivateKey(join(node.dir, 'log.key'))) });
  const lot = lookupKey('lot', demo.recalledLot);
  const appends: Array<Promise<unknown>> = [];
  for (const e of await node.ledger.entries(0, node.ledger.size)) {
    const statement = (await node.attestations.statement((await node.attestations.record(e.index))!)) as Statement;
    const hide = statement.predicateType.endsWith('/advisory/v1') && (statement.predicate as { kind?: string }).kind === 'recall';
    appends.push(dishonest.append({ data: e.data, lookupKeys: lookupKeys(statement).filter((k) => !(hide && k === lot)) }));
  }
  await Promise.all(appends);
  // The statements are genuine: passed through from the real ledger.
  liar = await serveTiles(dishonest, {
    rest: async (path, _req, res) => {
      const r = await fetch(new URL(path, node.url));
      res.writeHead(r.status).end(Buffer.from(await r.arrayBuffer()));
    },
  });
  liarUrl = liar.url;
}, 120_000);
afterAll(async () => {
  await liar.close();
  await dishonest.close();
  await node.cleanup();
  await dir.remove();
});

describe('an auditing witness', () => {
  it('cosigns the honest ledger’s checkpoint after rebuilding its index from the entries', async () => {
    const w = await auditingWitness(node.url, 'witness.test/auditor-1');
    try {
      const r = await addCheckpoint(w.url, 0, [], node.ledger.checkpoint);
      expect(r.ok, r.ok ? '' : r.message).toBe(true);
    } finally {
      await w.close();
    }
  });

  it('refuses a checkpoint signed with the real key whose index leaves the recall out (422), naming why', async () => {
    // The same tree, genuinely signed: only the index line differs.
    expect(dishonest.state.root).toEqual(node.ledger.state.root);
    const w = await auditingWitness(liarUrl, 'witness.test/auditor-2');
    try {
      const r = await addCheckpoint(w.url, 0, [], dishonest.checkpoint);
      expect(r.ok).toBe(false);
      expect(r.ok === false && r.status).toBe(422);
      expect(refused.at(-1)?.reason).toMatch(/the index committed at size \d+ is not the one the log's entries make/);
      // A non-auditing witness would have cosigned it: the audit is what refuses it.
      const plain = await Witness.open({
        name: 'witness.test/plain',
        privateKey: generateKeyPairSync('ed25519').privateKey,
        logs: [{ origin: ORIGIN, vkey: verifierKeyString(ORIGIN, createPublicKey(await readPrivateKey(join(node.dir, 'log.key')))) }],
        statePath: join(dir.path, 'plain.json'),
      });
      const served = await startWitnessServer({ witness: plain });
      try {
        expect((await addCheckpoint(served.url, 0, [], dishonest.checkpoint)).ok).toBe(true);
      } finally {
        await served.close();
      }
    } finally {
      await w.close();
    }
  });

  it('answers 503 (and cosigns nothing) when it cannot read the log to audit it', async () => {
    const w = await auditingWitness('http://127.0.0.1:1', 'witness.test/auditor-3');
    try {
      const r = await addCheckpoint(w.url, 0, [], node.ledger.checkpoint);
      expect(r.ok === false && r.status).toBe(503);
    } finally {
      await w.close();
    }
  });
});
