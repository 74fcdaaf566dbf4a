/**
 * Search by every filter returns exactly the matching entries, across several pages; and a
 * multi-megabyte SBOM comes back byte-identical.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql, submitBundle } from '../../src/client/graphql.js';
import { startNode, type TestNode } from '../helpers.js';
import { GTIN, componentStatement, party, register, udi } from './fixtures.js';

let node: TestNode;
const supplierA = party('supplier-a');
const supplierB = party('supplier-b');
const maker = party('maker');
const hospital = party('st-elsewhere');
/** What we submitted, by log index, to compute expected answers independently. */
const submitted: Array<{ logIndex: number; signer: string; type: string; keys: string[]; time: number }> = [];
const digest = (s: string) => createHash('sha256').update(s).digest('hex');

async function add(p: typeof supplierA, stmt: Record<string, any>, keys: string[]) {
  const r = await submitBundle(node.url, await signStatement(stmt, p.privateKey));
  const time = Number((r.bundle as any).verificationMaterial.tlogEntries[0].integratedTime);
  submitted.push({ logIndex: r.logIndex, signer: p.id, type: stmt.predicateType, keys, time });
}

beforeAll(async () => {
  node = await startNode({ maxBodyBytes: 16 * 1024 * 1024 });
  await register(node.url, node.adminKey, supplierA, ['supplier']);
  await register(node.url, node.adminKey, supplierB, ['supplier']);
  await register(node.url, node.adminKey, maker, ['manufacturer'], { products: [GTIN] });
  await register(node.url, node.adminKey, hospital, ['hospital']);
  for (let i = 0; i < 7; i++) {
    const s = supplierA.id;
    await add(supplierA, componentStatement(s, 'PS-100', [`SN${i}`, `SN${i + 100}`]), [`partSerial=${s}:PS-100:SN${i}`, `partSerial=${s}:PS-100:SN${i + 100}`]);
  }
  for (let i = 0; i < 5; i++) {
    const lot = `supplier-b:VALVE:L${i % 2}`;
    const stmt = statement([{ digest: { lot } }], resolvePredicateType('component').uri, { partNumber: 'VALVE', componentType: 'valve', lot: `L${i % 2}`, description: `batch ${i}` });
    await add(supplierB, stmt, [`lot=${lot}`]);
  }
  for (let i = 0; i < 4; i++) {
    const d = digest(`firmware-${i % 2}`);
    await add(maker, statement([{ name: 'fw.bin', digest: { sha256: d } }], resolvePredicateType('firmware').uri, { name: 'pump-fw', version: `1.${i}` }), [`sha256=${d}`]);
  }
  for (let i = 0; i < 6; i++) {
    const u = udi(`DEV${i % 3}`);
    await add(hospital, statement([{ digest: { udi: u } }], resolvePredicateType('installation').uri, { site: { name: `Ward ${i}` }, installedAt: '2026-11-01T10:00:00Z' }), [`udi=${u}`]);
  }
});

afterAll(() => node.cleanup());

