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

/** One bundle's answer in a batch: recorded (or already there), or refused with the server's code. */
export type BatchResult =
  | { readonly ok: true; readonly logIndex: number; readonly duplicate: boolean; readonly bundle?: Record<string, unknown> }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly field?: string };

/** The most bundles one submitAttestations request takes (the server's MAX_BATCH). */
export const MAX_BATCH = 100;

/**
 * Submits up to MAX_BATCH signed bundles in one request (submitAttestations); each is answered
 * on its own, in order. With `completed`, recorded ones come back with their completed bundle.
 */
export async function submitBundles(server: string, bundles: readonly unknown[], completed = false): Promise<BatchResult[]> {
  if (bundles.length > MAX_BATCH) throw new ClientError(`at most ${MAX_BATCH} bundles per batch`, 'BATCH_TOO_LARGE');
  type Answer = { __typename: 'SubmitAttestationPayload'; attestation: { logIndex: number }; duplicate: boolean; bundle?: Record<string, unknown> } | { __typename: 'SubmissionError'; code: string; message: string; field: string | null };
  const data = await graphql<{ submitAttestations: Answer[] }>(
    server,
    `mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmitAttestationPayload { attestation { logIndex } duplicate${completed ? ' bundle' : ''} } ... on SubmissionError { code message field } } }`,
    { b: bundles },
  );
  const answers = data.submitAttestations;
  if (!Array.isArray(answers) || answers.length !== bundles.length) throw new ClientError(`${server} answered ${Array.isArray(answers) ? answers.length : 'no'} results for ${bundles.length} bundles`, 'BAD_RESPONSE');
  return answers.map((a): BatchResult =>
    a.__typename === 'SubmitAttestationPayload'
      ? { ok: true, logIndex: a.attestation.logIndex, duplicate: a.duplicate, ...(a.bundle !== undefined && { bundle: a.bundle }) }
      : { ok: false, code: String(a.code).slice(0, 60), message: String(a.message).slice(0, 2000), ...(a.field != null && { field: String(a.field).slice(0, 200) }) },
  );
}
