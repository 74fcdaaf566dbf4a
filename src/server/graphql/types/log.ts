/** Checkpoints, entries and proofs of the Merkle log. */
import { parseCheckpoint, parseNote, toBase64 } from '../../../log/index.js';
import type { ConsistencyProof, InclusionProof } from '../../../ledger/ledger.js';
import type { StoredEntry } from '../../../store/store.js';
import { builder } from '../builder.js';
import { LedgerError } from '../../../ledger/errors.js';
import { MAX_LOOKUP_KEY, lookupKey } from '../../../vindex/keys.js';
import { ProvenanceError } from '../../../provenance/device.js';
import { normaliseDeviceUdi } from '../../../udi/udi.js';

/** A device key in any UDI form names the device's canonical key; other keys are taken as given. */
function canonical(key: string): string {
  if (!key.startsWith('udi:')) return key;
  try {
    return lookupKey('udi', normaliseDeviceUdi(key.slice(4)));
  } catch {
    return key;
  }
}
import { indexRootOf, lookupToJson, type Lookup } from '../../../vindex/map.js';

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
    indexRoot: t.string({
      nullable: true,
      description: 'Base64 root of the verifiable index the checkpoint commits (its "pedigree/vindex/v2" extension line).',
      resolve: (c) => {
        const r = indexRootOf(parseCheckpoint(parseNote(c.note).text).extensions);
        return r ? toBase64(r) : null;
      },
    }),
  }),
});

interface LookupModel {
  lookup: Lookup;
  checkpoint: string;
}

const IndexLookupRef = builder.objectRef<LookupModel>('IndexLookup').implement({
  description:
    'The complete list of log entries filed under one key of the verifiable index, with a proof against the index root that `checkpoint` commits. An empty list comes with a proof that the key is absent. Verify with src/vindex/map.ts `verifyList`.',
  fields: (t) => ({
    key: t.string({ resolve: (l) => l.lookup.key }),
    indexes: t.intList({ description: 'Every log index filed under the key, ascending.', resolve: (l) => l.lookup.indexes }),
    siblings: t.stringList({ description: 'Base64 sibling hashes from the root down the key’s path.', resolve: (l) => lookupToJson(l.lookup).proof.siblings }),
    leafKey: t.string({ nullable: true, description: 'Base64 key hash of the leaf the path ends at (none: an empty subtree).', resolve: (l) => lookupToJson(l.lookup).proof.leaf?.key ?? null }),
    leafValue: t.string({ nullable: true, description: 'Base64 value hash of that leaf.', resolve: (l) => lookupToJson(l.lookup).proof.leaf?.value ?? null }),
    checkpoint: t.field({ type: Checkpoint, description: 'The signed checkpoint whose index root the proof leads to.', resolve: (l) => ({ note: l.checkpoint }) }),
  }),
});

export const LogEntry = builder.objectRef<StoredEntry>('LogEntry').implement({
  description: 'One leaf of the log.',
  fields: (t) => ({
    logIndex: t.int({ resolve: (e) => e.index }),
    leafHash: t.string({ description: 'Base64 RFC 9162 leaf hash.', resolve: (e) => toBase64(e.leafHash) }),
    data: t.string({ description: 'Base64 entry bytes.', resolve: (e) => toBase64(e.data) }),
    integratedTime: t.field({ type: 'EpochSeconds', description: 'Seconds since the epoch when the entry was integrated.', resolve: (e) => e.integratedTime }),
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
  lookup: t.field({
    type: IndexLookupRef,
    description:
      'The verifiable index: every entry filed under `key` (udi:<UDI in any form>, partSerial:<supplier:part:serial>, lot:<supplier:part:lot>, sha256:<hex>, fitted:<hex> (devices given that firmware), purl:<package purl> (SBOMs listing it), vuln-purl:<package purl> (vulnerability advisories naming it), vex:<vulnerability id>, participant:<id>, key:<key ID>, registry; spaces, % and non-ASCII characters in a value percent-encoded), proved against the latest checkpoint (with witnesses, the latest they cosigned). INVALID_ARGUMENT for a key that is not 1 to 512 printable characters without spaces.',
    args: { key: t.arg.string({ required: true }) },
    resolve: async (_r, { key }, { ledger, devices }) => {
      if (key.length === 0 || key.length > MAX_LOOKUP_KEY || !/^[\x21-\x7e]+$/.test(key)) {
        throw new LedgerError('INVALID_ARGUMENT', `a lookup key is 1 to ${MAX_LOOKUP_KEY} printable characters without spaces, such as lot:valveco:VALVE-7:L78`);
      }
      const { lookup, size, checkpoint } = await ledger.readIndex(async (view) => ({ lookup: (await view.lookup([canonical(key)]))[0]!, size: view.size, checkpoint: view.checkpoint }));
      return { lookup, checkpoint: await devices.provedCheckpoint(size, checkpoint) };
    },
  }),
  checkpoint: t.field({
    type: Checkpoint,
    description: 'The latest signed checkpoint, exactly as /checkpoint serves it: with witnesses configured, the latest they cosigned (WITNESSES_UNAVAILABLE before the first).',
    resolve: (_r, _a, { devices }) => {
      const note = devices.servedCheckpoint();
      if (note === undefined) throw new ProvenanceError('WITNESSES_UNAVAILABLE', 'no checkpoint has been cosigned by enough witnesses yet');
      return { note };
    },
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
