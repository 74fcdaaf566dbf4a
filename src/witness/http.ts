/**
 * The witness's HTTP interface (https://c2sp.org/tlog-witness), with the submission and the
 * monitoring prefix both at the root:
 *
 *   POST /add-checkpoint            cosign a checkpoint (the Witness decides the status)
 *   GET  /<sha256(origin) hex>/checkpoint   the latest cosigned checkpoint of that log
 *
 * Anything else is 404, a known path with another method 405. Errors are short text lines.
 */
import { BodyTooLarge, listen, readBody } from '../server/net.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { MAX_REQUEST_BYTES, type Witness } from './witness.js';

export interface WitnessServerOptions {
  readonly witness: Witness;
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Largest request body accepted, in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Where unexpected errors are reported; never shown to clients. */
  readonly logError?: (message: string, error: unknown) => void;
}

export interface RunningWitnessServer {
  readonly server: Server;
  /** http://host:port, no trailing slash: the submission and monitoring prefix. */
  readonly url: string;
  close(): Promise<void>;
}

const TEXT = 'text/plain; charset=utf-8';
const utf8 = new TextDecoder('utf-8', { fatal: true });

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

export function createWitnessHandler(options: WitnessServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { witness } = options;
  const limit = options.maxBodyBytes ?? MAX_REQUEST_BYTES;
  const logError = options.logError ?? ((m, e) => console.error(m, e));

  const addCheckpoint = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const bytes = await readBody(req, limit);
    let body: string;
    try {
      body = utf8.decode(bytes);
    } catch {
      return send(res, 400, TEXT, 'request body is not valid UTF-8\n');
    }
    const answer = await witness.addCheckpoint(body);
    send(res, answer.status, answer.contentType, answer.body);
  };

  return (req, res) => {
    const method = req.method ?? 'GET';
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      return send(res, 400, TEXT, 'bad request target\n');
    }
    const run = async (): Promise<void> => {
      if (path === '/add-checkpoint') {
        if (method !== 'POST') return send(res, 405, TEXT, 'add-checkpoint takes POST\n', { Allow: 'POST' });
        return addCheckpoint(req, res);
      }
      const monitor = /^\/([0-9a-f]{64})\/checkpoint$/.exec(path);
      if (monitor) {
        if (method !== 'GET' && method !== 'HEAD') return send(res, 405, TEXT, 'checkpoint takes GET\n', { Allow: 'GET, HEAD' });
        const checkpoint = witness.checkpointByOriginHash(monitor[1]!);
        if (checkpoint === undefined) return send(res, 404, TEXT, 'no checkpoint cosigned for that log\n');
        return send(res, 200, TEXT, checkpoint);
      }
      return send(res, 404, TEXT, 'not found: this witness serves POST /add-checkpoint and GET /<origin hash>/checkpoint\n');
    };
    run().catch((e: unknown) => {
      if (e instanceof BodyTooLarge) {
        send(res, 413, TEXT, `request body is larger than ${limit} bytes\n`, { Connection: 'close' });
        req.resume();
        return;
      }
      logError(`error serving ${method} ${path}`, e);
      if (!res.headersSent) send(res, 500, TEXT, 'internal error\n');
      else res.destroy();
    });
  };
}

/** Starts the witness's HTTP server; rejects with the listen error (EADDRINUSE, say). */
export async function startWitnessServer(options: WitnessServerOptions): Promise<RunningWitnessServer> {
  const server = createServer(createWitnessHandler(options));
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  return listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
}
