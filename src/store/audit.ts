/**
 * `pedigree audit --data DIR`: checks a stopped ledger's data directory against itself, from the
 * entries up, and names the first inconsistency. In order:
 *
 *   1. every entry's stored leaf hash is the hash of its data;
 *   2. the tree recomputed from those leaves has the stored tree's size and root, and every
 *      stored tile (full and the partial edge) is the recomputed one;
 *   3. the stored checkpoint is signed by the log's (current) key and commits that root;
 *   4. every entry's attestation record is readable and about that entry, its stored bundle is
 *      the one the record names (SHA-256), and the bundle's signed statement is the one the
 *      entry logged (its payloadHash), and its signed entry timestamp is by the log key of its
 *      term (a rotated log: ledger.json logKeys);
 *   5. the verifiable index rebuilt from those statements has the root the checkpoint commits,
 *      and every list the stored index records give is the rebuilt one.
 */
import { createPublicKey, verify } from 'node:crypto';
import { entryTimestampPayload } from '../verify/canonical.js';
import { ed25519NoteVerifier, ed25519Raw } from '../crypto/node.js';
import { EMPTY_TREE, ed25519KeyHash, integrate, leafHash, openCheckpoint, sha256, tileKey, toHex, type TreeState } from '../log/index.js';
import { SPACE_ATTESTATION, SPACE_BUNDLE, type AttestationRecord } from '../attest/service.js';
import { indexKey, type LogStore } from './store.js';
import { lookupKeys } from '../vindex/keys.js';
import { VerifiableMap, indexRootOf, keyHash, valueHash } from '../vindex/map.js';
import { PersistentIndex } from '../vindex/persistent.js';
import { indexRefs, subjectRefs, type Statement } from '../attest/statement.js';
import { attestationId } from '../attest/identity.js';
import { TrustRegistry } from '../trust/registry.js';

export interface AuditProblem {
  readonly kind: 'entry' | 'tree' | 'tile' | 'checkpoint' | 'record' | 'bundle' | 'index';
  readonly where: string;
  readonly message: string;
}

export interface StoreAudit {
  readonly entries: number;
  readonly tiles: number;
  readonly keys: number;
  /** The first inconsistency, or undefined when everything agrees. */
  readonly problem?: AuditProblem;
}

const CHUNK = 4096;

/**
 * `logKeys`: the log's key (PEM), or every key it has had, oldest first, each with the first
 * log index whose entry timestamp it signed (config/datadir.ts logKeyHistory).
 */
