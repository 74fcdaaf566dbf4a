/**
 * The log's side of https://c2sp.org/tlog-witness: submitting a checkpoint to a witness
 * (`addCheckpoint`) and collecting cosignatures from several (`WitnessPool`).
 *
 * A witness is given by its submission prefix URL (add-checkpoint is POSTed to
 * <prefix>/add-checkpoint) and its cosignature verifier key. Nothing a witness returns is
 * appended to a checkpoint before it has verified against that key.
 */
import { PedigreeError } from '../errors.js';
import { parseCosignatureVerifierKey, verifyCosignatures, type CosignatureVerifierKey } from '../log/cosignature.js';
import { HASH_SIZE, LogError, concat, parseCheckpoint, parseNote, toBase64 } from '../log/index.js';

export const DEFAULT_WITNESS_TIMEOUT_MS = 10_000;
/** Longest witness response read; a cosignature line is about 150 bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_PROOF_LINES = 63;

export type AddCheckpointResult =
  | { readonly ok: true; readonly cosignatures: string }
  | { readonly ok: false; readonly status: number; readonly conflictSize?: number; readonly message: string };

export interface AddCheckpointOptions {
  /** Whole request, response body included (default 10 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

function endpoint(url: string): string {
  if (/\/add-checkpoint$/.test(url)) return url;
  return `${url.replace(/\/+$/, '')}/add-checkpoint`;
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`response is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(concat(...chunks));
}

/** The add-checkpoint request body: "old <size>\n", one base64 hash per line, "\n", the note. */
export function addCheckpointBody(oldSize: number, proof: readonly Uint8Array[], checkpointNote: string): string {
  if (!Number.isSafeInteger(oldSize) || oldSize < 0) throw new LogError('INVALID_ARGUMENT', 'old size must be a non-negative integer');
  if (proof.length > MAX_PROOF_LINES) throw new LogError('INVALID_ARGUMENT', `a consistency proof has at most ${MAX_PROOF_LINES} hashes`);
  if (proof.some((h) => h.length !== HASH_SIZE)) throw new LogError('INVALID_ARGUMENT', 'proof hashes are 32 bytes');
  return `old ${oldSize}\n${proof.map((h) => `${toBase64(h)}\n`).join('')}\n${checkpointNote}`;
}

const SIGNATURE_LINES = /^(\u2014 [^\s+]+ [A-Za-z0-9+/]+={0,2}\n)+$/u;

/**
 * Submits a checkpoint to one witness. Never throws for what the witness or the network does:
 * failures come back as `ok: false` with the HTTP status (0 when there was no answer), and a
 * 409 carries the size the witness holds for the log in `conflictSize`. The cosignature lines
 * of a 200 are returned as sent, not yet verified.
 */
export async function addCheckpoint(
  url: string,
  oldSize: number,
  proofHashes: readonly Uint8Array[],
  checkpointNote: string,
  opts: AddCheckpointOptions = {},
): Promise<AddCheckpointResult> {
  const body = addCheckpointBody(oldSize, proofHashes, checkpointNote);
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(endpoint(url), { method: 'POST', body, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, redirect: 'error', signal });
    text = await readLimited(res);
  } catch (e) {
    const why = timeout.aborted ? `no answer within ${opts.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS} ms` : String((e as Error).message ?? e);
    return { ok: false, status: 0, message: `${url}: ${why}` };
  }
  if (res.status === 200) {
    if (!SIGNATURE_LINES.test(text)) return { ok: false, status: 200, message: `${url}: the answer is not note signature lines` };
    return { ok: true, cosignatures: text };
  }
  const firstLine = text.split('\n', 1)[0]!.slice(0, 200);
  if (res.status === 409) {
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const m = /^(0|[1-9][0-9]{0,15})\n$/.exec(text);
    if (type === 'text/x.tlog.size' && m && Number.isSafeInteger(Number(m[1]))) {
      return { ok: false, status: 409, conflictSize: Number(m[1]), message: `${url}: the witness holds size ${m[1]} for this log, not ${oldSize}` };
    }
    return { ok: false, status: 409, message: `${url}: 409 without a valid size body` };
  }
  return { ok: false, status: res.status, message: `${url}: HTTP ${res.status}${firstLine ? `: ${firstLine}` : ''}` };
}

/** A witness of the pool: its submission prefix and its cosignature verifier key (type 0x04). */
export interface PoolWitnessConfig {
  readonly url: string;
  readonly vkey: string;
}

export interface WitnessPoolOptions {
  readonly witnesses: readonly PoolWitnessConfig[];
  /** How many witnesses must cosign; `cosign` throws a QuorumError below it. */
  readonly quorum: number;
  /** The log's consistency proof between two of its sizes (0 < fromSize < toSize). */
  readonly consistency: (fromSize: number, toSize: number) => Promise<Uint8Array[]>;
  /** Per witness, both attempts and the proof included (default 10 s). */
  readonly timeoutMs?: number;
}

