/**
 * The verifiable index over the wire: GraphQL `lookup(key)` gives the complete list for a key
 * with a proof against the root the served checkpoint commits (absence too), refuses a key that
 * is not one printable line, and /vindex/payloads serves the statements behind an entry tile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, graphql } from '../../src/client/graphql.js';
import { parseCheckpoint, parseNote } from '../../src/log/index.js';
import { indexRootOf, lookupFromJson, verifyList } from '../../src/vindex/map.js';
import { startNode, type TestNode } from '../helpers.js';
import { buildScenario, type Scenario } from '../provenance/scenario.js';

let node: TestNode;
let s: Scenario;
interface Answer {
  lookup: { key: string; indexes: number[]; siblings: string[]; leafKey: string | null; leafValue: string | null; checkpoint: { note: string; size: number; indexRoot: string } };
}
const lookup = (key: string) =>
  graphql<Answer>(node.url, 'query ($k: String!) { lookup(key: $k) { key indexes siblings leafKey leafValue checkpoint { note size indexRoot } } }', { k: key }).then((d) => d.lookup);
const check = (a: Answer['lookup']) => {
  const root = indexRootOf(parseCheckpoint(parseNote(a.checkpoint.note).text).extensions)!;
  expect(Buffer.from(root).toString('base64')).toBe(a.checkpoint.indexRoot);
  const l = lookupFromJson({ key: a.key, indexes: a.indexes, proof: { siblings: a.siblings, ...(a.leafKey && { leaf: { key: a.leafKey, value: a.leafValue } }) } });
  verifyList(root, a.key, l.indexes, l.proof);
  return l;
};

beforeAll(async () => {
  node = await startNode();
  s = await buildScenario(node, {});
}, 60_000);
afterAll(() => node.cleanup());

describe('lookup over GraphQL', () => {
  it('lists every entry about the device and the lot, provably, and proves an unused key absent', async () => {
    const device = await lookup(`udi:${s.udi}`);
    expect(device.indexes.length).toBeGreaterThan(2);
    check(device);
    const lot = await lookup(`lot:${s.lot}`);
    check(lot);
    // Any UDI form names the same device.
    const link = await lookup(`udi:https://id.gs1.org/01/${s.udi.slice(4, 18)}/21/${s.udi.split('(21)')[1]}`);
    expect(link.key).toBe(`udi:${s.udi}`);
    expect(link.indexes).toEqual(device.indexes);
    const none = await lookup('lot:nobody:NOTHING:0');
    expect(none.indexes).toEqual([]);
    check(none);
    // A list with one entry removed does not verify against the same proof.
    const l = check(device);
    const root = indexRootOf(parseCheckpoint(parseNote(device.checkpoint.note).text).extensions)!;
    expect(() => verifyList(root, device.key, l.indexes.slice(1), l.proof)).toThrow();
  });

  it('refuses a key with spaces or control characters (INVALID_ARGUMENT)', async () => {
    const e = await lookup('lot:a b').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ClientError);
    expect((e as ClientError).code).toBe('INVALID_ARGUMENT');
  });

  it('serves the statements behind an entry tile, each the one its entry logged', async () => {
    const size = node.ledger.size;
    const path = `/vindex/payloads/000.p/${size}`;
    const body = new Uint8Array(await (await fetch(`${node.url}${path}`)).arrayBuffer());
    const view = new DataView(body.buffer);
    const first = JSON.parse(Buffer.from(body.subarray(4, 4 + view.getUint32(0))).toString());
    expect(first._type).toBe('https://in-toto.io/Statement/v1');
    expect((await fetch(`${node.url}/vindex/payloads/000.p/${size + 1}`)).status).toBe(404);
    expect((await fetch(`${node.url}/vindex/payloads/bogus`)).status).toBe(400);
  });
});
