/**
 * Which errors a client may see. Typed errors with a stable code keep their message and code;
 * anything else is masked to "Unexpected error." and logged on the server only.
 */
import { GraphQLError } from 'graphql';
import { LogError } from '../log/index.js';
import { LedgerError } from '../ledger/errors.js';

export interface CodedError {
  code: string;
  message: string;
}

/** Error classes whose codes and messages are safe and useful to show to a client. */
const PUBLIC_ERRORS: Array<abstract new (...a: never[]) => Error & { code: string }> = [LedgerError, LogError];

export function registerPublicError(cls: abstract new (...a: never[]) => Error & { code: string }): void {
  if (!PUBLIC_ERRORS.includes(cls)) PUBLIC_ERRORS.push(cls);
}

export function publicError(e: unknown): CodedError | undefined {
  for (const cls of PUBLIC_ERRORS) if (e instanceof cls) return { code: e.code, message: e.message };
  return undefined;
}

/** graphql-yoga `maskError`: keep coded errors, mask the rest. */
export function maskError(error: unknown, message: string): Error {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const pub = publicError(original);
  if (pub && error instanceof GraphQLError) {
    return new GraphQLError(pub.message, { nodes: error.nodes, path: error.path, extensions: { code: pub.code } });
  }
  if (error instanceof GraphQLError && !error.originalError) return error; // parse/validation errors
  return new GraphQLError(message, {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