export interface WitnessFailure {
  readonly name: string;
  readonly url: string;
  readonly message: string;
}

export interface CosignResult {
  /** The checkpoint as given (the log's own signature first) with every valid cosignature appended. */
  readonly note: string;
  /** Names of the witnesses that cosigned, in configuration order. */
  readonly witnesses: string[];
  readonly failures: WitnessFailure[];
}

/** Fewer witnesses cosigned than the quorum; `result` holds what was collected. */
export class QuorumError extends PedigreeError<'WITNESS_QUORUM'> {
  override readonly name = 'QuorumError';
  constructor(
    message: string,
    readonly result: CosignResult,
  ) {
    super('WITNESS_QUORUM', message);
  }
}

interface PoolMember {
  readonly url: string;
  readonly key: CosignatureVerifierKey;
  /** The size this witness last cosigned for the log, as far as we know. */
  size: number;
}

function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/**
 * Collects cosignatures for a log's checkpoints from several witnesses in parallel. It
 * remembers the size each witness last cosigned (0 at first) to build the consistency proof,
 * and after a 409 retries once from the size the witness reports. A witness that fails, is
 * down or does not answer in time is reported in `failures` and holds up no other.
 * Calls to `cosign` run one at a time.
 */
export class WitnessPool {
  private readonly members: PoolMember[];
  private readonly quorum: number;
  private readonly consistency: WitnessPoolOptions['consistency'];
  private readonly timeoutMs: number;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: WitnessPoolOptions) {
    this.members = options.witnesses.map((w) => ({ url: w.url, key: parseCosignatureVerifierKey(w.vkey), size: 0 }));
    const names = this.members.map((m) => m.key.name);
    if (new Set(names).size !== names.length) throw new LogError('INVALID_ARGUMENT', 'two pool witnesses share a name');
    if (!Number.isSafeInteger(options.quorum) || options.quorum < 0 || options.quorum > this.members.length) {
      throw new LogError('INVALID_ARGUMENT', `quorum must be 0..${this.members.length}`);
    }
    this.quorum = options.quorum;
    this.consistency = options.consistency;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_WITNESS_TIMEOUT_MS;
  }

  /** The size the pool believes a witness last cosigned, by witness name. */
  knownSize(name: string): number | undefined {
    return this.members.find((m) => m.key.name === name)?.size;
  }

  /** Asks every witness to cosign the checkpoint (whose tree size is `size`). */
  cosign(checkpointNote: string, size: number): Promise<CosignResult> {
    const run = this.chain.then(() => this.cosignNow(checkpointNote, size));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async cosignNow(checkpointNote: string, size: number): Promise<CosignResult> {
    const body = parseNote(checkpointNote).text;
    const cp = parseCheckpoint(body);
    if (cp.size !== size) throw new LogError('INVALID_ARGUMENT', `the checkpoint's size is ${cp.size}, not ${size}`);
    const outcomes = await Promise.all(
      this.members.map(async (member) => {
        try {
          return { member, lines: await this.ask(member, checkpointNote, body, size) };
        } catch (e) {
          return { member, error: String((e as Error).message ?? e) };
        }
      }),
    );
    const lines = outcomes.flatMap((o) => (o.lines === undefined ? [] : [o.lines]));
    const result: CosignResult = {
      note: `${checkpointNote}${lines.join('')}`,
      witnesses: outcomes.flatMap((o) => (o.lines === undefined ? [] : [o.member.key.name])),
      failures: outcomes.flatMap((o) => (o.error === undefined ? [] : [{ name: o.member.key.name, url: o.member.url, message: o.error }])),
    };
    if (result.witnesses.length < this.quorum) {
      throw new QuorumError(`${result.witnesses.length} of ${this.members.length} witnesses cosigned size ${size}; ${this.quorum} needed`, result);
    }
    return result;
  }

  /** One witness: up to two attempts (the second after a 409), all within the timeout. */
  private async ask(member: PoolMember, note: string, body: string, size: number): Promise<string> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    for (let attempt = 0; ; attempt++) {
      const old = member.size;
      if (old > size) throw new Error(`the witness has already cosigned size ${old}, beyond ${size}`);
      const proof = old === 0 || old === size ? [] : await raceSignal(this.consistency(old, size), signal);
      const r = await addCheckpoint(member.url, old, proof, note, { timeoutMs: this.timeoutMs, signal });
      if (r.ok) {
        const valid = verifyCosignatures(`${body}\n${r.cosignatures}`, [member.key], { minTime: 1 });
        if (valid.length === 0) throw new Error(`${member.url}: the answer holds no valid cosignature by ${member.key.name}`);
        member.size = size;
        return valid.map((v) => v.line).join('');
      }
      if (r.status === 409 && r.conflictSize !== undefined && attempt === 0) {
        member.size = r.conflictSize;
        continue;
      }
      throw new Error(signal.aborted ? `${member.url}: no answer within ${this.timeoutMs} ms` : r.message);
    }
  }
}
