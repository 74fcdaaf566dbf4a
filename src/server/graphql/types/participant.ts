/** The trust registry as seen by clients. */
import type { HistoryEvent, Participant, ParticipantIdentity, ParticipantKey, RegisteredTrustRoot, Revocation } from '../../../trust/registry.js';
import { builder } from '../builder.js';

const iso = (s: number | undefined) => (s === undefined ? null : new Date(s * 1000).toISOString());

const RevocationRef = builder.objectRef<Revocation>('Revocation').implement({
  fields: (t) => ({
    effectiveTime: t.string({ resolve: (r) => iso(r.effectiveTime)! }),
    reason: t.exposeString('reason'),
    logIndex: t.exposeInt('logIndex'),
    until: t.string({ nullable: true, description: 'The end of a revoked window (exclusive); null for a revocation for good.', resolve: (r) => iso(r.until) }),
  }),
});

const revocationsOf = (x: { revocation?: Revocation; windows?: Revocation[] }) => [...(x.revocation ? [x.revocation] : []), ...(x.windows ?? [])];

const Identity = builder.objectRef<ParticipantIdentity>('ParticipantIdentity').implement({
  description: 'A certificate identity the participant signs with: certificates whose subject alternative name and OIDC issuer match, chaining to the named trust root.',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'The identity ID: what records and revocations name, as they name a key ID.' }),
    trustRoot: t.exposeString('trustRoot'),
    issuer: t.string({ nullable: true, description: 'The OIDC issuer the certificate records; null when it must record none.', resolve: (i) => i.issuer ?? null }),
    subject: t.exposeString('subject', { description: 'The subject alternative name, exact or with * for any run of characters.' }),
    addedAt: t.string({ resolve: (i) => iso(i.addedAt)! }),
    revocation: t.field({ type: RevocationRef, nullable: true, resolve: (i) => i.revocation ?? null }),
    revocations: t.field({ type: [RevocationRef], description: 'Every revocation, windows included.', resolve: revocationsOf }),
  }),
});

const TrustRootRef = builder.objectRef<RegisteredTrustRoot>('TrustRoot').implement({
  description: 'A trust root the administrator registered: a Sigstore trusted root under a name.',
  fields: (t) => ({
    name: t.exposeString('name'),
    digest: t.exposeString('digest', { description: "SHA-256 (hex) of the registering statement." }),
    logIndex: t.exposeInt('logIndex'),
    addedAt: t.string({ resolve: (r) => iso(r.addedAt)! }),
    authorities: t.int({ description: 'How many certificate authorities it names.', resolve: (r) => r.material.authorities.length }),
    logs: t.int({ description: 'How many transparency logs whose entries can show a signing time.', resolve: (r) => r.material.logs.length }),
    revocation: t.field({ type: RevocationRef, nullable: true, resolve: (r) => r.revocation ?? null }),
    revocations: t.field({ type: [RevocationRef], description: 'Every revocation, windows included.', resolve: revocationsOf }),
    trustedRoot: t.string({ description: 'The trusted root as registered (JSON text).', resolve: (r) => JSON.stringify(r.json) }),
  }),
});

const Key = builder.objectRef<ParticipantKey>('ParticipantKey').implement({
  fields: (t) => ({
    keyId: t.exposeString('keyId'),
    publicKey: t.exposeString('publicKeyPem', { description: 'PEM SPKI.' }),
    addedAt: t.string({ resolve: (k) => iso(k.addedAt)! }),
    revocation: t.field({ type: RevocationRef, nullable: true, resolve: (k) => k.revocation ?? null }),
    revocations: t.field({ type: [RevocationRef], description: 'Every revocation, windows included.', resolve: revocationsOf }),
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
    identities: t.field({ type: [Identity], description: 'Certificate identities it signs with.', resolve: (p) => p.identities ?? [] }),
    history: t.field({ type: [History], description: 'Every logged change, oldest first.', resolve: (p) => p.history }),
  }),
});

builder.queryFields((t) => ({
  participants: t.field({
    type: [ParticipantRef],
    description: 'Every participant, the administrator first.',
    resolve: (_r, _a, { attestations }) => attestations.registry.list(),
  }),
  trustRoots: t.field({
    type: [TrustRootRef],
    description: 'The trust roots certificate identities are registered under, in registration order.',
    resolve: (_r, _a, { attestations }) => attestations.registry.trustRoots(),
  }),
}));
