/**
 * Every way a submission can be refused gets its own code and leaves the tree unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { ClientError, graphql, submitBundle } from '../../src/client/graphql.js';
import { startNode, type TestNode } from '../helpers.js';
import { GTIN, componentStatement, party, register, revocation, udi } from './fixtures.js';

let node: TestNode;
const supplier = party('acme-sensors');
const manufacturer = party('infusion-corp');
const revoked = party('shady-parts');
const expired = party('old-supplier');
const future = party('new-supplier');
const stranger = party('not-registered');

beforeAll(async () => {
  node = await startNode({ maxBodyBytes: 8 * 1024 * 1024, maxBundleBytes: 4 * 1024 * 1024 });
  await register(node.url, node.adminKey, supplier, ['supplier']);
  await register(node.url, node.adminKey, manufacturer, ['manufacturer'], { products: [GTIN] });
  await register(node.url, node.adminKey, revoked, ['supplier']);
  await submitBundle(node.url, await signStatement(revocation(revoked.id, { reason: 'retired' }), node.adminKey));
  await register(node.url, node.adminKey, expired, ['supplier'], { validFrom: '2020-01-01T00:00:00Z', validUntil: '2021-01-01T00:00:00Z' });
  await register(node.url, node.adminKey, future, ['supplier'], { validFrom: '2099-01-01T00:00:00Z' });
});

afterAll(() => node.cleanup());

async function refused(bundle: unknown): Promise<ClientError> {
  const before = node.ledger.size;
  const e = await submitBundle(node.url, bundle).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClientError);
  expect(node.ledger.size).toBe(before);
  return e as ClientError;
}

const component = () => componentStatement('acme-sensors', 'PS-100', ['SN1']);

describe('submitAttestation', () => {
  it('accepts a registered supplier component attestation and returns the existing entry on resubmission', async () => {
    const bundle = await signStatement(component(), supplier.privateKey);
    const first = await submitBundle(node.url, bundle);
    expect(first.duplicate).toBe(false);
    const size = node.ledger.size;
    const again = await submitBundle(node.url, bundle);
    expect(again).toMatchObject({ logIndex: first.logIndex, duplicate: true });
    expect(node.ledger.size).toBe(size);
  });

  it.each([
    ['an unregistered key', () => signStatement(component(), stranger.privateKey), 'SIGNER_UNKNOWN'],
    ['a revoked key', () => signStatement(componentStatement('shady-parts', 'X', ['1']), revoked.privateKey), 'SIGNER_REVOKED'],
    ['a key past its validity', () => signStatement(componentStatement('old-supplier', 'X', ['1']), expired.privateKey), 'SIGNER_NOT_VALID'],
    ['a key before its validity', () => signStatement(componentStatement('new-supplier', 'X', ['1']), future.privateKey), 'SIGNER_NOT_VALID'],
    [
      'a role not allowed for the predicate type',
      () => signStatement(statement([{ digest: { udi: udi('SN9') } }], resolvePredicateType('slsa-vsa').uri, {
        verifier: { id: 'x' }, timeVerified: '2026-01-01T00:00:00Z', resourceUri: 'x', policy: {}, verificationResult: 'PASSED', verifiedLevels: [],
      }), supplier.privateKey),
      'ROLE_NOT_ALLOWED',
    ],
    ['a payload that fails its schema', () => signStatement(componentStatement('acme-sensors', 'PS-100', ['SN1'], { componentType: 7 }), supplier.privateKey), 'PREDICATE_INVALID'],
    ['an unknown predicate type', () => signStatement(statement([{ digest: { partSerial: 'a:b:c' } }], 'https://example.com/mystery/v1', {}), supplier.privateKey), 'PREDICATE_TYPE_UNKNOWN'],
    ['a statement that is not in-toto v1', () => signStatement({ _type: 'https://in-toto.io/Statement/v0.1', subject: [], predicateType: 'x', predicate: {} }, supplier.privateKey), 'STATEMENT_INVALID'],
    ['a subject of the wrong kind', () => signStatement(statement([{ digest: { sha256: 'a'.repeat(64) } }], resolvePredicateType('component').uri, { partNumber: 'P', componentType: 'c' }), supplier.privateKey), 'STATEMENT_INVALID'],
    ['a non-canonical UDI subject', () => signStatement(statement([{ digest: { udi: '(21)SN9(01)09506000134352' } }], resolvePredicateType('installation').uri, {}), supplier.privateKey), 'STATEMENT_INVALID'],
    ['a non-admin registering a participant', async () => signStatement((await import('./fixtures.js')).registration(party('sneaky'), ['supplier']), supplier.privateKey), 'ROLE_NOT_ALLOWED'],
  ])('refuses %s', async (_why, make, code) => {
    const e = await refused(await make());
    expect(e.code).toBe(code);
  });

  it('refuses a tampered signature', async () => {
    const b = (await signStatement(component(), supplier.privateKey)) as any;
    const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 3]! ^= 1;
    b.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    expect((await refused(b)).code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a payload changed after signing', async () => {
    const b = (await signStatement(component(), supplier.privateKey)) as any;
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(componentStatement('acme-sensors', 'PS-100', ['SN2']))).toString('base64');
    expect((await refused(b)).code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a non-DSSE bundle', async () => {
    const b = (await signStatement(component(), supplier.privateKey)) as any;
    delete b.dsseEnvelope;
    b.messageSignature = { messageDigest: { algorithm: 'SHA2_256', digest: Buffer.alloc(32).toString('base64') }, signature: Buffer.alloc(64).toString('base64') };
    expect((await refused(b)).code).toBe('NOT_DSSE');
  });

  it('refuses a wrong media type, a wrong payload type and a bundle that is not one', async () => {
    const b = (await signStatement(component(), supplier.privateKey)) as any;
    expect((await refused({ ...b, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1' })).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect((await refused({ ...b, dsseEnvelope: { ...b.dsseEnvelope, payloadType: 'text/plain' } })).code).toBe('UNSUPPORTED_PAYLOAD_TYPE');
    expect((await refused({ mediaType: b.mediaType, hello: 'world' })).code).toBe('BUNDLE_INVALID');
    expect((await refused([1, 2, 3])).code).toBe('BUNDLE_INVALID');
  });

  it('refuses malformed JSON, in the bundle and in the request', async () => {
    expect((await refused('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",')).code).toBe('MALFORMED_JSON');
    const before = node.ledger.size;
    const res = await fetch(`${node.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "mutation { submitAttestation(bundle: {}) { duplicate } }", ' });
    expect(res.status).toBe(400);
    expect(node.ledger.size).toBe(before);
  });

  it('refuses an oversized bundle and an oversized body with their own codes', async () => {
    const big = await signStatement(componentStatement('acme-sensors', 'PS-100', ['SN1'], { description: 'x', specifications: { blob: 'y'.repeat(4 * 1024 * 1024) } }), supplier.privateKey);
    expect((await refused(big)).code).toBe('BUNDLE_TOO_LARGE');
    const huge = await signStatement(componentStatement('acme-sensors', 'PS-100', ['SN1'], { specifications: { blob: 'y'.repeat(9 * 1024 * 1024) } }), supplier.privateKey);
    expect((await refused(huge)).code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('names the failing predicate field', async () => {
    const e = await refused(await signStatement(componentStatement('acme-sensors', 'PS-100', ['SN1'], { countryOfOrigin: 'Germany' }), supplier.privateKey));
    expect(e.code).toBe('PREDICATE_INVALID');
    expect(e.message).toContain('/predicate/countryOfOrigin');
  });

  it('submits a batch where each bundle succeeds or fails on its own', async () => {
    const good = await signStatement(componentStatement('acme-sensors', 'PS-200', ['B1']), supplier.privateKey);
    const bad = await signStatement(componentStatement('acme-sensors', 'PS-200', ['B2']), stranger.privateKey);
    const data = await graphql<{ submitAttestations: Array<{ __typename: string; code?: string; attestation?: { logIndex: number } }> }>(
      node.url,
      'mutation ($b: [JSON!]!) { submitAttestations(bundles: $b) { __typename ... on SubmissionError { code } ... on SubmitAttestationPayload { attestation { logIndex } } } }',
      { b: [good, bad] },
    );
    expect(data.submitAttestations[0]).toMatchObject({ __typename: 'SubmitAttestationPayload' });
    expect(data.submitAttestations[1]).toMatchObject({ __typename: 'SubmissionError', code: 'SIGNER_UNKNOWN' });
  });
});

describe('the trust registry', () => {
  it('lists participants with their keys and logged history', async () => {
    const data = await graphql<{ participants: Array<{ id: string; roles: string[]; keys: Array<{ keyId: string }>; history: Array<{ action: string; logIndex: number }>; revocation: { reason: string } | null }> }>(
      node.url,
      '{ participants { id roles revocation { reason } keys { keyId } history { action logIndex } } }',
    );
    const byId = new Map(data.participants.map((p) => [p.id, p]));
    expect(data.participants[0]!.id).toBe('admin');
    expect(byId.get('acme-sensors')).toMatchObject({ roles: ['supplier'], keys: [{ keyId: supplier.keyId }], history: [{ action: 'registered' }] });
    expect(byId.get('shady-parts')!.history.map((h) => h.action)).toEqual(['registered', 'revoked']);
    expect(byId.get('shady-parts')!.revocation).toMatchObject({ reason: 'retired' });
  });

  it('refuses to backdate a revocation unless it is a compromise', async () => {
    const e = await refused(await signStatement(revocation('acme-sensors', { reason: 'retired', effectiveTime: '2020-01-01T00:00:00Z' }), node.adminKey));
    expect(e.code).toBe('REGISTRATION_INVALID');
  });

  it('rebuilds the registry from the log on restart', async () => {
    const { AttestationService } = await import('../../src/attest/service.js');
    const { loadDataDir } = await import('../../src/config/datadir.js');
    const d = await loadDataDir(node.dir);
    const again = await AttestationService.open({ ledger: node.ledger, logKey: d.logKey, adminPublicKeyPem: d.config.adminPublicKey, createdAt: d.config.createdAt });
    expect(again.registry.list().map((p) => p.id).sort()).toEqual(node.attestations.registry.list().map((p) => p.id).sort());
    expect(() => again.registry.checkSigner(revoked.keyId, Math.floor(Date.now() / 1000))).toThrow(expect.objectContaining({ code: 'SIGNER_REVOKED' }));
    expect(again.registry.checkSigner(supplier.keyId, Math.floor(Date.now() / 1000)).participant.id).toBe('acme-sensors');
  });
});
