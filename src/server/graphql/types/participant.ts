/** The trust registry as seen by clients. */
import type { HistoryEvent, Participant, ParticipantKey, Revocation } from '../../../trust/registry.js';
import { builder } from '../builder.js';

const iso = (s: number | undefined) => (s === undefined ? null : new Date(s * 1000).toISOString());

const RevocationRef = builder.objectRef<Revocation>('Revocation').implement({
  fields: (t) => ({
    effectiveTime: t.string({ resolve: (r) => iso(r.effectiveTime)! }),
    reason: t.exposeString('reason'),
    logIndex: t.exposeInt('logIndex'),
  }),
});

const Key = builder.objectRef<ParticipantKey>('ParticipantKey').implement({
  fields: (t) => ({
    keyId: t.exposeString('keyId'),
    publicKey: t.exposeString('publicKeyPem', { description: 'PEM SPKI.' }),
    addedAt: t.string({ resolve: (k) => iso(k.addedAt)! }),
    revocation: t.field({ type: RevocationRef, nullable: true, resolve: (k) => k.revocation ?? null }),
  }),
});

const History = builder.objectRef<HistoryEvent>('ParticipantEvent').implement({
  fields: (t) => ({
    logIndex: t.exposeInt('logIndex'),
    integratedTime: t.expose('integratedTime', { type: 'EpochSeconds' }),
    action: t.exposeString('action'),
    detail: t.exposeString('detail'),
  }),
});

const ParticipantRef = builder.objectRef<Participant>('Participant').implement({
  description: 'A registered organisation that may sign attestations in its roles.',
  fields: (t) => ({
    id: t.exposeString('id'),
    organisation: t.exposeString('organisation'),
    roles: t.stringList({ resolve: (p) => p.roles }),
    products: t.stringList({ description: 'For a manufacturer: the device models (GTIN-14, HIBCC or ICCBBA product codes) it makes.', resolve: (p) => p.products ?? [] }),
    validFrom: t.string({ nullable: true, resolve: (p) => iso(p.validFrom) }),
    validUntil: t.string({ nullable: true, resolve: (p) => iso(p.validUntil) }),
    revocation: t.field({ type: RevocationRef, nullable: true, resolve: (p) => p.revocation ?? null }),
    issuedAt: t.string({ nullable: true, description: 'When the administrator issued the current registration (signed).', resolve: (p) => (p.issuedAt === undefined ? null : new Date(p.issuedAt).toISOString()) }),
    registration: t.string({
      nullable: true,
      description: "SHA-256 (hex) of the current registration's statement. A new registration of this participant must name it in `replaces`.",
      resolve: (p) => p.registration ?? null,
    }),
    keys: t.field({ type: [Key], resolve: (p) => p.keys }),
    history: t.field({ type: [History], description: 'Every logged change, oldest first.', resolve: (p) => p.history }),
  }),
});

builder.queryFields((t) => ({
  participants: t.field({
    type: [ParticipantRef],
    description: 'Every participant, the administrator first.',
    resolve: (_r, _a, { attestations }) => attestations.registry.list(),
  }),
}));
