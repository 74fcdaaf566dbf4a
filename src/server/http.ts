/**
 * The HTTP front door: C2SP tlog-tiles read endpoints, health, and GraphQL (graphql-yoga).
 * Request bodies are read here, with a size bound, before anything parses them.
 */
import { BodyTooLarge, listen, readBody } from './net.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createYoga } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { LogError, parseTilePath } from '../log/index.js';
import type { Ledger } from '../ledger/ledger.js';
import type { AttestationService } from '../attest/service.js';
import type { DeviceService } from '../provenance/device.js';
import { schema } from './graphql/schema.js';
import { maskError } from './errors.js';
import { serveStatic } from './static.js';
import { queryLimits } from './graphql/limits.js';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface ServerOptions {
  readonly ledger: Ledger;
  readonly attestations: AttestationService;
  readonly devices: DeviceService;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes?: number;
  /** Where unexpected errors are reported; never shown to clients. */
  readonly logError?: (message: string, error: unknown) => void;
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value), headers);
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export function createHandler(options: ServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { ledger, attestations, devices } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logError = options.logError ?? ((m, e) => console.error(m, e));
  attestations.onUnexpected = (e) => logError('unexpected error recording a bundle', e);
  const yoga = createYoga({
    schema,
    context: ({ request }) => ({ ledger, attestations, devices, signal: request.signal }),
    graphqlEndpoint: '/graphql',
    maskedErrors: { maskError },
    renderGraphiQL,
    graphiql: { title: 'Pedigree GraphQL' },
    landingPage: false,
    logging: false,
    plugins: [{ onValidate: ({ addValidationRule }: { addValidationRule: (rule: typeof queryLimits) => void }) => addValidationRule(queryLimits) }],
  });

  const tiles = async (path: string, res: ServerResponse): Promise<void> => {
    let id;
    try {
      id = parseTilePath(path);
    } catch (e) {
      if (e instanceof LogError) return send(res, 400, 'text/plain; charset=utf-8', `${e.message}\n`);
      throw e;
    }
    const body = id.level === 'entries' ? await ledger.entryBundle(id.index, id.width) : await ledger.hashTile(id.level, id.index, id.width);
    if (!body) return send(res, 404, 'text/plain; charset=utf-8', 'no such tile in the current tree\n', { 'Cache-Control': 'no-cache' });
    // A full tile never changes; a partial tile of width W is a fixed prefix too, but may be
    // dropped once full, so it gets a short lifetime.
    send(res, 200, 'application/octet-stream', body, { 'Cache-Control': id.width === undefined ? IMMUTABLE : 'public, max-age=60' });
  };

  // The signed statements behind an entry tile, for monitors rebuilding the verifiable index
  // (same index spelling as tile/entries/<N>[.p/<W>]).
  const payloads = async (path: string, res: ServerResponse): Promise<void> => {
    let id;
    try {
      id = parseTilePath(`tile/entries/${path.slice('/vindex/payloads/'.length)}`);
    } catch (e) {
      if (e instanceof LogError) return send(res, 400, 'text/plain; charset=utf-8', `${e.message}\n`);
      throw e;
    }
    const body = await attestations.payloadTile(id.index, id.width);
    if (!body) return send(res, 404, 'text/plain; charset=utf-8', 'no such tile in the current tree\n', { 'Cache-Control': 'no-cache' });
    send(res, 200, 'application/octet-stream', body, { 'Cache-Control': id.width === undefined ? IMMUTABLE : 'public, max-age=60' });
  };

  const graphql = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, maxBody);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string') headers.set(k, v);
      else if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    }
    const response = await yoga.fetch(url, { method, headers, body, signal: abort.signal });
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    res.writeHead(response.status, out);
    if (!response.body) return void res.end();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const run = async () => {
      if (path === '/graphql') return graphql(req, res, url);
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
      if (path === '/checkpoint') {
        // With witnesses, only a checkpoint enough of them cosigned is served.
        const note = devices.servedCheckpoint();
        if (note === undefined) return send(res, 503, 'text/plain; charset=utf-8', 'no checkpoint has been cosigned by enough witnesses yet\n', { 'Cache-Control': 'no-cache', 'Retry-After': '5' });
        return send(res, 200, 'text/plain; charset=utf-8', note, { 'Cache-Control': 'no-cache' });
      }
      if (path.startsWith('/tile/')) return tiles(path.slice(1), res);
      if (path.startsWith('/vindex/payloads/')) return payloads(path, res);
      if (path === '/trusted_root.json') return sendJson(res, 200, attestations.trustedRoot(), { 'Cache-Control': 'public, max-age=300' });
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok', origin: ledger.origin, treeSize: ledger.size }, { 'Cache-Control': 'no-cache' });
      if (await serveStatic(path, res)) return;
      return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    };
    run().catch((e: unknown) => {
      if (e instanceof BodyTooLarge) {
        sendJson(res, 413, { errors: [{ message: `request body is larger than ${maxBody} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }, { Connection: 'close' });
        req.resume();
        return;
      }
      logError(`error serving ${method} ${path}`, e);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  };
}

export async function startServer(options: ServerOptions & { port?: number; host?: string }): Promise<RunningServer> {
  const server = createServer(createHandler(options));
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  return listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
}
