import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafHash, openCheckpoint, verifyConsistency, verifyInclusion } from '../../src/log/index.js';
import type { RunningServer } from '../../src/server/http.js';
import { printedSchema, SCHEMA_PATH } from '../../scripts/print-schema.js';
import { appendMany, entry, startNode, type TestNode } from '../helpers.js';

let t: TestNode;
let server: RunningServer;

beforeAll(async () => {
  t = await startNode({ maxBodyBytes: 4096 });
  await appendMany(t.ledger, 20);
  server = t.server;
});

afterAll(async () => {
  await t.cleanup();
});

interface GqlResponse {
  data?: Record<string, any> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResponse;
}

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('GraphQL log queries', () => {
  it('returns the signed checkpoint', async () => {
    const r = await gql('{ checkpoint { origin size rootHash note } }');
    const cp = openCheckpoint(r.data!.checkpoint.note, t.verifier);
    expect(r.data!.checkpoint).toMatchObject({ origin: t.ledger.origin, size: 20, rootHash: Buffer.from(cp.root).toString('base64') });
  });

  it('returns an entry', async () => {
    const r = await gql('query ($i: Int!) { entry(logIndex: $i) { logIndex data leafHash integratedTime } }', { i: 7 });
    expect(Buffer.from(r.data!.entry.data, 'base64').toString()).toBe('e-7');
    expect(r.data!.entry.leafHash).toBe(Buffer.from(leafHash(entry(7))).toString('base64'));
    expect(r.data!.entry.integratedTime).toBeGreaterThan(1_600_000_000);
  });

  it('returns inclusion and consistency proofs that verify', async () => {
    const r = await gql('{ inclusionProof(logIndex: 5, treeSize: 13) { logIndex treeSize rootHash leafHash hashes } consistencyProof(fromSize: 13) { fromSize toSize fromRootHash toRootHash hashes } }');
    const p = r.data!.inclusionProof;
    verifyInclusion(5, 13, leafHash(entry(5)), p.hashes.map(b64), b64(p.rootHash));
    const c = r.data!.consistencyProof;
    expect(c.toSize).toBe(20);
    expect(c.fromRootHash).toBe(p.rootHash);
    verifyConsistency(13, 20, c.hashes.map(b64), b64(c.fromRootHash), b64(c.toRootHash));
  });

  it.each([
    ['{ entry(logIndex: 20) { logIndex } }', 'INDEX_OUT_OF_RANGE'],
    ['{ entry(logIndex: -1) { logIndex } }', 'INVALID_ARGUMENT'],
    ['{ inclusionProof(logIndex: 3, treeSize: 21) { treeSize } }', 'TREE_SIZE_OUT_OF_RANGE'],
    ['{ inclusionProof(logIndex: 3, treeSize: 3) { treeSize } }', 'INDEX_OUT_OF_RANGE'],
    ['{ consistencyProof(fromSize: 10, toSize: 5) { toSize } }', 'TREE_SIZE_OUT_OF_RANGE'],
    ['{ consistencyProof(fromSize: -3) { toSize } }', 'INVALID_ARGUMENT'],
  ])('%s fails with %s and keeps the other fields', async (query, code) => {
    const r = await gql(query.replace('{ ', '{ checkpoint { size } '));
    expect(r.errors?.[0]?.extensions?.code).toBe(code);
    expect(r.data?.checkpoint.size).toBe(20);
  });

  it('rejects malformed requests without a stack trace', async () => {
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toMatch(/\bat .*\.(ts|js):\d+/);
    const typed = await gql('{ entry(logIndex: "x") { logIndex } }');
    expect(typed.errors?.length).toBeGreaterThan(0);
  });

  it('refuses oversized bodies with 413 and a stable code', async () => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ checkpoint { size } } # ${'x'.repeat(5000)}` }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as GqlResponse).errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(t.ledger.size).toBe(20);
  });

  it('refuses queries that select too many fields or nest too deep', async () => {
    const wide = `{${'checkpoint{size origin note rootHash}'.repeat(105)}}`;
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: wide }) });
    const body = (await res.json()) as GqlResponse;
    expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(body.data ?? null).toBeNull();
    const deep = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ checkpoint ${'{ a: __typename '.repeat(13)}${'}'.repeat(13)} }` }) });
    expect(((await deep.json()) as GqlResponse).errors?.map((e) => e.extensions?.code)).toContain('QUERY_TOO_COMPLEX');
  });

  it('streams log growth to subscribers over server-sent events', async () => {
    const ctl = new AbortController();
    // The subscription is live once it listens for integrations.
    const listening = new Promise<void>((resolve) => {
      const on = t.ledger.onIntegrated.bind(t.ledger);
      t.ledger.onIntegrated = (fn) => {
        t.ledger.onIntegrated = on;
        const off = on(fn);
        resolve();
        return off;
      };
    });
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('subscription { logGrowth { toSize checkpoint { size } } }')}`, { headers: { accept: 'text/event-stream' }, signal: ctl.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    await listening;
    await appendMany(t.ledger, 1, 5000);
    let text = '';
    while (!text.includes('"toSize"')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/"toSize":21/);
    ctl.abort();
  });

  it('serves GraphiQL without any CDN', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Pedigree GraphQL');
    expect(html).not.toMatch(/unpkg|jsdelivr|cdnjs/);
  });
});

describe('printed schema', () => {
  it('matches schema/schema.graphql (run "npm run schema" after changing types)', () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(printedSchema());
  });
});
