/**
 * The baseline for HTTP: a bare `node:http` server that reads each request's body and answers
 * with bytes recorded from the ledger for the same kind of request (same status, content type
 * and body), so that ledger ÷ bare is the cost of the framework and the work behind it.
 *
 * Usage: node --import tsx bench/bare-server.ts <port> <routes.json>, where routes.json is
 * [{ "match": "substring of the request body", "headers": {...}, "body": "..." }, ...]; the first
 * route whose match the body contains answers. Prints "listening" once it serves.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

interface Route {
  match: string;
  headers: Record<string, string>;
  body: string;
}

const [port, file] = process.argv.slice(2);
const routes = (JSON.parse(readFileSync(file!, 'utf8')) as Route[]).map((r) => ({ ...r, bytes: Buffer.from(r.body) }));

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const route = routes.find((r) => body.includes(r.match)) ?? routes[routes.length - 1]!;
    res.writeHead(200, { ...route.headers, 'content-length': route.bytes.length });
    res.end(route.bytes);
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
