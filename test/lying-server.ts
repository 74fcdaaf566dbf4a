/**
 * A lying ledger: a real HTTP server on 127.0.0.1 in front of a real, honest one. It passes
 * everything through, except that it answers device questions the way a dishonest server would,
 * with genuine, signed material put to the wrong use.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

export type Lie =
  | { readonly kind: 'honest' }
  /** Answers for device X with the genuine evidence of device `udi`. */
  | { readonly kind: 'other-device'; readonly udi: string }
  /** Asks the real ledger for evidence under a lax policy that reuses the real policy's name. */
  | { readonly kind: 'lax-policy' }
  /** Answers with an evidence package saved earlier (before a recall, say). */
  | { readonly kind: 'replay'; readonly evidence: unknown }
  /** Edits the server's unverified provenance tree (another supplier, firmware 9.9.9, no recalls). */
  | { readonly kind: 'edit-provenance' }
  /** Changes the genuine evidence before passing it on (a tampered proof, checkpoint, …). */
  | { readonly kind: 'tamper'; readonly mutate: (evidence: any) => void }
  /** Answers device questions with this GraphQL response body, whatever it is. */
  | { readonly kind: 'respond'; readonly body: string }
  /** Serves this as /trusted_root.json (a root naming other logs, say). */
  | { readonly kind: 'root'; readonly root: unknown };

export const LAX_POLICY = {
  name: 'InfuSafe release policy',
  steps: { assembly: { required: false } },
  requirePassingTests: false,
  requireSupplierMatch: false,
  advisories: { block: [], recallsBlock: false },
  vulnerabilities: { block: [], unmitigated: 'warn' },
};

export interface LyingServer {
  readonly url: string;
  lie: Lie;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function editTree(v: unknown): void {
  if (Array.isArray(v)) v.forEach(editTree);
  else if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.version === 'string') o.version = '9.9.9';
    if (typeof o.supplier === 'string') o.supplier = 'counterfeit-parts';
    if (Array.isArray(o.advisories)) o.advisories = [];
    for (const x of Object.values(o)) editTree(x);
  }
}

export async function startLyingServer(upstream: string, lie: Lie = { kind: 'honest' }): Promise<LyingServer> {
  const state = { lie };
  const server: Server = createServer(async (req, res) => {
    try {
      const raw = await body(req);
      let send = raw;
      let request: { query?: string; variables?: Record<string, unknown> } | undefined;
      if (req.method === 'POST' && req.url?.startsWith('/graphql')) {
        request = JSON.parse(raw.toString('utf8') || '{}') as typeof request;
        const l = state.lie;
        const asksDevice = typeof request?.query === 'string' && request.query.includes('device(');
        if (asksDevice && l.kind === 'respond') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(l.body);
          return;
        }
        if (asksDevice && l.kind === 'replay') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { device: { evidence: l.evidence } } }));
          return;
        }
        if (asksDevice && l.kind === 'other-device') request = { ...request, variables: { ...request!.variables, u: l.udi } };
        if (asksDevice && l.kind === 'lax-policy') request = { ...request, variables: { ...request!.variables, p: LAX_POLICY } };
        send = Buffer.from(JSON.stringify(request));
      }
      if (req.url === '/trusted_root.json' && state.lie.kind === 'root') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.lie.root));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
      const r = await fetch(new URL(req.url ?? '/', upstream), { method: req.method, headers, ...(req.method !== 'GET' && req.method !== 'HEAD' && { body: new Uint8Array(send) }) });
      const h: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) h[k] = v;
      });
      if (r.headers.get('content-type')?.includes('text/event-stream') && r.body) {
        // Live streams pass through as they come.
        res.writeHead(r.status, h);
        const reader = r.body.getReader();
        req.on('close', () => void reader.cancel().catch(() => undefined));
        for (;;) {
          const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
          if (done) break;
          res.write(value);
        }
        res.end();
        return;
      }
      let out = Buffer.from(await r.arrayBuffer());
      const l = state.lie;
      if ((l.kind === 'edit-provenance' || l.kind === 'tamper') && request && r.headers.get('content-type')?.includes('json')) {
        const j = JSON.parse(out.toString('utf8')) as { data?: { device?: { provenance?: unknown; evidence?: unknown } } };
        if (l.kind === 'edit-provenance' && j.data?.device?.provenance) editTree(j.data.device.provenance);
        if (l.kind === 'tamper' && j.data?.device?.evidence) l.mutate(j.data.device.evidence);
        out = Buffer.from(JSON.stringify(j));
      }
      res.writeHead(r.status, h).end(out);
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    get lie() {
      return state.lie;
    },
    set lie(l: Lie) {
      state.lie = l;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
