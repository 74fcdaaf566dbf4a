/** A small GraphQL-over-HTTP client for the CLI and for tests. */
import { PedigreeError } from '../errors.js';

export class ClientError extends PedigreeError {
  override readonly name = 'ClientError';
  constructor(
    message: string,
    code: string,
    readonly field?: string,
  ) {
    super(code, message);
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }>;
}

/** A server's answer is bounded in time and size: a slow or endless reply cannot hold a pipeline. */
export const CLIENT_TIMEOUT_MS = 120_000;
export const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

async function readBounded(res: Response, url: URL): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new ClientError(`${url.origin} sent more than ${MAX_RESPONSE_BYTES} bytes; not read`, 'BAD_RESPONSE');
    }
    parts.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(parts));
}

export async function graphql<T>(server: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let url: URL;
  try {
    url = new URL('/graphql', server);
  } catch {
    throw new ClientError(`--server ${JSON.stringify(server)} is not a URL (e.g. http://127.0.0.1:8080)`, 'INVALID_ARGUMENT');
  }
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    text = await readBounded(res, url);
  } catch (e) {
    if (e instanceof ClientError) throw e;
    const timedOut = (e as Error).name === 'TimeoutError';
    throw new ClientError(timedOut ? `${url.origin} did not answer within ${CLIENT_TIMEOUT_MS / 1000} s` : `cannot reach ${url.origin}: ${(e as Error).message}`, timedOut ? 'SERVER_TIMEOUT' : 'SERVER_UNREACHABLE');
  }
  let body: GraphQLResponse<T>;
  try {
    body = JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new ClientError(`${url} answered HTTP ${res.status} without a GraphQL response`, 'BAD_RESPONSE');
  }
  const err = Array.isArray(body?.errors) ? body.errors[0] : undefined;
  if (err) throw new ClientError(String(err.message).slice(0, 2000), String(err.extensions?.code ?? 'GRAPHQL_ERROR').slice(0, 60), err.extensions?.field);
  if (!body?.data) throw new ClientError(`${url} returned no data`, 'BAD_RESPONSE');
  return body.data;
}

export interface Submitted {
  readonly logIndex: number;
  readonly duplicate: boolean;
  readonly bundle: Record<string, unknown>;
}

export async function submitBundle(server: string, bundle: unknown): Promise<Submitted> {
  const data = await graphql<{ submitAttestation: { attestation: { logIndex: number }; duplicate: boolean; bundle: Record<string, unknown> } }>(
    server,
    'mutation ($b: JSON!) { submitAttestation(bundle: $b) { attestation { logIndex } duplicate bundle } }',
    { b: bundle },
  );
  const r = data.submitAttestation;
  return { logIndex: r.attestation.logIndex, duplicate: r.duplicate, bundle: r.bundle };
}
