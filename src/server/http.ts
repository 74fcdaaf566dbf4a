/**
 * The HTTP front door: C2SP tlog-tiles read endpoints, health, and GraphQL (graphql-yoga).
 * Request bodies are read here, with a size bound, before anything parses them.
 */
import { BodyTooLarge, listen, readBody } from './net.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { requests, serverLogger } from './request.js';
import { RateLimiter } from './rate.js';
import { createYoga } from 'graphql-yoga';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { LogError, parseTilePath } from '../log/index.js';
import type { Ledger } from '../ledger/ledger.js';
import type { AttestationService } from '../attest/service.js';
import type { DeviceService } from '../provenance/device.js';
import { schema } from './graphql/schema.js';
import { maskError } from './errors.js';
import { serveStatic } from './static.js';
import { queryLimitsPlugin } from './graphql/limits.js';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Open connections one server holds at most; more are refused until some close. */
export const DEFAULT_MAX_CONNECTIONS = 512;
/** Aliases and tokens one GraphQL document may have (graphql-armor). */
export const MAX_ALIASES = 30;
/** GraphQL requests per client address: 50 a second on average, 200 at once. */
export const DEFAULT_RATE = { perSecond: 50, burst: 200 };
export const MAX_TOKENS = 5000;

export interface ServerOptions {
  readonly ledger: Ledger;
  readonly attestations: AttestationService;
  readonly devices: DeviceService;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes?: number;
  /**
   * Where unexpected errors are reported, with the request's id; never shown to clients
   * (default: the structured logger, one JSON line on stderr).
   */
  readonly logError?: (message: string, error: unknown, requestId?: string) => void;
  /**
   * Web origins (scheme://host[:port]) whose pages may call the GraphQL API from a browser
   * (CORS, without credentials). Empty by default: only the ledger's own page and
   * non-browser clients.
   */
  readonly corsOrigins?: readonly string[];
  /** Open connections held at most (DEFAULT_MAX_CONNECTIONS). */
  readonly maxConnections?: number;
  /**
   * GraphQL requests per second each client address may make, and its burst (DEFAULT_RATE);
   * perSecond 0 turns the limit off.
   */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** How long a client may take to send a whole request, and its headers (ms). */
  readonly requestTimeoutMs?: number;
  /**
   * A server that follows the writer (several servers on one PostgreSQL database) hands each
   * GraphQL mutation to it: the request's body as it came, the writer's answer as it is.
   */
  readonly forwardWrites?: (body: Buffer) => Promise<{ status: number; contentType: string; text: string }>;
  readonly headersTimeoutMs?: number;
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

/** Tiles and entry bundles, gzipped for a client that accepts it (C2SP tlog-tiles allows it). */
function sendTile(req: IncomingMessage, res: ServerResponse, body: Uint8Array, cache: string): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (!gzip) return send(res, 200, 'application/octet-stream', body, { 'Cache-Control': cache, Vary: 'Accept-Encoding' });
  send(res, 200, 'application/octet-stream', gzipSync(body), { 'Cache-Control': cache, Vary: 'Accept-Encoding', 'Content-Encoding': 'gzip' });
}

/**
 * A signal aborted when the client goes away before its answer was finished (an open
 * subscription, say); made only when a resolver asks for it.
 */
function closedSignal(res: ServerResponse): AbortSignal {
  const abort = new AbortController();
  if (res.closed) {
    if (!res.writableFinished) abort.abort();
  } else {
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
  }
  return abort.signal;
}

/** Whether a GraphQL request body (JSON) runs a mutation: the operation it names, or its only one. */
function isMutation(body: Buffer): boolean {
  try {
    const { query, operationName } = JSON.parse(body.toString('utf8')) as { query?: unknown; operationName?: unknown };
    if (typeof query !== 'string') return false;
    const ops = parse(query, { maxTokens: MAX_TOKENS }).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const op = typeof operationName === 'string' ? ops.find((o) => o.name?.value === operationName) : ops.length === 1 ? ops[0] : undefined;
    return op?.operation === 'mutation';
  } catch {
    return false; // Yoga answers what cannot be read
  }
}

