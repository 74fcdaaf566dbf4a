/**
 * Auditing the verifiable index from outside the ledger, as monitors and auditing witnesses do:
 * read every new entry (C2SP entry bundles at /tile/entries/ and the signed statements behind
 * them at /vindex/payloads/), check that the entries make up the checkpoint's tree and that each
 * statement is the one its entry logged, file each entry with the ledger's own map function
 * (keys.ts), and compare the rebuilt index root with the one the checkpoint commits. Nothing
 * the server says is taken on trust: a server that serves other entries or statements fails
 * the tree or the payload-hash check, and every read is bounded.
 */
import { PedigreeError } from '../errors.js';
import { TILE_WIDTH, appendToFrontier, bytesEqual, fromBase64, leafHash, rootOfFrontier, sha256, tilePath, toBase64, toHex, type Checkpoint } from '../log/index.js';
import type { Statement } from '../attest/statement.js';
import { lookupKeys } from './keys.js';
import { VerifiableMap, indexRootOf, keyHash, valueHash } from './map.js';

/** Why an audit failed: the log misbehaved (AUDIT_FAILED) or could not be read (AUDIT_UNREACHABLE). */
export class AuditError extends PedigreeError<'AUDIT_FAILED' | 'AUDIT_UNREACHABLE'> {
  override readonly name = 'AuditError';
}

/** What an auditor has read so far: entries [0, size), their compact range, and the lists rebuilt. */
export interface AuditState {
  size: number;
  frontier: string[];
  lists: Record<string, number[]>;
}

export interface Audited {
  readonly state: AuditState;
  /** The index rebuilt from `state.lists` (kept to make the next audit incremental). */
  readonly map: VerifiableMap;
  /** Entries read by this audit. */
  readonly read: number;
  /** Keys whose lists this audit changed. */
  readonly changed: string[];
  /** Whether the rebuilt index root is the one the checkpoint commits. */
  readonly matches: boolean;
}

/** Largest entry bundle (256 entries of at most 64 KiB) and largest statement tile read. */
const MAX_ENTRY_TILE = TILE_WIDTH * (2 + 0xffff);
const MAX_PAYLOAD_TILE = 512 * 1024 * 1024;

const failed = (message: string) => new AuditError('AUDIT_FAILED', message);

/** A tile, read up to `limit` bytes: a server cannot make the auditor hold more. */
async function fetchBytes(server: string, path: string, limit: number): Promise<Uint8Array> {
  const res = await fetch(new URL(path, server)).catch((e: Error) => {
    throw new AuditError('AUDIT_UNREACHABLE', `cannot reach ${server}: ${e.message}`);
  });
  if (!res.ok) throw failed(`the log does not serve /${path.replace(/^\//, '')} (HTTP ${res.status})`);
  const tooLarge = () => failed(`the log serves more than ${limit} bytes at /${path.replace(/^\//, '')}`);
  if (Number(res.headers.get('content-length') ?? 0) > limit) throw tooLarge();
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
}

/** Splits length-prefixed records (prefix of `width` bytes, big-endian). */
function records(bytes: Uint8Array, width: 2 | 4, what: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    if (at + width > bytes.length) throw failed(`${what} is truncated`);
    const n = width === 2 ? view.getUint16(at) : view.getUint32(at);
    if (at + width + n > bytes.length) throw failed(`${what} is truncated`);
    out.push(bytes.subarray(at + width, at + width + n));
    at += width + n;
  }
  return out;
}

/** The index a state's lists make. */
export function rebuildIndex(state: AuditState): VerifiableMap {
  const map = new VerifiableMap();
  for (const [key, list] of Object.entries(state.lists)) map.set(keyHash(key), valueHash(list));
  return map;
}

/**
 * Audits the log at `server` up to checkpoint `cp` (already verified by the caller) from
 * `prev`; returns the new state without changing `prev`. Throws AuditError when the entries or
 * statements served are not the log's; reports (in `matches`) whether the index root agrees.
 */
export async function auditIndex(server: string, cp: Checkpoint, prev?: { state: AuditState; map?: VerifiableMap }, progress?: (done: number) => void): Promise<Audited> {
  if (prev && prev.state.size > cp.size) throw failed(`the checkpoint of size ${cp.size} is older than the ${prev.state.size} entries already audited`);
  const state: AuditState = { size: prev?.state.size ?? 0, frontier: [...(prev?.state.frontier ?? [])], lists: { ...(prev?.state.lists ?? {}) } };
  const frontier = state.frontier.map(fromBase64);
  const start = state.size;
  const changed = new Set<string>();
  for (let tile = Math.floor(start / TILE_WIDTH); tile * TILE_WIDTH < cp.size; tile++) {
    const width = Math.min(cp.size, (tile + 1) * TILE_WIDTH) - tile * TILE_WIDTH;
    const path = tilePath({ level: 'entries', index: tile, ...(width < TILE_WIDTH && { width }) });
    const [entries, payloads] = await Promise.all([
      fetchBytes(server, `/${path}`, MAX_ENTRY_TILE),
      fetchBytes(server, `/vindex/payloads/${path.slice('tile/entries/'.length)}`, MAX_PAYLOAD_TILE),
    ]);
    const es = records(entries, 2, `entry bundle ${tile}`);
    const ps = records(payloads, 4, `payload tile ${tile}`);
    if (es.length !== width || ps.length !== width) throw failed(`tile ${tile} holds ${es.length} entries and ${ps.length} statements, not ${width}`);
    for (let i = state.size - tile * TILE_WIDTH; i < width; i++) {
      const index = tile * TILE_WIDTH + i;
      appendToFrontier(frontier, index, leafHash(es[i]!));
      let body: { spec?: { payloadHash?: { value?: unknown } } };
      let statement: Statement;
      try {
        body = JSON.parse(Buffer.from(es[i]!).toString('utf8'));
        statement = JSON.parse(Buffer.from(ps[i]!).toString('utf8')) as Statement;
      } catch {
        throw failed(`entry ${index} or its statement is not JSON`);
      }
      if (body.spec?.payloadHash?.value !== toHex(sha256(ps[i]!))) throw failed(`entry ${index}: the statement the log serves is not the one its entry logged`);
      for (const key of lookupKeys(statement)) {
        // Copied on first change, so `prev` stays as it was.
        if (!changed.has(key)) state.lists[key] = [...(state.lists[key] ?? [])];
        state.lists[key]!.push(index);
        changed.add(key);
      }
      state.size = index + 1;
    }
    progress?.(state.size);
  }
  if (!bytesEqual(rootOfFrontier(frontier), cp.root)) throw failed(`the entries the log serves do not make up the tree its checkpoint of size ${cp.size} commits`);
  state.frontier = frontier.map(toBase64);
  const committed = indexRootOf(cp.extensions);
  if (!committed) throw failed(`the checkpoint of size ${cp.size} commits no verifiable index`);
  const map = (prev?.map ?? rebuildIndex(prev?.state ?? state)).clone();
  if (prev?.map || prev?.state) for (const key of changed) map.set(keyHash(key), valueHash(state.lists[key]!));
  return { state, map, read: state.size - start, changed: [...changed], matches: bytesEqual(map.root, committed) };
}
