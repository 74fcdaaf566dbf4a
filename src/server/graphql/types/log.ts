/** Checkpoints, entries and proofs of the Merkle log. */
import { parseCheckpoint, parseNote, toBase64 } from '../../../log/index.js';
import type { ConsistencyProof, InclusionProof } from '../../../ledger/ledger.js';
import type { StoredEntry } from '../../../store/store.js';
import { builder } from '../builder.js';

interface CheckpointModel {
  note: string;
}

export const Checkpoint = builder.objectRef<CheckpointModel>('Checkpoint').implement({
  description: 'A signed C2SP checkpoint: the log commits to its first `size` entries with `rootHash`.',
  fields: (t) => ({
    origin: t.string({ resolve: (c) => parseCheckpoint(parseNote(c.note).text).origin }),
    size: t.int({ resolve: (c) => parseCheckpoint(parseNote(c.note).text).size }),
    rootHash: t.string({ description: 'Base64 SHA-256 root hash.', resolve: (c) => toBase64(parseCheckpoint(parseNote(c.note).text).root) }),
    note: t.string({ description: 'The whole signed note, exactly as served at /checkpoint.', resolve: (c) => c.note }),
  }),
});

export const LogEntry = builder.objectRef<StoredEntry>('LogEntry').implement({
  description: 'One leaf of the log.',
  fields: (t) => ({
    logIndex: t.int({ resolve: (e) => e.index }),
    leafHash: t.string({ description: 'Base64 RFC 9162 leaf hash.', resolve: (e) => toBase64(e.leafHash) }),
    data: t.string({ description: 'Base64 entry bytes.', resolve: (e) => toBase64(e.data) }),
    integratedTime: t.int({ description: 'Seconds since the epoch when the entry was integrated.', resolve: (e) => e.integratedTime }),
  }),
});

const InclusionProofRef = builder.objectRef<InclusionProof>('InclusionProof').implement({
  description: 'RFC 9162 inclusion proof of one entry in the tree of size `treeSize`.',
  fields: (t) => ({
    logIndex: t.int({ resolve: (p) => p.index }),
    treeSize: t.int({ resolve: (p) => p.treeSize }),
    rootHash: t.string({ resolve: (p) => toBase64(p.root) }),
    leafHash: t.string({ resolve: (p) => toBase64(p.leafHash) }),
    hashes: t.stringList({ description: 'Base64 proof hashes, from the leaf upwards.', resolve: (p) => p.hashes.map(toBase64) }),
  }),
});

const ConsistencyProofRef = builder.objectRef<ConsistencyProof>('ConsistencyProof').implement({
  description: 'RFC 9162 consistency proof that the tree of `toSize` extends the tree of `fromSize`.',
  fields: (t) => ({
    fromSize: t.int({ resolve: (p) => p.fromSize }),
    toSize: t.int({ resolve: (p) => p.toSize }),
    fromRootHash: t.string({ resolve: (p) => toBase64(p.fromRoot) }),
    toRootHash: t.string({ resolve: (p) => toBase64(p.toRoot) }),
    hashes: t.stringList({ resolve: (p) => p.hashes.map(toBase64) }),
  }),
});

builder.queryFields((t) => ({
  checkpoint: t.field({
    type: Checkpoint,
    description: 'The latest signed checkpoint.',
    resolve: (_r, _a, { ledger }) => ({ note: ledger.checkpoint }),
  }),
  entry: t.field({
    type: LogEntry,
    nullable: true,
    description: 'The entry at `logIndex`. Error code INDEX_OUT_OF_RANGE past the end of the log.',
    args: { logIndex: t.arg.int({ required: true }) },
    resolve: (_r, { logIndex }, { ledger }) => ledger.entry(logIndex),
  }),
  inclusionProof: t.field({
    type: InclusionProofRef,
    nullable: true,
    description: 'Inclusion proof of `logIndex` in the tree of `treeSize` (default: the latest checkpoint).',
    args: { logIndex: t.arg.int({ required: true }), treeSize: t.arg.int() },
    resolve: (_r, { logIndex, treeSize }, { ledger }) => ledger.inclusionProof(logIndex, treeSize ?? ledger.size),
  }),
  consistencyProof: t.field({
    type: ConsistencyProofRef,
    nullable: true,
    description: 'Consistency proof from `fromSize` to `toSize` (default: the latest checkpoint).',
    args: { fromSize: t.arg.int({ required: true }), toSize: t.arg.int() },
    resolve: (_r, { fromSize, toSize }, { ledger }) => ledger.consistencyProof(fromSize, toSize ?? ledger.size),
  }),
}));
