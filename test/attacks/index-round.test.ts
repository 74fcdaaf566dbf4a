/**
 * Attacks on the verifiable index and its monitors, each closed:
 * - a statement whose payload starts with a byte-order mark (read one way at ingestion and
 *   another by monitors and stored-statement readers) is refused, and nothing is written;
 * - a decoy log named by a prefix of the trusted origin, signed with the real log key, is not
 *   taken for the log by `pedigree monitor` (origins match exactly, as in the verifier).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { bundleToJSON } from '@sigstore/bundle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { localKeySigner, statement } from '../../src/attest/sign.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../src/attest/statement.js';
import { ed25519NoteSigner } from '../../src/crypto/node.js';
import { readPrivateKey } from '../../src/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { serveTiles } from '../tile-server.js';
import { MemoryLogStore } from '../../src/store/memory.js';
import { runPedigree } from '../cli/run.js';
import { ORIGIN, startNode, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';
import { refusalCode } from './ledger-client.js';

let node: TestNode;
let s: Scenario;
beforeAll(async () => {
  node = await startNode();
  s = await buildScenario(node, {});
  writeFileSync(join(node.dir, 'root.json'), await (await fetch(`${node.url}/trusted_root.json`)).text());
}, 60_000);
afterAll(() => node.cleanup());

describe('the index’s inputs and its monitors', () => {
  it('refuses a statement with a byte-order mark, writes nothing, and the audit still agrees', async () => {
    const st = statement([{ digest: { partSerial: 'sup-a:PS-100:SN77' } }], resolvePredicateType('component').uri, { partNumber: 'PS-100', componentType: 'pressure-sensor' });
    const data = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(st))]);
    const bundle = bundleToJSON(await new DSSEBundleBuilder({ signer: localKeySigner(s.parties.supplier!.privateKey), witnesses: [] }).create({ data, type: IN_TOTO_PAYLOAD_TYPE }));
    const size = node.ledger.size;
    expect(await refusalCode(node.url, bundle)).toBe('STATEMENT_INVALID');
    expect(node.ledger.size).toBe(size);
    const audit = await runPedigree(node.dir, ['monitor', '--audit', '--once', '--server', node.url, '--trusted-root', 'root.json', '--state', 'bom.json']);
    expect(audit.code, audit.stdout).toBe(0);
    expect(audit.stdout).toMatch(/root matches/);
  }, 60_000);

  it('does not monitor a decoy log whose name is a prefix of the trusted origin', async () => {
    const decoyName = ORIGIN.split('/')[0]!;
    const decoy = await Ledger.open({ store: new MemoryLogStore(), signer: ed25519NoteSigner(decoyName, await readPrivateKey(join(node.dir, 'log.key'))) });
    await decoy.append({ data: new TextEncoder().encode('{"spec":{}}') });
    const srv = await serveTiles(decoy, { checkpoint: true });
    try {
      const m = await runPedigree(node.dir, ['monitor', '--once', '--server', srv.url, '--trusted-root', 'root.json', '--state', 'decoy.json']);
      expect(m.code).toBe(1);
      expect(m.stdout).toMatch(/ALERT the trusted root does not name the log "test\.pedigree\.local"/);
    } finally {
      await srv.close();
      await decoy.close();
    }
  }, 60_000);
});
