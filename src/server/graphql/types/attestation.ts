/** Attestations: submission, lookup and search. */
import { AttestError } from '../../../attest/errors.js';
import type { AttestationRecord, SearchFilter, SubmitResult } from '../../../attest/service.js';
import type { SubjectRef } from '../../../attest/statement.js';
import { builder } from '../builder.js';
import { LogEntry } from './log.js';

const Subject = builder.objectRef<SubjectRef>('Subject').implement({
  description: 'One identifier of a statement subject: a sha256 digest, a UDI, a part serial, a lot or a participant.',
  fields: (t) => ({
    kind: t.exposeString('kind'),
    value: t.exposeString('value'),
  }),
});

export const Attestation = builder.objectRef<AttestationRecord>('Attestation').implement({
  description: 'A signed in-toto attestation recorded in the log.',
  fields: (t) => ({
    attestationId: t.string({
      description: 'The identity of the attestation: SHA-256 over what its signature covers and the signing key (see attestations/README.md). Resubmitting the same signed statement in any form returns this entry.',
      resolve: (r) => r.id,
    }),
    logIndex: t.exposeInt('logIndex'),
    integratedTime: t.expose('integratedTime', { type: 'EpochSeconds', description: 'Seconds since the epoch.' }),
    signer: t.exposeString('signer', { description: 'Participant id of the signer.' }),
    keyId: t.exposeString('keyId', { description: 'SHA-256 of the signing key (SPKI DER), hex.' }),
    predicateType: t.exposeString('predicateType'),
    subjects: t.field({ type: [Subject], resolve: (r) => [...r.subjects] }),
    statement: t.field({ type: 'JSON', resolve: (r, _a, { attestations }) => attestations.statement(r) }),
    bundle: t.field({
      type: 'JSON',
      description: 'The Sigstore bundle with its transparency-log entry, inclusion proof and signed checkpoint.',
      resolve: (r, _a, { attestations }) => attestations.completedBundle(r),
    }),
    entry: t.field({ type: LogEntry, resolve: (r, _a, { ledger }) => ledger.entry(r.logIndex) }),
  }),
});

const SubmitPayload = builder.objectRef<SubmitResult>('SubmitAttestationPayload').implement({
  fields: (t) => ({
    attestation: t.field({ type: Attestation, resolve: (r) => r.record }),
    bundle: t.field({ type: 'JSON', description: 'The completed bundle to hand to customers and verifiers.', resolve: (r) => r.bundle }),
    duplicate: t.exposeBoolean('duplicate', { description: 'True when this signed statement, by this key, was already in the log: the existing entry is returned and nothing was written.' }),
  }),
});

const SubmissionError = builder.objectRef<{ error: { code: string; message: string; field?: string } }>('SubmissionError').implement({
  description: 'Why one bundle of a batch was refused; nothing was written for it.',
  fields: (t) => ({
    code: t.string({ resolve: ({ error }) => error.code }),
    message: t.string({ resolve: ({ error }) => error.message }),
    field: t.string({ nullable: true, resolve: ({ error }) => error.field ?? null }),
  }),
});

const SubmitResultUnion = builder.unionType('SubmitAttestationResult', {
  types: [SubmitPayload, SubmissionError],
  resolveType: (v) => ('error' in v ? SubmissionError : SubmitPayload),
});

const EntryFilter = builder.inputType('EntryFilter', {
  description: 'All given fields must match.',
  fields: (t) => ({
    sha256: t.string({ description: 'Subject sha256 digest (hex).' }),
    udi: t.string({ description: 'Device UDI in any GS1 form; matched on GTIN + serial.' }),
    partSerial: t.string({ description: '"<supplier>:<part>:<serial>"' }),
    lot: t.string({ description: '"<supplier>:<part>:<lot>"' }),
    signer: t.string({ description: 'Participant id.' }),
    predicateType: t.string(),
    since: t.string({ description: 'Integrated at or after this ISO 8601 time.' }),
    until: t.string({ description: 'Integrated at or before this ISO 8601 time.' }),
  }),
});

