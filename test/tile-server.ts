/**
 * A real HTTP server on 127.0.0.1 serving a Ledger object's tiles (and, if asked, its checkpoint)
 * the way the ledger does: for tests in which a dishonest or decoy log answers monitors and
 * witnesses. Other paths go to `rest` (404 by default).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Ledger } from '../src/ledger/ledger.js';
import { parseTilePath } from '../src/log/index.js';

export interface TileServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveTiles(ledger: Ledger, o: { checkpoint?: boolean; rest?: (path: string, req: IncomingMessage, res: ServerResponse) => unknown } = {}): Promise<TileServer> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (o.checkpoint && path === '/checkpoint') return res.writeHead(200).end(ledger.checkpoint);
    if (path.startsWith('/tile/')) {
      const id = parseTilePath(path.slice(1));
      const body = id.level === 'entries' ? await ledger.entryBundle(id.index, id.width) : await ledger.hashTile(id.level, id.index, id.width);
      return res.writeHead(body ? 200 : 404).end(body ?? '');
    }
    if (o.rest) return o.rest(path, req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
