import { InvalidArgumentError } from 'commander';
import { readFile } from 'node:fs/promises';

export const EXIT_OK = 0;
export const EXIT_ERROR = 3;

/**
 * An error whose message is meant for the person at the terminal. `code` is what `--json`
 * prints as `error.code` (a usage or input error unless said otherwise); `details` are added to
 * the JSON error object (never replacing code and message).
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_ERROR,
    readonly code: string = 'INVALID_INPUT',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** `--json` among the arguments (before a `--`): errors are then printed as JSON too, even those found while parsing. */
export function jsonRequested(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/** The one shape of every error under `--json`, on stdout: {"error": {"code", "message", ...details}}. */
export function printJsonError(code: string, message: string, details: Record<string, unknown> = {}): void {
  const { code: _c, message: _m, ...rest } = details;
  process.stdout.write(`${JSON.stringify({ error: { code, message, ...rest } })}\n`);
}

/**
 * --server: an http(s) URL, checked where the option is parsed (commander names the option in
 * its message), so no command ever says "Invalid URL".
 */
export function parseServerUrl(value: string): string {
  let u: URL | undefined;
  try {
    u = new URL(value);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.host) {
    const hint = /^[A-Za-z0-9.-]+(:[0-9]+)?(\/.*)?$/.test(value) ? ` (did you mean http://${value}?)` : '';
    throw new InvalidArgumentError(`--server expects the ledger's http(s) URL, such as http://127.0.0.1:8080; got ${JSON.stringify(terminalSafe(value.slice(0, 200)))}${hint}`);
  }
  return value;
}

export function parsePort(text: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || n > 65535) throw new CliError(`--port must be 0..65535, got "${text}"`);
  return n;
}

export function parsePositive(name: string, text: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,15}$/.test(text) || n <= 0) throw new CliError(`${name} must be a positive integer, got "${text}"`);
  return n;
}

/** Why a file could not be read, in words ("no such file", "permission denied", …). */
export function whyUnreadable(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const words: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory', ENOTDIR: 'a part of the path is not a directory', EPERM: 'not permitted' };
  return typeof code === 'string' ? (words[code] ?? code) : 'unreadable';
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Text from elsewhere (a server, a statement), made safe to print: no terminal control sequences. */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/gu, '\u241a');
}

/** A JSON argument: inline JSON (starting with "{") or a file holding it. */
export async function readJson(pathOrJson: string, what: string): Promise<unknown> {
  const text = pathOrJson.trimStart().startsWith('{') ? pathOrJson : await readFile(pathOrJson, 'utf8').catch((e: unknown) => {
    throw new CliError(`cannot read ${what} file ${pathOrJson}: ${whyUnreadable(e)}`);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(pathOrJson === text ? `${what} is not valid JSON` : `${what} ${pathOrJson} is not valid JSON`);
  }
}

/** The public-good Sigstore instance's trusted root, shipped with the program (attestations/trust). */
export const PUBLIC_GOOD_ROOT = new URL('../../attestations/trust/sigstore-public-good.trusted_root.json', import.meta.url);

/**
 * A trusted root from a file or a URL. Here, not in attest.ts, so the gates and the monitor do not
 * load the signing and bundle-verifying code (`@sigstore/sign`, `@sigstore/verify`) they never use.
 */
/** How long a trusted root fetched from a URL may take. */
export const TRUSTED_ROOT_TIMEOUT_MS = 30_000;

export async function loadTrustedRoot(source: string, timeoutMs = TRUSTED_ROOT_TIMEOUT_MS): Promise<unknown> {
  if (/^https?:\/\//.test(source)) {
    let res: Response;
    let text: string;
    try {
      // A server that never answers must not hold the command forever.
      res = await fetch(source, { signal: AbortSignal.timeout(timeoutMs) });
      text = await res.text();
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (e as Error).message;
      throw new CliError(`--trusted-root: cannot fetch ${source}: ${why}`, EXIT_ERROR, 'TRUSTED_ROOT_UNAVAILABLE');
    }
    if (!res.ok) throw new CliError(`--trusted-root: ${source} answered HTTP ${res.status}`, EXIT_ERROR, 'TRUSTED_ROOT_UNAVAILABLE');
    try {
      return JSON.parse(text);
    } catch {
      throw new CliError(`--trusted-root: ${source} did not answer JSON (a trusted_root.json was expected)`);
    }
  }
  return readJson(source, '--trusted-root');
}

/**
 * A key file read for an option: a missing or unreadable key names the option, the file and what
 * was expected there.
 */
export async function readKeyFor<T>(option: string, expected: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if ((e as Error | undefined)?.name === 'KeyFileError') throw new CliError(`${option}: ${(e as Error).message}; expected ${expected}`, EXIT_ERROR, 'KEY_FILE_INVALID');
    throw e;
  }
}

/** A Node file-system error (ENOENT, EACCES, …) in words that name the file, never the raw errno text. */
export function fileErrorMessage(e: unknown): string | undefined {
  const err = e as { code?: unknown; path?: unknown; syscall?: unknown } | null;
  if (typeof err?.code !== 'string' || !/^E[A-Z]+$/.test(err.code) || typeof err.path !== 'string') return undefined;
  const verb: Record<string, string> = { open: 'open', read: 'read', mkdir: 'create the folder', write: 'write', rename: 'replace', stat: 'find', scandir: 'list', unlink: 'remove', copyfile: 'copy', access: 'use' };
  return `cannot ${verb[String(err.syscall)] ?? 'use'} ${err.path}: ${whyUnreadable(e)}`;
}