interface Page {
  records: AttestationRecord[];
  hasNextPage: boolean;
  after: number;
}

const encodeCursor = (i: number) => Buffer.from(`entry:${i}`).toString('base64');
function decodeCursor(c: string): number {
  const m = /^entry:(0|[1-9][0-9]{0,15})$/.exec(Buffer.from(c, 'base64').toString('utf8'));
  if (!m) throw new AttestError('INVALID_CURSOR', 'after is not a cursor this API returned');
  return Number(m[1]);
}

const Edge = builder.objectRef<AttestationRecord>('AttestationEdge').implement({
  fields: (t) => ({
    cursor: t.string({ resolve: (r) => encodeCursor(r.logIndex) }),
    node: t.field({ type: Attestation, resolve: (r) => r }),
  }),
});

const PageInfo = builder.objectRef<Page>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    hasPreviousPage: t.boolean({ resolve: (p) => p.after >= 0 }),
    startCursor: t.string({ nullable: true, resolve: (p) => (p.records[0] ? encodeCursor(p.records[0].logIndex) : null) }),
    endCursor: t.string({ nullable: true, resolve: (p) => (p.records.length ? encodeCursor(p.records[p.records.length - 1]!.logIndex) : null) }),
  }),
});

const Connection = builder.objectRef<Page>('AttestationConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [Edge], resolve: (p) => p.records }),
    pageInfo: t.field({ type: PageInfo, resolve: (p) => p }),
  }),
});

function parseTime(name: string, v: string | null | undefined): number | undefined {
  if (v === null || v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new AttestError('INVALID_FILTER', `${name} must be an ISO 8601 time`);
  return Math.floor(ms / 1000);
}

export const MAX_PAGE = 100;

builder.queryFields((t) => ({
  attestation: t.field({
    type: Attestation,
    nullable: true,
    description: 'The attestation at `logIndex`, or null.',
    args: { logIndex: t.arg.int({ required: true }) },
    resolve: (_r, { logIndex }, { attestations }) => attestations.record(logIndex).then((r) => r ?? null),
  }),
  entries: t.field({
    type: Connection,
    description: `Attestations in log order, filtered; at most ${MAX_PAGE} per page.`,
    args: {
      filter: t.arg({ type: EntryFilter }),
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
    },
    resolve: async (_r, { filter, first, after }, { attestations }) => {
      const n = first ?? 20;
      if (n < 1 || n > MAX_PAGE) throw new AttestError('INVALID_FILTER', `first must be 1..${MAX_PAGE}`);
      const from = after ? decodeCursor(after) : -1;
      const f: SearchFilter = {
        ...(filter?.sha256 != null && { sha256: filter.sha256 }),
        ...(filter?.udi != null && { udi: filter.udi }),
        ...(filter?.partSerial != null && { partSerial: filter.partSerial }),
        ...(filter?.lot != null && { lot: filter.lot }),
        ...(filter?.signer != null && { signer: filter.signer }),
        ...(filter?.predicateType != null && { predicateType: filter.predicateType }),
        since: parseTime('since', filter?.since),
        until: parseTime('until', filter?.until),
      };
      const page = await attestations.search(f, n, from);
      return { ...page, after: from };
    },
  }),
}));

builder.mutationFields((t) => ({
  submitAttestation: t.field({
    type: SubmitPayload,
    description: 'Records one Sigstore bundle (v0.3, DSSE, in-toto). Errors carry extensions.code; nothing is written on error.',
    args: { bundle: t.arg({ type: 'JSON', required: true }) },
    resolve: (_r, { bundle }, { attestations }) => attestations.submit(bundle),
  }),
  submitAttestations: t.field({
    type: [SubmitResultUnion],
    description: 'Records up to 100 bundles; each succeeds or fails on its own.',
    args: { bundles: t.arg({ type: ['JSON'], required: true }) },
    resolve: (_r, { bundles }, { attestations }) => attestations.submitMany(bundles),
  }),
}));
