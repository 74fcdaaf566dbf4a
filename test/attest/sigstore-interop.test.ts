/**
 * The acceptance bar: stock @sigstore/verify verifies a bundle Pedigree completed, given only
 * /trusted_root.json and the signer's public key, and rejects it after any single tamper.
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signStatement } from '../../src/attest/sign.js';
import { submitBundle } from '../../src/client/graphql.js';
import { startNode, type TestNode } from '../helpers.js';
import { componentStatement, party, publicKeyDer, register } from './fixtures.js';

let node: TestNode;
const supplier = party('acme-sensors');
let completed: Record<string, any>;
let trustedRoot: unknown;

beforeAll(async () => {
  node = await startNode();
  await register(node.url, node.adminKey, supplier, ['supplier']);
  const bundle = await signStatement(componentStatement('acme-sensors', 'PS-100', ['SN1', 'SN2']), supplier.privateKey);
  completed = (await submitBundle(node.url, bundle)).bundle;
  trustedRoot = await (await fetch(`${node.url}/trusted_root.json`)).json();
});

afterAll(() => node.cleanup());

function verify(bundleJson: unknown): void {
  const material = toTrustMaterial(TrustedRoot.fromJSON(trustedRoot), {
    [supplier.keyId]: { rawBytes: publicKeyDer(supplier.publicKey), keyDetails: 9 /* PKIX_ECDSA_P256_SHA_256 */ },
  });
  new Verifier(material).verify(toSignedEntity(bundleFromJSON(bundleJson)));
}

const clone = () => JSON.parse(JSON.stringify(completed)) as Record<string, any>;
const tlog = (b: Record<string, any>) => b.verificationMaterial.tlogEntries[0];

function flipBase64(s: string, at = 10): string {
  const bytes = Buffer.from(s, 'base64');
  bytes[Math.min(at, bytes.length - 1)]! ^= 0x01;
  return bytes.toString('base64');
}

describe('a completed bundle', () => {
  it('verifies with stock @sigstore/verify using only the trusted root and the signer key', () => {
    expect(tlog(completed)).toMatchObject({ kindVersion: { kind: 'dsse', version: '0.0.1' } });
    expect(() => verify(completed)).not.toThrow();
  });

  it.each([
    ['a payload byte', (b: any) => (b.dsseEnvelope.payload = flipBase64(b.dsseEnvelope.payload, 40))],
    ['the signature', (b: any) => (b.dsseEnvelope.signatures[0].sig = flipBase64(b.dsseEnvelope.signatures[0].sig, 20))],
    ['a proof hash', (b: any) => (tlog(b).inclusionProof.hashes[0] = flipBase64(tlog(b).inclusionProof.hashes[0]))],
    ['the checkpoint signature', (b: any) => {
      const env: string = tlog(b).inclusionProof.checkpoint.envelope;
      const i = env.lastIndexOf(' ') + 1;
      const sig = env.slice(i).trimEnd();
      tlog(b).inclusionProof.checkpoint.envelope = `${env.slice(0, i)}${flipBase64(sig, 30)}\n`;
    }],
    ['the checkpoint root', (b: any) => {
      const env: string = tlog(b).inclusionProof.checkpoint.envelope;
      const lines = env.split('\n');
      lines[2] = flipBase64(lines[2]!, 3);
      tlog(b).inclusionProof.checkpoint.envelope = lines.join('\n');
    }],
    ['the signed entry timestamp', (b: any) => (tlog(b).inclusionPromise.signedEntryTimestamp = flipBase64(tlog(b).inclusionPromise.signedEntryTimestamp))],
    ['the log index', (b: any) => (tlog(b).logIndex = String(Number(tlog(b).logIndex) + 1))],
    ['the integrated time', (b: any) => (tlog(b).integratedTime = String(Number(tlog(b).integratedTime) + 1))],
    ['the canonicalized body', (b: any) => (tlog(b).canonicalizedBody = flipBase64(tlog(b).canonicalizedBody, 50))],
  ])('fails verification after changing %s', (_what, tamper) => {
    const b = clone();
    tamper(b);
    expect(() => verify(b)).toThrow();
  });

  it('fails verification with another log\'s trusted root', async () => {
    const other = await startNode();
    try {
      const saved = trustedRoot;
      trustedRoot = await (await fetch(`${other.url}/trusted_root.json`)).json();
      expect(() => verify(completed)).toThrow();
      trustedRoot = saved;
    } finally {
      await other.cleanup();
    }
  });
});
