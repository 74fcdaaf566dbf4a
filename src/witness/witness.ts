/**
 * A C2SP tlog-witness (https://c2sp.org/tlog-witness): it follows configured logs, checks
 * that each checkpoint it is shown is signed by the log and consistent with the latest one it
 * cosigned, and cosigns it (https://c2sp.org/tlog-cosignature, cosignature/v1, Ed25519).
 *
 * The latest cosigned checkpoint of each log is persisted to a JSON state file (written to a
 * temporary file, synced and renamed into place, mode 0600) before a cosignature is returned.
 * Requests for one log are handled one at a time, so checking the old size and recording the
 * new checkpoint are atomic, as the spec requires.
 */
import { PedigreeError } from '../errors.js';
import { AuditError, auditIndex, type Audited, type AuditState } from '../vindex/audit.js';
import type { VerifiableMap } from '../vindex/map.js';
import { createHash, createPublicKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { chmod, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cosign, cosignatureKeyId, cosignatureVerifierKey } from '../log/cosignature.js';
import {
  EMPTY_ROOT,
  HASH_SIZE,
  LogError,
  bytesEqual,
  concat,
  fromBase64,
  openNote,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  toBase64,
  verifyConsistency,
  type Checkpoint,
  type Note,
  type NoteVerifier,
} from '../log/index.js';
import { ed25519Raw } from '../crypto/node.js';

/** Largest add-checkpoint request body accepted, in bytes. */
export const MAX_REQUEST_BYTES = 1 << 20;
/** Clients must not send more than 63 consistency proof lines (tlog-witness). */
export const MAX_PROOF_LINES = 63;
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
const TEXT = 'text/plain; charset=utf-8';
const STATE_VERSION = 1;

/** A log the witness follows: its origin line and the log's signed-note verifier key (type 0x01). */
export interface WitnessLogConfig {
  readonly origin: string;
  /** "<name>+<hex key ID>+<base64(0x01 || key)>"; several entries for one origin trust several keys. */
  readonly vkey: string;
  /**
   * The ledger's URL, to audit its verifiable index before cosigning (vindex/audit.ts): the
   * witness reads every new entry and statement from there, rebuilds the index and cosigns only
   * a checkpoint whose committed index root is the one the entries make.
   */
  readonly audit?: string;
}

/** A checkpoint the witness refused although the log signed it: possible evidence of misbehaviour. */
export interface RefusedCheckpoint {
  readonly origin: string;
  readonly status: number;
  readonly reason: string;
  /** The submitted checkpoint note, as received. */
  readonly checkpoint: string;
}

export interface WitnessOptions {
  /** The witness's name (a schema-less URL such as witness.example.org/w1). */
  readonly name: string;
  /** The witness's own Ed25519 private key; used for nothing else. */
  readonly privateKey: KeyObject;
  readonly logs: readonly WitnessLogConfig[];
  /** The JSON state file (created on the first cosignature). */
  readonly statePath: string;
  /** Milliseconds since the epoch; cosignature timestamps are taken from it. */
  readonly clock?: () => number;
  /** Told of every signed checkpoint refused as inconsistent (422), which may be proof of a fork. */
  readonly onRefused?: (event: RefusedCheckpoint) => void;
}

/** An HTTP answer: status, Content-Type and body. */
export interface WitnessResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** The latest checkpoint the witness cosigned for a log. */
export interface CosignedState {
  readonly size: number;
  readonly root: Uint8Array;
  /** Timestamp of the cosignature, POSIX seconds. */
  readonly time: number;
  /** The checkpoint with the log's verified signature(s) and the witness's cosignature. */
  readonly checkpoint: string;
}

export class WitnessError extends PedigreeError<'WITNESS_CONFIG_INVALID' | 'WITNESS_STATE_CORRUPT'> {
  override readonly name = 'WitnessError';
}

/** A refusal with the HTTP status the spec assigns to it. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: Uint8Array[];
  readonly note: string;
}

/** Parses "old <size>\n", up to 63 base64 hash lines, an empty line, then the checkpoint note. */
function parseRequest(body: string): AddCheckpointRequest {
  let pos = 0;
  const line = (): string => {
    const nl = body.indexOf('\n', pos);
    if (nl < 0) throw new Refusal(400, 'request must be "old <size>", proof lines and an empty line, each ending in a newline, then the checkpoint');
    const text = body.slice(pos, nl);
    pos = nl + 1;
    return text;
  };
  const m = /^old (0|[1-9][0-9]{0,15})$/.exec(line());
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw new Refusal(400, 'first line must be "old <size>" (decimal, no leading zeroes)');
  const proof: Uint8Array[] = [];
  for (;;) {
    const text = line();
    if (text === '') break;
    if (proof.length === MAX_PROOF_LINES) throw new Refusal(400, `more than ${MAX_PROOF_LINES} consistency proof lines`);
    let hash: Uint8Array;
    try {
      hash = fromBase64(text);
    } catch {
      throw new Refusal(400, `consistency proof line ${proof.length + 1} is not base64`);
    }
    if (hash.length !== HASH_SIZE) throw new Refusal(400, `consistency proof line ${proof.length + 1} is not a 32-byte hash`);
    proof.push(hash);
  }
  return { oldSize: Number(m[1]), proof, note: body.slice(pos) };
}

const EM_DASH = '\u2014';

function signatureLine(name: string, keyId: Uint8Array, signature: Uint8Array): string {
  return `${EM_DASH} ${name} ${toBase64(concat(keyId, signature))}\n`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface StoredLog {
  origin: string;
  size: number;
  root: string;
  time: number;
  checkpoint: string;
}

function parseState(text: string, path: string): Map<string, CosignedState> {
  const corrupt = (why: string) => new WitnessError('WITNESS_STATE_CORRUPT', `witness state ${path} is corrupt (${why}); refusing to start rather than forget what was cosigned`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw corrupt('not JSON');
  }
  const d = data as { version?: unknown; logs?: unknown };
  if (typeof d !== 'object' || d === null || d.version !== STATE_VERSION || !Array.isArray(d.logs)) throw corrupt(`expected {"version": ${STATE_VERSION}, "logs": [...]}`);
  const out = new Map<string, CosignedState>();
  for (const entry of d.logs as unknown[]) {
    const e = entry as Partial<StoredLog>;
    if (typeof e !== 'object' || e === null || typeof e.origin !== 'string' || typeof e.checkpoint !== 'string' || typeof e.root !== 'string') throw corrupt('bad log entry');
    if (!Number.isSafeInteger(e.size) || e.size! < 0 || !Number.isSafeInteger(e.time) || e.time! < 0) throw corrupt(`bad size or time for ${e.origin}`);
    let root: Uint8Array;
    try {
      root = fromBase64(e.root);
    } catch {
      throw corrupt(`bad root for ${e.origin}`);
    }
    if (root.length !== HASH_SIZE) throw corrupt(`bad root for ${e.origin}`);
    if (out.has(e.origin)) throw corrupt(`${e.origin} appears twice`);
    out.set(e.origin, { size: e.size!, root, time: e.time!, checkpoint: e.checkpoint });
  }
  return out;
}

function formatState(state: ReadonlyMap<string, CosignedState>): string {
  const logs: StoredLog[] = [...state].map(([origin, s]) => ({ origin, size: s.size, root: toBase64(s.root), time: s.time, checkpoint: s.checkpoint }));
  return `${JSON.stringify({ version: STATE_VERSION, logs }, null, 2)}\n`;
}

/** Writes `text` to `path` atomically: a synced temporary file (mode 0600) renamed over it. */
export async function writeFileAtomic(path: string, text: string, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, mode); // a leftover temporary file keeps its old mode otherwise
  await rename(tmp, path);
  // Make the rename itself durable (best effort: not every platform can sync a directory).
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  if (dir) await dir.sync().catch(() => undefined).finally(() => dir.close());
}

export class Witness {
  readonly name: string;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** The witness's cosignature verifier key "<name>+<hex key ID>+<base64(0x04 || key)>". */
  readonly vkey: string;
  private readonly privateKey: KeyObject;
  private readonly logs: ReadonlyMap<string, readonly NoteVerifier[]>;
  private readonly statePath: string;
  private readonly clock: () => number;
  private readonly onRefused: ((event: RefusedCheckpoint) => void) | undefined;
  private state: ReadonlyMap<string, CosignedState>;
  private readonly byOriginHash = new Map<string, string>();
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Index audits in memory, per audited log (rebuilt from the log after a restart). */
  private readonly audited = new Map<string, { state: AuditState; map: VerifiableMap }>();

  private constructor(
    options: WitnessOptions,
    logs: Map<string, NoteVerifier[]>,
    state: Map<string, CosignedState>,
    private readonly audits: ReadonlyMap<string, string>,
  ) {
    this.name = options.name;
    this.privateKey = options.privateKey;
    this.publicKey = ed25519Raw(options.privateKey);
    this.vkey = cosignatureVerifierKey(this.name, this.publicKey);
    this.logs = logs;
    this.statePath = options.statePath;
    this.clock = options.clock ?? Date.now;
    this.onRefused = options.onRefused;
    this.state = state;
    for (const origin of logs.keys()) this.byOriginHash.set(sha256Hex(origin), origin);
  }

  /** Checks the configuration and loads the state file (a missing one is an empty state). */
  static async open(options: WitnessOptions): Promise<Witness> {
    const invalid = (why: string) => new WitnessError('WITNESS_CONFIG_INVALID', why);
    if (options.privateKey.type !== 'private' || options.privateKey.asymmetricKeyType !== 'ed25519') throw invalid('the witness key must be an Ed25519 private key');
    try {
      cosignatureKeyId(options.name, ed25519Raw(createPublicKey(options.privateKey)));
    } catch (e) {
      throw invalid(`witness name: ${(e as Error).message}`);
    }
    const logs = new Map<string, NoteVerifier[]>();
    const audits = new Map<string, string>();
    for (const log of options.logs) {
      if (log.audit !== undefined) {
        let url: URL;
        try {
          url = new URL(log.audit);
        } catch {
          throw invalid(`log ${log.origin}: the audit URL ${JSON.stringify(log.audit.slice(0, 100))} is not a URL`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`log ${log.origin}: the audit URL must be http(s)`);
        if (audits.has(log.origin) && audits.get(log.origin) !== log.audit) throw invalid(`log ${log.origin}: two audit URLs`);
        audits.set(log.origin, log.audit);
      }
      if (log.origin.length === 0 || /[\u0000-\u001f\u007f]/u.test(log.origin)) throw invalid('a log origin must be one non-empty line');
      let verifier: NoteVerifier;
      try {
        verifier = parseVerifierKey(log.vkey);
      } catch (e) {
        throw invalid(`log ${log.origin}: ${(e as Error).message}`);
      }
      const list = logs.get(log.origin) ?? [];
      if (!list.some((v) => v.name === verifier.name && bytesEqual(v.keyId, verifier.keyId))) list.push(verifier);
      logs.set(log.origin, list);
    }
    let text: string | undefined;
    try {
      text = await readFile(options.statePath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const state = text === undefined ? new Map<string, CosignedState>() : parseState(text, options.statePath);
    return new Witness(options, logs, state, audits);
  }

  /** The origins of the logs this witness follows. */
  get origins(): string[] {
    return [...this.logs.keys()];
  }

  /** The latest checkpoint cosigned for a log, if any. */
  latest(origin: string): CosignedState | undefined {
    return this.state.get(origin);
  }

  /**
   * The latest cosigned checkpoint of the log whose origin has this SHA-256 (lowercase hex), as
   * the monitoring API serves it: the log's verified signatures and this witness's cosignature.
   */
  checkpointByOriginHash(hex: string): string | undefined {
    const origin = this.byOriginHash.get(hex);
    return origin === undefined ? undefined : this.state.get(origin)?.checkpoint;
  }

  /** Handles an add-checkpoint request body as tlog-witness specifies; never throws for bad input. */
  async addCheckpoint(requestBody: string): Promise<WitnessResponse> {
    try {
      if (requestBody.length > MAX_REQUEST_BYTES) throw new Refusal(413, `request body is larger than ${MAX_REQUEST_BYTES} bytes`);
      return await this.handle(parseRequest(requestBody));
    } catch (e) {
      if (e instanceof Refusal) return { status: e.status, contentType: TEXT, body: `${e.message}\n` };
      throw e;
    }
  }

  private async handle(request: AddCheckpointRequest): Promise<WitnessResponse> {
    let note: Note;
    let cp: Checkpoint;
    try {
      note = parseNote(request.note);
      cp = parseCheckpoint(note.text);
    } catch (e) {
      if (e instanceof LogError) throw new Refusal(400, `malformed checkpoint: ${e.message}`);
      throw e;
    }
    const verifiers = this.logs.get(cp.origin);
    if (!verifiers) throw new Refusal(404, `unknown log origin "${cp.origin}"`);
    try {
      // Unknown keys are ignored; a trusted key's failing signature or none at all is refused.
      openNote(request.note, verifiers);
    } catch (e) {
      if (e instanceof LogError) throw new Refusal(403, `checkpoint is not signed by a trusted key of ${cp.origin}: ${e.message}`);
      throw e;
    }
    if (request.oldSize > cp.size) throw new Refusal(400, `old size ${request.oldSize} is larger than the checkpoint size ${cp.size}`);
    return this.exclusive(cp.origin, async () => {
      const current = this.state.get(cp.origin);
      const currentSize = current?.size ?? 0;
      if (request.oldSize !== currentSize) return { status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: `${currentSize}\n` };
      const refuse = (reason: string): never => {
        this.onRefused?.({ origin: cp.origin, status: 422, reason, checkpoint: request.note });
        throw new Refusal(422, reason);
      };
      if (cp.size === 0 && !bytesEqual(cp.root, EMPTY_ROOT)) refuse('a checkpoint of size 0 must have the root of the empty tree');
      if (request.oldSize === 0 && request.proof.length > 0) refuse('the consistency proof from size 0 must be empty');
      if (request.oldSize === cp.size) {
        if (current && !bytesEqual(current.root, cp.root)) refuse(`fork: size ${cp.size} was cosigned with a different root hash`);
        // Same tree, other extension lines (another index root, say): another checkpoint of the
        // same size is a split view too, so only the very body cosigned before is cosigned again.
        if (current && parseNote(current.checkpoint).text !== note.text) refuse(`fork: size ${cp.size} was cosigned with a different checkpoint body`);
        if (request.proof.length > 0) refuse('the consistency proof between equal sizes must be empty');
      } else if (request.oldSize > 0) {
        try {
          verifyConsistency(request.oldSize, cp.size, request.proof, current!.root, cp.root);
        } catch (e) {
          if (e instanceof LogError) refuse(`consistency proof from size ${request.oldSize} to ${cp.size} does not verify: ${e.message}`);
          throw e;
        }
      }
      // An auditing witness cosigns only an index its entries make: no checkpoint it cosigns
      // carries an index nobody checked, whether or not a monitor is ever shown it.
      const auditUrl = this.audits.get(cp.origin);
      let audit: Audited | undefined;
      if (auditUrl !== undefined) {
        try {
          audit = await auditIndex(auditUrl, cp, this.audited.get(cp.origin));
        } catch (e) {
          if (e instanceof AuditError && e.code === 'AUDIT_UNREACHABLE') throw new Refusal(503, `cannot audit ${cp.origin}: ${e.message}`);
          if (e instanceof AuditError) refuse(`index audit: ${e.message}`);
          throw e;
        }
        if (!audit!.matches) refuse(`the index committed at size ${cp.size} is not the one the log's entries make`);
      }
      // Never go back in time for a log, even if the clock does.
      const time = Math.max(Math.floor(this.clock() / 1000), current?.time ?? 0, 1);
      const cosignature = cosign(note.text, this.name, this.publicKey, (m) => new Uint8Array(cryptoSign(null, m, this.privateKey)), time);
      const logSignatures = note.signatures
        .filter((s) => verifiers.some((v) => v.name === s.name && bytesEqual(v.keyId, s.keyId)))
        .map((s) => signatureLine(s.name, s.keyId, s.signature))
        .join('');
      await this.record(cp.origin, { size: cp.size, root: cp.root, time, checkpoint: `${note.text}\n${logSignatures}${cosignature}` });
      if (audit) this.audited.set(cp.origin, { state: audit.state, map: audit.map });
      return { status: 200, contentType: TEXT, body: cosignature };
    });
  }

  /** Persists the new state for one log, then makes it current. Writes are one at a time. */
  private record(origin: string, entry: CosignedState): Promise<void> {
    return this.exclusive('\u0000state-file', async () => {
      const next = new Map(this.state);
      next.set(origin, entry);
      await writeFileAtomic(this.statePath, formatState(next));
      this.state = next;
    });
  }

  /** Runs `fn` after every earlier task with the same key has settled. */
  private async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    }
  }
}
