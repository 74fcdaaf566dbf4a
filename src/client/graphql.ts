/** A small GraphQL-over-HTTP client for the CLI and for tests. */
export class ClientError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }>;
}

export async function graphql<T>(server: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const url = new URL('/graphql', server);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ClientError(`cannot reach ${url.origin}: ${(e as Error).message}`, 'SERVER_UNREACHABLE');
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await res.json()) as GraphQLResponse<T>;
  } catch {
    throw new ClientError(`${url} answered HTTP ${res.status} without a GraphQL response`, 'BAD_RESPONSE');
  }
  const err = body.errors?.[0];
  if (err) throw new ClientError(err.message, err.extensions?.code ?? 'GRAPHQL_ERROR', err.extensions?.field);
  if (!body.data) throw new ClientError(`${url} returned no data`, 'BAD_RESPONSE');
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
