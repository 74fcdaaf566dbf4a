/**
 * The worst day, against a real server on 127.0.0.1: documents built to cost far more than they
 * look, scans of the whole log, requests a web page can send from another origin, drip-fed
 * bodies and too many connections, and names made to fool a terminal. Each gets a typed refusal
 * or a safe answer, /healthz stays quick, and the log does not change.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement, statement } from '../../src/attest/sign.js';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { startServer } from '../../src/server/http.js';
import { party, registration } from '../attest/fixtures.js';
import { startNode, type TestNode } from '../helpers.js';

let node: TestNode;
const post = async (url: string, body: string, type = 'application/json', headers: Record<string, string> = {}) => {
  const r = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
  return { status: r.status, headers: r.headers, body: (await r.json().catch(() => ({}))) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
};
const query = (q: string) => post(node.url, JSON.stringify({ query: q }));
const code = (r: { body: { errors?: Array<{ extensions?: { code?: string } }> } }) => r.body.errors?.[0]?.extensions?.code;
const healthy = async () => (await fetch(`${node.url}/healthz`)).json() as Promise<{ status: string; treeSize: number }>;
const spreads = (name: string, n: number) => Array.from({ length: n }, () => `...${name}`).join(' ');

beforeAll(async () => {
  node = await startNode();
  const supplier = party('supplier');
  await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
  for (let i = 0; i < 40; i++) {
    await node.attestations.submit(await signStatement(statement([{ digest: { lot: `supplier:P:L${i}` } }], resolvePredicateType('component').uri, { partNumber: 'P', componentType: 'valve', lot: `L${i}` }), supplier.privateKey));
  }
});
afterAll(() => node.cleanup());

describe('queries that cost more than they look', () => {
  it('refuses a fragment bomb, an alias bomb and a wide evidence fragment before running them, and stays healthy', async () => {
    const size = node.ledger.size;
    const bomb = `{ device(udi: "(01)09506000134352(21)X1") { ...A } } fragment A on Device { ${spreads('B', 20)} } fragment B on Device { ${spreads('C', 20)} } fragment C on Device { verify { verdict } }`;
    const evidence = `{ device(udi: "(01)09506000134352(21)X1") { ...A } } fragment A on Device { ${Array.from({ length: 240 }, (_, i) => `e${i}: evidence`).join(' ')} }`;
    const aliases = `{ ${Array.from({ length: 250 }, (_, i) => `d${i}: device(udi: "(01)09506000134352(21)X${i}") { evidence }`).join(' ')} }`;
    const [a, b, c, h] = await Promise.all([query(bomb), query(evidence), query(aliases), healthy()]);
    for (const r of [a, b, c]) {
      expect(r.status).toBe(200);
      expect(code(r)).toBe('QUERY_TOO_COMPLEX');
      expect(r.body.data).toBeUndefined();
    }
    expect(a.body.errors![0]!.message).toMatch(/costs more than 1100/);
    expect(c.body.errors![0]!.message).toMatch(/Aliases limit of 30 exceeded|costs more than/);
    expect(h.status).toBe('ok');
    // Ten evidence packages fit the budget; eleven do not.
    expect(code(await query(`{ ${Array.from({ length: 10 }, (_, i) => `d${i}: device(udi: "(01)09506000134352(21)X${i}") { evidence }`).join(' ')} }`))).toBeUndefined();
    expect(code(await query(`{ ${Array.from({ length: 11 }, (_, i) => `d${i}: device(udi: "(01)09506000134352(21)X${i}") { evidence }`).join(' ')} }`))).toBe('QUERY_TOO_COMPLEX');
    expect(node.ledger.size).toBe(size);
  });

  it('answers entries since a future time without reading the log before it', async () => {
    let reads = 0;
    const record = node.attestations.record.bind(node.attestations);
    node.attestations.record = async (i: number) => {
      reads++;
      return record(i);
    };
    try {
      const r = await query(`{ entries(filter: { since: "2100-01-01T00:00:00Z" }, first: 10) { edges { node { logIndex } } } }`);
      expect(r.body.errors).toBeUndefined();
      expect((r.body.data as { entries: { edges: unknown[] } }).entries.edges).toEqual([]);
      // A binary search over the log's 41 entries, not a scan.
      expect(reads).toBeLessThanOrEqual(8);
    } finally {
      node.attestations.record = record;
    }
  });
});

describe('requests from other web pages', () => {
  it('never lets a form or text/plain POST reach a resolver, and gives no other origin CORS access', async () => {
    const size = node.ledger.size;
    const form = await post(node.url, 'query=mutation+%7B+submitAttestation%28bundle%3A+%7B%7D%29+%7B+logIndex+%7D+%7D', 'application/x-www-form-urlencoded', { origin: 'https://evil.example' });
    expect(form.status).toBe(415);
    expect(code(form)).toBe('UNSUPPORTED_MEDIA_TYPE');
    const text = await post(node.url, JSON.stringify({ query: '{ checkpoint { size } }' }), 'text/plain', { origin: 'https://evil.example' });
    expect(text.status).toBe(415);
    const pre = await fetch(`${node.url}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const json = await post(node.url, JSON.stringify({ query: '{ checkpoint { size } }' }), 'application/json', { origin: 'https://evil.example' });
    expect(json.headers.get('access-control-allow-origin')).toBeNull();
    expect(node.ledger.size).toBe(size);
  });

  it('answers a configured origin, without credentials', async () => {
    const s = await startServer({ ledger: node.ledger, attestations: node.attestations, devices: node.devices, corsOrigins: ['https://hospital.example'], logError: () => undefined });
    try {
      const ok = await post(s.url, JSON.stringify({ query: '{ checkpoint { size } }' }), 'application/json', { origin: 'https://hospital.example' });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://hospital.example');
      expect(ok.headers.get('access-control-allow-credentials')).not.toBe('true');
      const other = await post(s.url, JSON.stringify({ query: '{ checkpoint { size } }' }), 'application/json', { origin: 'https://evil.example' });
      expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    } finally {
      await s.close();
    }
  });
});

describe('slow and many clients', () => {
  it('cuts off a drip-fed body and refuses connections past the cap, while others are served', async () => {
    const s = await startServer({ ledger: node.ledger, attestations: node.attestations, devices: node.devices, maxConnections: 3, requestTimeoutMs: 1000, headersTimeoutMs: 1000, logError: () => undefined });
    const { port } = new URL(s.url);
    const open = () =>
      new Promise<import('node:net').Socket>((resolve) => {
        const c = connect(Number(port), '127.0.0.1', () => resolve(c));
        c.on('error', () => undefined);
      });
    try {
      // A body promised at 1 MB and sent a byte at a time: the server closes it.
      const drip = await open();
      const closed = new Promise<string>((resolve) => {
        let got = '';
        drip.on('data', (d) => (got += d.toString()));
        drip.on('close', () => resolve(got));
      });
      drip.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{`);
      const ticker = setInterval(() => drip.writable && drip.write(' '), 100);
      const answer = await closed;
      clearInterval(ticker);
      expect(answer === '' || /^HTTP\/1\.1 408/.test(answer)).toBe(true);
      // Three connections held open: a fourth is closed at once.
      const held = await Promise.all([open(), open(), open()]);
      const fourth = await open();
      const refused = await new Promise<boolean>((resolve) => {
        fourth.on('close', () => resolve(true));
        fourth.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      expect(refused).toBe(true);
      for (const c of held) c.destroy();
      // The main server was never affected.
      expect((await healthy()).status).toBe('ok');
    } finally {
      await s.close();
    }
  });
});

describe('names made to fool a terminal or a page', () => {
  it('refuses control characters and bidirectional overrides in participant names and advisory titles, and writes nothing', async () => {
    const size = node.ledger.size;
    await expect(node.attestations.submit(await signStatement(registration(party('evil'), ['supplier'], { organisation: 'Good\u202eCorp' }), node.adminKey))).rejects.toMatchObject({ code: 'PREDICATE_INVALID' });
    await expect(node.attestations.submit(await signStatement(registration(party('evil2'), ['supplier'], { organisation: 'x\u001b[2K\rPASS' }), node.adminKey))).rejects.toMatchObject({ code: 'PREDICATE_INVALID' });
    const maker = party('maker-t');
    await node.attestations.submit(await signStatement(registration(maker, ['manufacturer'], { products: ['09506000134352'] }), node.adminKey));
    const before = node.ledger.size;
    await expect(
      node.attestations.submit(await signStatement(statement([{ digest: { udi: '(01)09506000134352(21)T1' } }], resolvePredicateType('advisory').uri, { id: 'A1', kind: 'recall', severity: 'high', title: '\u001b[1APASS  all good', issuedAt: new Date().toISOString(), affects: { udis: ['(01)09506000134352(21)T1'] } }), maker.privateKey)),
    ).rejects.toMatchObject({ code: 'PREDICATE_INVALID' });
    expect(node.ledger.size).toBe(before);
    expect(before).toBe(size + 1);
  });
});

describe('C2SP details', () => {
  it('answers a tile above level 7 with 404 (not 400), and gzips tiles for a client that accepts it', async () => {
    expect((await fetch(`${node.url}/tile/8/000`)).status).toBe(404);
    expect((await fetch(`${node.url}/tile/64/000`)).status).toBe(400);
    const { request } = await import('node:http');
    const raw = (encoding: string) =>
      new Promise<{ headers: import('node:http').IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const req = request(`${node.url}/tile/entries/000.p/${node.ledger.size}`, { headers: { 'accept-encoding': encoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      });
    const plain = await raw('identity');
    const gz = await raw('gzip, deflate');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/Accept-Encoding/);
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
  });
});

describe('a full disk', () => {
  it('refuses writes with STORE_FAILED and says degraded, writes nothing, and recovers by itself (reopening the store) when space returns', async () => {
    type Chained = { write: (o?: unknown) => Promise<void>; close: () => Promise<void> };
    const store = (node.ledger as unknown as { store: { db: { batch: (...a: unknown[]) => Chained }; failedAt?: number } }).store;
    const batch = store.db.batch.bind(store.db);
    let full = true;
    // The disk fills: LevelDB's write fails (the store writes with a chained batch).
    store.db.batch = (...a: unknown[]) => {
      const b = batch(...a);
      if (full) {
        b.write = async () => {
          await b.close();
          throw Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' });
        };
      }
      return b;
    };
    const supplier = party('disk-supplier');
    const size = node.ledger.size;
    const root = (await (await fetch(`${node.url}/checkpoint`)).text()).split('\n')[2];
    try {
      await expect(node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      const h = await healthy();
      expect(h.status).toBe('degraded');
      expect((h as unknown as { reason: string }).reason).toMatch(/No space left on device/);
      expect(node.ledger.size).toBe(size);
      expect((await (await fetch(`${node.url}/checkpoint`)).text()).split('\n')[2]).toBe(root);
      // Reads go on while writes fail.
      expect((await query('{ checkpoint { size } }')).body.data).toEqual({ checkpoint: { size } });
      // Space returns; the next write reopens the store (its wait is over) and succeeds.
      full = false;
      store.failedAt = 0;
      const r = await node.attestations.submit(await signStatement(registration(supplier, ['supplier']), node.adminKey));
      expect(r.record.logIndex).toBe(size);
      expect((await healthy()).status).toBe('ok');
      const proof = await node.ledger.inclusionProof(size);
      expect(proof.treeSize).toBe(size + 1);
    } finally {
      store.db.batch = batch;
    }
  });

  it('answers an unexpected error with a request id it logs once', async () => {
    const logged: Array<[string, string | undefined]> = [];
    const s = await startServer({ ledger: node.ledger, attestations: node.attestations, devices: node.devices, logError: (m, _e, id) => logged.push([m, id]) });
    const checkpoint = node.devices.servedCheckpoint.bind(node.devices);
    node.devices.servedCheckpoint = () => {
      throw new TypeError('boom');
    };
    try {
      const r = await post(s.url, JSON.stringify({ query: '{ checkpoint { size } }' }));
      const err = r.body.errors![0]! as { message: string; extensions?: { code?: string; requestId?: string } };
      expect(err.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(err.message).not.toMatch(/boom/);
      expect(err.extensions?.requestId).toBe(r.headers.get('x-request-id'));
      expect(logged).toEqual([['unexpected error answering a GraphQL request', err.extensions?.requestId]]);
    } finally {
      node.devices.servedCheckpoint = checkpoint;
      await s.close();
    }
  });
});

describe('pushback', () => {
  it('answers a client over its rate with 429 and Retry-After, and others and /healthz go on', async () => {
    const s = await startServer({ ledger: node.ledger, attestations: node.attestations, devices: node.devices, rateLimit: { perSecond: 1, burst: 3 }, logError: () => undefined });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await post(s.url, JSON.stringify({ query: '{ checkpoint { size } }' })));
      expect(statuses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
      expect(statuses[3]!.headers.get('retry-after')).toBe('1');
      expect(code(statuses[3]!)).toBe('RATE_LIMITED');
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('answers 503 with Retry-After when the sequencer is full, and writes only what it accepted', async () => {
    const busy = await startNode({ sequencer: { maxPending: 2, maxBatch: 1, maxDelayMs: 0 } });
    // The first write is held until the queue behind it has filled and overflowed.
    const store = (busy.ledger as unknown as { store: { commit: (b: unknown) => Promise<void> } }).store;
    const commit = store.commit.bind(store);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const first = new Promise<void>((r) => (entered = r));
    store.commit = async (b: unknown) => {
      entered();
      await held;
      return commit(b);
    };
    try {
      const parties = Array.from({ length: 12 }, (_, i) => party(`busy-${i}`));
      const bundles = await Promise.all(parties.map((p) => signStatement(registration(p, ['supplier']), busy.adminKey)));
      const refusedNow: Array<Awaited<ReturnType<typeof post>>> = [];
      let nine!: () => void;
      const nineRefused = new Promise<void>((r) => (nine = r));
      const answers = bundles.map((b) =>
        post(busy.url, JSON.stringify({ query: 'mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex } } }', variables: { b } })).then((r) => {
          if (r.status === 503) refusedNow.push(r);
          if (refusedNow.length === 9) nine();
          return r;
        }),
      );
      await first;
      await nineRefused;
      release();
      const all = await Promise.all(answers);
      const refused = all.filter((r) => r.status === 503);
      expect(refused).toHaveLength(9);
      for (const r of refused) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(code(r)).toBe('LOG_BUSY');
      }
      expect(all.filter((r) => r.status === 200 && !r.body.errors)).toHaveLength(3);
      expect(busy.ledger.size).toBe(3);
    } finally {
      release();
      await busy.cleanup();
    }
  });
});