export function createHandler(options: ServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { ledger, attestations, devices } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logError = options.logError ?? ((msg, err, requestId) => serverLogger().error({ requestId, err }, msg));
  attestations.onUnexpected = (e) => logError('unexpected error recording a bundle', e, requests.getStore()?.id);
  const corsOrigins = [...(options.corsOrigins ?? [])];
  // graphql-armor refusals are validation errors; they carry QUERY_TOO_COMPLEX like ours.
  const tooComplex = [(_ctx: unknown, error: unknown) => {
    if (error && typeof error === 'object') (error as { extensions: Record<string, unknown> }).extensions.code = 'QUERY_TOO_COMPLEX';
  }];
  const yoga = createYoga({
    schema,
    context: ({ res }: { res: ServerResponse }) => ({ ledger, attestations, devices, closed: () => closedSignal(res) }),
    graphqlEndpoint: '/graphql',
    maskedErrors: { maskError },
    renderGraphiQL,
    graphiql: { title: 'Pedigree GraphQL' },
    landingPage: false,
    logging: false,
    // Bodies are read and bounded before Yoga sees them (readBody, maxBodyBytes); Yoga's own
    // bound would stream each one again through a transform with an AbortSignal of its own.
    maxRequestBodySize: false,
    // No origin but those configured may read answers from a browser, and never with credentials.
    cors: corsOrigins.length === 0 ? false : { origin: corsOrigins, credentials: false, methods: ['GET', 'POST'], allowedHeaders: ['content-type', 'accept'] },
    plugins: [
      maxAliasesPlugin({ n: MAX_ALIASES, exposeLimits: true, onReject: tooComplex }),
      maxTokensPlugin({ n: MAX_TOKENS, exposeLimits: true, onReject: tooComplex }),
      maxDepthPlugin({ n: 12, exposeLimits: true, flattenFragments: true, onReject: tooComplex }),
      costLimitPlugin({ maxCost: 20_000, exposeLimits: true, onReject: tooComplex }),
      queryLimitsPlugin,
    ],
  });

  const tiles = async (req: IncomingMessage, path: string, res: ServerResponse): Promise<void> => {
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
    sendTile(req, res, body, id.width === undefined ? IMMUTABLE : 'public, max-age=60');
  };

  // The signed statements behind an entry tile, for monitors rebuilding the verifiable index
  // (same index spelling as tile/entries/<N>[.p/<W>]).
  const payloads = async (req: IncomingMessage, path: string, res: ServerResponse): Promise<void> => {
    let id;
    try {
      id = parseTilePath(`tile/entries/${path.slice('/vindex/payloads/'.length)}`);
    } catch (e) {
      if (e instanceof LogError) return send(res, 400, 'text/plain; charset=utf-8', `${e.message}\n`);
      throw e;
    }
    const body = await attestations.payloadTile(id.index, id.width);
    if (!body) return send(res, 404, 'text/plain; charset=utf-8', 'no such tile in the current tree\n', { 'Cache-Control': 'no-cache' });
    sendTile(req, res, body, id.width === undefined ? IMMUTABLE : 'public, max-age=60');
  };

  const rate = options.rateLimit ?? DEFAULT_RATE;
  const limiter = rate.perSecond > 0 ? new RateLimiter({ perSecond: rate.perSecond, burst: rate.burst }) : undefined;

  const graphql = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    const wait = limiter?.take(req.socket.remoteAddress ?? 'unknown') ?? 0;
    if (wait > 0) {
      req.resume();
      return sendJson(res, 429, { errors: [{ message: `too many requests from this address; retry in ${wait} s`, extensions: { code: 'RATE_LIMITED' } }] }, { 'Retry-After': String(wait) });
    }
    // Requests a web page can send cross-origin without asking first (forms, text/plain) never
    // reach a resolver: a POST must be JSON, which a browser sends cross-origin only after a
    // CORS preflight that only the configured origins pass.
    if (method === 'POST') {
      const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
      if (type !== 'application/json' && type !== 'application/graphql-response+json') {
        req.resume();
        return sendJson(res, 415, { errors: [{ message: 'GraphQL requests are POSTed as application/json', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] }, { Connection: 'close' });
      }
    }
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req, maxBody);
    if (body !== undefined && options.forwardWrites && isMutation(body)) {
      let answer;
      try {
        answer = await options.forwardWrites(body);
      } catch (e) {
        // Retryable: the writer is changing hands, or unreachable for now.
        return sendJson(res, 503, { errors: [{ message: `the ledger's writer cannot be reached just now (${(e as Error).message}); retry`, extensions: { code: 'LEADER_UNAVAILABLE' } }] }, { 'Retry-After': '1' });
      }
      return send(res, answer.status, answer.contentType, answer.text);
    }
    // Yoga gets a lean Request built once from what is already read: the Node headers as they
    // are, the body as one buffer, and no AbortSignal (the context makes one only when a
    // subscription asks for it).
    const request = new yoga.fetchAPI.Request(url, { method, headers: req.headers as Record<string, string>, ...(body !== undefined && { body: body as unknown as BodyInit }) });
    const response = await yoga.handleRequest(request, { res });
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('text/event-stream') && !type.startsWith('multipart/')) {
      // An answer of one piece (almost all): written at once, with its length.
      const text = await response.text();
      const out: Record<string, string> = {};
      response.headers.forEach((v, k) => (out[k] = v));
      out['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(response.status, out);
      return void res.end(text);
    }
    const out: Record<string, string> = {};
    response.headers.forEach((v, k) => (out[k] = v));
    res.writeHead(response.status, out);
    if (!response.body) return void res.end();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      if (res.destroyed) break;
      if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  };

  return (req, res) => {
    const id = randomUUID();
    res.setHeader('X-Request-Id', id);
    requests.run({ id, log: (m, e) => logError(m, e, id) }, () => handle(req, res, id));
  };

  function handle(req: IncomingMessage, res: ServerResponse, id: string): void {
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
      if (path.startsWith('/tile/')) return tiles(req, path.slice(1), res);
      if (path.startsWith('/vindex/payloads/')) return payloads(req, path, res);
      if (path === '/trusted_root.json') return sendJson(res, 200, attestations.trustedRoot(), { 'Cache-Control': 'public, max-age=300' });
      if (path === '/healthz') {
        // Reads keep working while writes fail; "degraded" says so, with why, until a write succeeds.
        const h = ledger.health();
        return sendJson(res, 200, { status: h.status, origin: ledger.origin, treeSize: ledger.size, ...(h.reason !== undefined && { reason: h.reason, since: h.since }) }, { 'Cache-Control': 'no-cache' });
      }
      if (await serveStatic(path, res)) return;
      return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    };
    run().catch((e: unknown) => {
      if (e instanceof BodyTooLarge) {
        sendJson(res, 413, { errors: [{ message: `request body is larger than ${maxBody} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }, { Connection: 'close' });
        req.resume();
        return;
      }
      logError(`error serving ${method} ${path}`, e, id);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error (request ${id})\n`);
      else res.destroy();
    });
  }
}

export async function startServer(options: ServerOptions & { port?: number; host?: string }): Promise<RunningServer> {
  const bound = await bindServer(options);
  bound.serve(options);
  return bound;
}

/** A server bound to its port before the ledger behind it is ready: it answers 503 until `serve`. */
export interface BoundServer extends RunningServer {
  serve(options: ServerOptions): void;
}

/**
 * Binds the port first, so that a port already in use is found before anything is loaded, and
 * nothing (a health check waiting for this server, say) mistakes another server for this one:
 * until `serve` is called, every request gets 503 with Retry-After, /healthz {"status":"starting"}.
 */
export async function bindServer(options: { port?: number; host?: string; requestTimeoutMs?: number; headersTimeoutMs?: number; maxConnections?: number }): Promise<BoundServer> {
  // A client that drips its headers or body is cut off (checked every quarter of the timeout);
  // connections beyond the cap are refused.
  const requestTimeout = options.requestTimeoutMs ?? 120_000;
  let handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    req.resume();
    if (path === '/healthz') return sendJson(res, 503, { status: 'starting' }, { 'Cache-Control': 'no-cache', 'Retry-After': '1' });
    send(res, 503, 'text/plain; charset=utf-8', 'the ledger is starting\n', { 'Retry-After': '1' });
  };
  const server = createServer({ connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(requestTimeout / 4))) }, (req, res) => handler(req, res));
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(options.headersTimeoutMs ?? 30_000, requestTimeout);
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const listening = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return {
    ...listening,
    serve: (o) => {
      handler = createHandler(o);
    },
  };
}
