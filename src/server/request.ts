/**
 * Per-request context for the server: a request id (sent back as X-Request-Id and with every
 * masked error) and the place unexpected errors are logged, carried through async calls so that
 * the GraphQL error mask can log once, with the id the client also received.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';

export interface RequestContext {
  readonly id: string;
  readonly log: (message: string, error: unknown) => void;
}

export const requests = new AsyncLocalStorage<RequestContext>();

let shared: Logger | undefined;

/** The server's structured logger: one JSON object per line on stderr (pino). */
export function serverLogger(): Logger {
  shared ??= pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
  return shared;
}
