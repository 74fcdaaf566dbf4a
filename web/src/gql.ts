export class GqlError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new GqlError('The ledger cannot be reached.', 'OFFLINE');
  }
  const body = (await res.json().catch(() => ({}))) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  const err = body.errors?.[0];
  if (err) throw new GqlError(err.message, err.extensions?.code ?? 'ERROR');
  if (!body.data) throw new GqlError(`The ledger answered HTTP ${res.status}.`, 'ERROR');
  return body.data;
}

/** A GraphQL subscription over server-sent events. Returns a function that stops it. */
export function subscribe<T>(query: string, onData: (data: T) => void): () => void {
  const es = new EventSource(`/graphql?query=${encodeURIComponent(query)}`);
  es.addEventListener('next', (ev) => {
    const msg = JSON.parse((ev as MessageEvent<string>).data) as { data?: T };
    if (msg.data) onData(msg.data);
  });
  return () => es.close();
}