export async function auditStore(
  store: LogStore,
  origin: string,
  logKeys: string | ReadonlyArray<{ readonly publicKey: string; readonly firstIndex: number }>,
  adminPublicKeyPem: string,
  progress: (done: number, of: number) => void = () => undefined,
): Promise<StoreAudit> {
  const terms = (typeof logKeys === 'string' ? [{ publicKey: logKeys, firstIndex: 0 }] : logKeys).map((t) => {
    const key = createPublicKey(t.publicKey);
    return { key, logId: ed25519KeyHash(origin, ed25519Raw(key)), firstIndex: t.firstIndex };
  });
  const currentLogKey = terms[terms.length - 1]!.key;
  const termOf = (i: number) => terms.filter((t) => t.firstIndex <= i).pop() ?? terms[0]!;
  const tree = await store.readTree();
  const size = tree?.state.size ?? 0;
  let tilesChecked = 0;
  const done = (problem?: AuditProblem, keys = 0): StoreAudit => ({ entries: size, tiles: tilesChecked, keys, ...(problem && { problem }) });
  if (!tree) return done();

  // 1 and 2: leaves, the recomputed tree and every tile.
  let state: TreeState = EMPTY_TREE;
  const tiles = new Map<string, Uint8Array>();
  for (let start = 0; start < size; start += CHUNK) {
    const entries = await store.readEntries(start, Math.min(size, start + CHUNK));
    if (entries.length !== Math.min(CHUNK, size - start)) return done({ kind: 'entry', where: `entry ${start + entries.length}`, message: 'the entry is missing' });
    const leaves: Uint8Array[] = [];
    for (const e of entries) {
      const h = leafHash(e.data);
      if (toHex(h) !== toHex(e.leafHash)) return done({ kind: 'entry', where: `entry ${e.index}`, message: "its stored leaf hash is not the hash of its data (the entry or its hash record was changed)" });
      leaves.push(h);
    }
    const step = await integrate(state, leaves, async (l, i) => tiles.get(tileKey(l, i)));
    for (const [k, v] of step.tiles) tiles.set(k, v);
    state = step.state;
    progress(state.size, size);
  }
  if (toHex(state.root) !== toHex(tree.state.root)) return done({ kind: 'tree', where: `tree of size ${size}`, message: 'the stored tree root is not the root of the stored entries' });
  for (const [k, want] of tiles) {
    const [level, index] = k.split('/').map(Number) as [number, number];
    const have = await store.readTile(level, index);
    tilesChecked++;
    if (!have || have.length < want.length || toHex(have.subarray(0, want.length)) !== toHex(want)) return done({ kind: 'tile', where: `tile ${level}/${index}`, message: 'the stored tile is not the one the entries make' });
  }

  // 3: the checkpoint.
  let indexRoot: Uint8Array | undefined;
  try {
    const cp = openCheckpoint(tree.checkpoint, ed25519NoteVerifier(origin, currentLogKey));
    if (cp.size !== size || toHex(cp.root) !== toHex(state.root)) return done({ kind: 'checkpoint', where: 'checkpoint', message: `the stored checkpoint (size ${cp.size}) does not commit the stored tree (size ${size})` });
    indexRoot = indexRootOf(cp.extensions);
  } catch (e) {
    return done({ kind: 'checkpoint', where: 'checkpoint', message: `the stored checkpoint does not verify with the log's key: ${(e as Error).message}` });
  }
  if (!indexRoot) return done({ kind: 'checkpoint', where: 'checkpoint', message: 'the stored checkpoint commits no verifiable index' });

  // 4: records, bundles and statements.
  const lists = new Map<string, number[]>();
  // The registry as it stood at each entry, to name each entry's signer again.
  const registry = new TrustRegistry(adminPublicKeyPem);
  let chunk: Array<{ index: number; data: Uint8Array; integratedTime: number }> = [];
  for (let i = 0; i < size; i++) {
    const where = `entry ${i}`;
    if (i % CHUNK === 0) chunk = await store.readEntries(i, Math.min(size, i + CHUNK));
    const entry = chunk[i % CHUNK]!;
    const bytes = await store.readRecord(SPACE_ATTESTATION, indexKey(i));
    let record: AttestationRecord;
    try {
      record = JSON.parse(Buffer.from(bytes ?? []).toString('utf8')) as AttestationRecord;
      if (record.logIndex !== i || typeof record.bundleHash !== 'string') throw new Error('it is about another entry');
    } catch (e) {
      return done({ kind: 'record', where, message: `its attestation record is ${bytes ? `unreadable (${(e as Error).message})` : 'missing'}` });
    }
    const bundle = await store.readRecord(SPACE_BUNDLE, record.bundleHash);
    if (!bundle || toHex(sha256(bundle)) !== record.bundleHash) return done({ kind: 'bundle', where, message: `its stored bundle is ${bundle ? 'not the one its record names (SHA-256 differs)' : 'missing'}` });
    let statement: Statement;
    let payload: Buffer;
    let stored: { dsseEnvelope: { payload: string; payloadType: string }; verificationMaterial?: { publicKey?: { hint?: string } } };
    try {
      stored = JSON.parse(Buffer.from(bundle).toString('utf8')) as typeof stored;
      payload = Buffer.from(stored.dsseEnvelope.payload, 'base64');
      statement = JSON.parse(payload.toString('utf8')) as Statement;
    } catch {
      return done({ kind: 'bundle', where, message: 'its stored bundle holds no readable statement' });
    }
    const logged = (JSON.parse(Buffer.from(entry.data).toString('utf8')) as { spec?: { payloadHash?: { value?: string } } }).spec?.payloadHash?.value;
    if (logged !== toHex(sha256(payload))) return done({ kind: 'bundle', where, message: 'the statement in its stored bundle is not the one the entry logged (payloadHash differs)' });
    // The record says what the entry and its bundle say, and its signed entry timestamp is the log's.
    const hint = stored.verificationMaterial?.publicKey?.hint;
    let setValid = false;
    try {
      const { key: logKey, logId } = termOf(i);
      setValid = verify(null, entryTimestampPayload(entry.data, entry.integratedTime, i, logId), logKey, Buffer.from(record.set, 'base64'));
    } catch {
      setValid = false;
    }
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    if (
      record.integratedTime !== entry.integratedTime ||
      record.predicateType !== statement.predicateType ||
      (hint !== undefined && record.keyId !== hint) ||
      record.id !== attestationId(stored.dsseEnvelope.payloadType, payload, record.keyId) ||
      !same(record.subjects, subjectRefs(statement)) ||
      !same(record.refs, indexRefs(statement)) ||
      record.signer !== registry.signerInfo(record.keyId)?.participant ||
      !setValid
    ) {
      return done({ kind: 'record', where, message: 'its attestation record does not match the entry and its bundle (identity, signer, time, type, key, subjects or signed entry timestamp)' });
    }
    try {
      registry.apply(statement, i, entry.integratedTime, toHex(sha256(payload)));
    } catch (e) {
      return done({ kind: 'record', where, message: `its registry statement cannot be applied in log order: ${(e as Error).message}` });
    }
    for (const k of lookupKeys(statement)) (lists.get(k) ?? lists.set(k, []).get(k)!).push(i);
  }

  // 5: the verifiable index, its root and every stored list.
  const map = new VerifiableMap();
  for (const [k, l] of lists) map.set(keyHash(k), valueHash(l));
  if (toHex(map.root) !== toHex(indexRoot)) return done({ kind: 'index', where: 'index root', message: 'the index the checkpoint commits is not the one the entries make' }, lists.size);
  const stored = new PersistentIndex(store, indexRoot, 0);
  const keys = [...lists.keys()].sort();
  for (let at = 0; at < keys.length; at += 256) {
    const chunk = keys.slice(at, at + 256);
    let got;
    try {
      got = await stored.lookup(chunk);
    } catch (e) {
      return done({ kind: 'index', where: `index records for ${chunk[0]}…`, message: `the stored index records cannot be read: ${(e as Error).message}` }, lists.size);
    }
    for (const l of got) {
      if (l.indexes.join(',') !== lists.get(l.key)!.join(',')) return done({ kind: 'index', where: `index list ${l.key}`, message: 'the stored index records give another list than the entries make' }, lists.size);
    }
  }
  return done(undefined, lists.size);
}