interface Page {
  entries: { edges: Array<{ cursor: string; node: { logIndex: number } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

async function all(filter: Record<string, unknown>, pageSize = 2): Promise<{ indexes: number[]; pages: number }> {
  const indexes: number[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const data: Page = await graphql<Page>(
      node.url,
      'query ($f: EntryFilter, $n: Int, $a: String) { entries(filter: $f, first: $n, after: $a) { edges { cursor node { logIndex } } pageInfo { hasNextPage endCursor } } }',
      { f: filter, n: pageSize, a: after },
    );
    pages++;
    indexes.push(...data.entries.edges.map((e) => e.node.logIndex));
    if (!data.entries.pageInfo.hasNextPage) return { indexes, pages };
    after = data.entries.pageInfo.endCursor;
  }
}

const expected = (pred: (s: (typeof submitted)[number]) => boolean) => submitted.filter(pred).map((s) => s.logIndex);

describe('entries(filter, first, after)', () => {
  it.each([
    ['partSerial', { partSerial: 'supplier-a:PS-100:SN103' }, (s: any) => s.keys.includes('partSerial=supplier-a:PS-100:SN103')],
    ['lot', { lot: 'supplier-b:VALVE:L0' }, (s: any) => s.keys.includes('lot=supplier-b:VALVE:L0')],
    ['sha256', { sha256: digest('firmware-1') }, (s: any) => s.keys.includes(`sha256=${digest('firmware-1')}`)],
    ['udi (raw scanner form)', { udi: `01${'09506000134352'}21DEV1` }, (s: any) => s.keys.includes(`udi=${udi('DEV1')}`)],
    ['signer', { signer: 'supplier-a' }, (s: any) => s.signer === 'supplier-a'],
    ['predicate type', { predicateType: resolvePredicateType('installation').uri }, (s: any) => s.type === resolvePredicateType('installation').uri],
    ['signer and predicate type', { signer: 'maker', predicateType: resolvePredicateType('firmware').uri }, (s: any) => s.signer === 'maker'],
  ])('by %s returns exactly the matches, page by page', async (_what, filter, pred) => {
    const want = expected(pred);
    expect(want.length).toBeGreaterThan(0);
    const got = await all(filter);
    expect(got.indexes).toEqual(want);
    expect(got.pages).toBeGreaterThanOrEqual(Math.ceil(want.length / 2));
  });

  it('by integration time', async () => {
    const t = submitted[10]!.time;
    const got = await all({ since: new Date(t * 1000).toISOString(), until: new Date(t * 1000 + 999).toISOString() }, 3);
    const times = await Promise.all(Array.from({ length: node.ledger.size }, (_, i) => node.attestations.record(i)));
    const want = times.filter((r) => r!.integratedTime === t).map((r) => r!.logIndex);
    expect(want.length).toBeGreaterThan(0);
    expect(got.indexes).toEqual(want);
    const none = await all({ until: '2001-01-01T00:00:00Z' });
    expect(none.indexes).toEqual([]);
  });

  it('without a filter lists every attestation', async () => {
    const got = await all({}, 7);
    expect(got.indexes.length).toBe(node.ledger.size);
  });

  it('rejects bad filters and cursors with codes', async () => {
    await expect(all({ udi: '(01)123' })).rejects.toMatchObject({ code: 'INVALID_FILTER' });
    await expect(all({ sha256: 'XYZ' })).rejects.toMatchObject({ code: 'INVALID_FILTER' });
    await expect(all({ since: 'yesterday' })).rejects.toMatchObject({ code: 'INVALID_FILTER' });
    await expect(graphql(node.url, '{ entries(after: "bm9wZQ==") { pageInfo { hasNextPage } } }')).rejects.toMatchObject({ code: 'INVALID_CURSOR' });
    await expect(graphql(node.url, '{ entries(first: 1000) { pageInfo { hasNextPage } } }')).rejects.toMatchObject({ code: 'INVALID_FILTER' });
  });
});

describe('large attestations', () => {
  it('accepts a 5 MB CycloneDX SBOM and returns it byte-identical', async () => {
    const components = [];
    let size = 0;
    for (let i = 0; size < 5 * 1024 * 1024; i++) {
      const c = { type: 'library', name: `lib-${i}`, version: `${i}.0.0`, purl: `pkg:generic/lib-${i}@${i}.0.0`, description: 'x'.repeat(400) };
      size += JSON.stringify(c).length;
      components.push(c);
    }
    const fw = digest('firmware-0');
    const sbom = statement([{ name: 'fw.bin', digest: { sha256: fw } }], 'https://cyclonedx.org/bom', { bomFormat: 'CycloneDX', specVersion: '1.5', version: 1, components });
    const bundle = (await signStatement(sbom, maker.privateKey)) as any;
    expect(Buffer.from(bundle.dsseEnvelope.payload, 'base64').length).toBeGreaterThan(5 * 1024 * 1024);
    const r = await submitBundle(node.url, bundle);
    expect((r.bundle as any).dsseEnvelope.payload).toBe(bundle.dsseEnvelope.payload);
    const fetched = await graphql<{ attestation: { bundle: any } }>(node.url, 'query ($i: Int!) { attestation(logIndex: $i) { bundle } }', { i: r.logIndex });
    expect(fetched.attestation.bundle.dsseEnvelope).toEqual(bundle.dsseEnvelope);
    expect(fetched.attestation.bundle.verificationMaterial.publicKey).toEqual(bundle.verificationMaterial.publicKey);
  });
});
