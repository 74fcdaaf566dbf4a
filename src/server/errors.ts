/**
 * Which errors a client may see. Typed errors with a stable code keep their message and code;
 * anything else is masked to "Unexpected error." and logged on the server only.
 */
import { GraphQLError } from 'graphql';
import { requests } from './request.js';
import { LogError } from '../log/index.js';
import { LedgerError } from '../ledger/errors.js';
import { AttestError } from '../attest/errors.js';
import { UdiError } from '../udi/udi.js';
import { PolicyError } from '../provenance/policy-io.js';
import { ProvenanceError } from '../provenance/device.js';

export interface CodedError {
  code: string;
  message: string;
}

/** Error classes whose codes and messages are safe and useful to show to a client. */
const PUBLIC_ERRORS: Array<abstract new (...a: never[]) => Error & { code: string }> = [LedgerError, LogError, AttestError, UdiError, PolicyError, ProvenanceError];

export function publicError(e: unknown): CodedError | undefined {
  for (const cls of PUBLIC_ERRORS) if (e instanceof cls) return { code: e.code, message: e.message };
  return undefined;
}

/** graphql-yoga `maskError`: keep coded errors, mask the rest. */
export function maskError(error: unknown, message: string): Error {
  // Matched by shape, not instanceof: graphql may be loaded both as ESM and as CommonJS.
  const gql = isGraphQLError(error) ? error : undefined;
  const original = gql ? gql.originalError : error;
  const pub = publicError(original);
  // Pushback: a sequencer that is full answers 503 with Retry-After, so clients back off.
  const http = pub?.code === 'LOG_BUSY' ? { http: { status: 503, headers: { 'Retry-After': '1' } } } : {};
  if (pub) return new GraphQLError(pub.message, { nodes: gql?.nodes, path: gql?.path, extensions: { code: pub.code, ...http } });
  if (gql && !gql.originalError) return gql; // parse and validation errors are already safe
  if (gql && isGraphQLError(gql.originalError)) return gql.originalError; // errors a resolver chose to show
  // Logged once, here, with the request id the client gets back to quote.
  const request = requests.getStore();
  request?.log('unexpected error answering a GraphQL request', original);
  return new GraphQLError(message, { nodes: gql?.nodes, path: gql?.path, extensions: { code: 'INTERNAL_SERVER_ERROR', ...(request && { requestId: request.id }) } });
}

function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof Error && e.name === 'GraphQLError';
}
