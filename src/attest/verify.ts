/**
 * Offline verification of a completed bundle with stock @sigstore/verify: the signature by the
 * given key, the inclusion proof against the log's signed checkpoint and the signed entry
 * timestamp, all against a Sigstore trusted root. Synchronous; no I/O.
 */
import { PedigreeError } from '../errors.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { keyIdOf } from '../trust/keys.js';
import { AttestError } from './errors.js';

export interface VerifiedBundle {
  readonly logIndex: number;
  readonly integratedTime: number;
  readonly keyId: string;
  readonly statement: unknown;
}

export class BundleVerificationError extends PedigreeError {
  override readonly name = 'BundleVerificationError';
}

function keyDetails(key: KeyObject): PublicKeyDetails {
  const t = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (t === 'ec' && curve === 'prime256v1') return PublicKeyDetails.PKIX_ECDSA_P256_SHA_256;
  if (t === 'ec' && curve === 'secp384r1') return PublicKeyDetails.PKIX_ECDSA_P384_SHA_384;
  if (t === 'ed25519') return PublicKeyDetails.PKIX_ED25519;
  throw new AttestError('BUNDLE_INVALID', `unsupported key type ${t}`);
}

export function verifyBundle(bundleJson: unknown, trustedRootJson: unknown, signerKeys: readonly KeyObject[]): VerifiedBundle {
  const keys: Record<string, { rawBytes: Buffer; keyDetails: PublicKeyDetails }> = {};
  for (const k of signerKeys) {
    const pub = k.type === 'private' ? createPublicKey(k) : k;
    keys[keyIdOf(pub)] = { rawBytes: pub.export({ format: 'der', type: 'spki' }), keyDetails: keyDetails(pub) };
  }
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(trustedRootJson);
  } catch (e) {
    throw new BundleVerificationError('TRUSTED_ROOT_INVALID', `not a Sigstore trusted root: ${(e as Error).message}`);
  }
  try {
    const bundle = bundleFromJSON(bundleJson);
    const signer = new Verifier(toTrustMaterial(root, keys)).verify(toSignedEntity(bundle));
    void signer;
    const tlog = bundle.verificationMaterial.tlogEntries[0]!;
    const hint = bundle.verificationMaterial.content.$case === 'publicKey' ? bundle.verificationMaterial.content.publicKey.hint : '';
    const payload = bundle.content.$case === 'dsseEnvelope' ? bundle.content.dsseEnvelope.payload : Buffer.alloc(0);
    let statement: unknown = null;
    try {
      statement = JSON.parse(payload.toString('utf8'));
    } catch {
      statement = null;
    }
    return { logIndex: Number(tlog.logIndex), integratedTime: Number(tlog.integratedTime), keyId: hint, statement };
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'BUNDLE_INVALID';
    throw new BundleVerificationError(code, (e as Error).message);
  }
}
