/**
 * Evidence packages: one JSON document holding the policy, every bundle the verdict rests on
 * (the device's attestations and the trust registry's entries) with inclusion proofs against
 * one signed checkpoint, the administrator declaration, and the ledger's signature over the
 * whole. `verifyEvidence` re-derives the verdict offline with stock @sigstore/verify.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { json } from '@sigstore/core';
import { PARTICIPANT_URI, REVOCATION_URI } from '../attest/predicates.js';
import type { Statement } from '../attest/statement.js';
import { verifyBundle } from '../attest/verify.js';
import { openCheckpoint, openNote, sha256, signNote, toHex, verifyConsistency, type NoteSigner } from '../log/index.js';
import { ed25519NoteVerifier } from '../crypto/node.js';
import { TrustRegistry } from '../trust/registry.js';
import { openDeclaration } from './declaration.js';
import { buildGraph, type AttNode } from './graph.js';
import { evaluate, type Evaluation, type Finding, type Policy } from './policy.js';
import { parsePolicy } from './policy-io.js';

export const EVIDENCE_MEDIA_TYPE = 'application/vnd.pedigree.evidence.v1+json';
const SIGNATURE_HEADER = 'pedigree evidence v1';

export interface EvidencePackage {
  mediaType: typeof EVIDENCE_MEDIA_TYPE;
  udi: string;
  generatedAt: string;
  /** The policy was evaluated as of this time (seconds since the epoch). */
  evaluatedAt: number;
  policy: Policy;
  checkpoint: string;
  administrator: { declaration: string };
  consistency?: { fromSize: number; toSize: number; hashes: string[] };
  bundles: Array<Record<string, unknown>>;
  verdict: { verdict: Evaluation['verdict']; findings: Finding[] };
  /** Signed note by the log key over the SHA-256 of the canonical JSON of everything else. */
  signature?: string;
}

export class EvidenceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EvidenceError';
  }
}

function digestOf(pkg: EvidencePackage): string {
  const { signature: _omit, ...rest } = pkg;
  return toHex(sha256(Buffer.from(json.canonicalize(rest), 'utf8')));
}

export function signEvidence(pkg: EvidencePackage, signer: NoteSigner): EvidencePackage {
  const unsigned = { ...pkg };
  delete unsigned.signature;
  return { ...unsigned, signature: signNote(`${SIGNATURE_HEADER}\n${signer.name}\n${digestOf(unsigned)}\n`, [signer]) };
}

interface TlogJson {
  logIndex: string;
  integratedTime: string;
  inclusionProof: { checkpoint: { envelope: string } };
}

function parts(bundle: Record<string, unknown>): { tlog: TlogJson; hint: string; statement: Statement } {
  const b = bundle as { verificationMaterial?: { tlogEntries?: TlogJson[]; publicKey?: { hint?: string } }; dsseEnvelope?: { payload?: string } };
  const tlog = b.verificationMaterial?.tlogEntries?.[0];
  const hint = b.verificationMaterial?.publicKey?.hint;
  const payload = b.dsseEnvelope?.payload;
  if (!tlog || !hint || typeof payload !== 'string') throw new EvidenceError('EVIDENCE_INVALID', 'a bundle lacks its log entry, key hint or payload');
  let statement: Statement;
  try {
    statement = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as Statement;
  } catch {
    throw new EvidenceError('EVIDENCE_INVALID', 'a bundle payload is not JSON');
  }
  return { tlog, hint, statement };
}

export interface EvidenceResult {
  readonly udi: string;
  readonly evaluation: Evaluation;
  readonly treeSize: number;
  readonly bundles: number;
}

/**
 * Verifies an evidence package offline against a Sigstore trusted root. Throws EvidenceError
 * when anything does not verify; otherwise returns the re-derived evaluation, which must equal
 * the one the package states.
 */
export function verifyEvidence(input: unknown, trustedRoot: unknown, options: { trustedCheckpoint?: { size: number; root: Uint8Array } } = {}): EvidenceResult {
  const pkg = input as EvidencePackage;
  if (typeof pkg !== 'object' || pkg === null || pkg.mediaType !== EVIDENCE_MEDIA_TYPE) throw new EvidenceError('EVIDENCE_INVALID', `not a ${EVIDENCE_MEDIA_TYPE} document`);
  const tlogs = (trustedRoot as { tlogs?: Array<{ baseUrl?: string; publicKey?: { rawBytes?: string } }> }).tlogs ?? [];
  if (typeof pkg.checkpoint !== 'string') throw new EvidenceError('EVIDENCE_INVALID', 'no checkpoint');
  const origin = pkg.checkpoint.split('\n', 1)[0]!;
  const tlog = tlogs.find((t) => typeof t.baseUrl === 'string' && t.baseUrl.includes(origin) && t.publicKey?.rawBytes);
  if (!tlog) throw new EvidenceError('UNTRUSTED_LOG', `the trusted root does not name the log ${origin}`);
  let logKey: KeyObject;
  try {
    logKey = createPublicKey({ key: Buffer.from(tlog.publicKey!.rawBytes!, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new EvidenceError('UNTRUSTED_LOG', 'the trusted root log key is unreadable');
  }
  const logVerifier = ed25519NoteVerifier(origin, logKey);
  const fail = (code: string, message: string): never => {
    throw new EvidenceError(code, message);
  };

  // 1. The package as a whole is what the ledger issued.
  try {
    const sig = openNote(String(pkg.signature), [logVerifier]).text.split('\n');
    if (sig[0] !== SIGNATURE_HEADER || sig[1] !== origin || sig[2] !== digestOf(pkg)) fail('EVIDENCE_TAMPERED', 'the package does not match the ledger signature');
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    fail('EVIDENCE_TAMPERED', `the package signature does not verify: ${(e as Error).message}`);
  }
  // 2. One checkpoint, signed by the log; optionally consistent with one the client trusts.
  let cp;
  try {
    cp = openCheckpoint(pkg.checkpoint, logVerifier);
  } catch (e) {
    return fail('CHECKPOINT_INVALID', (e as Error).message);
  }
  if (options.trustedCheckpoint && options.trustedCheckpoint.size > 0) {
    const c = pkg.consistency;
    if (!c || c.fromSize !== options.trustedCheckpoint.size || c.toSize !== cp.size) fail('CONSISTENCY_MISSING', `the package has no consistency proof from size ${options.trustedCheckpoint.size}`);
    try {
      verifyConsistency(c!.fromSize, cp.size, c!.hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64'))), options.trustedCheckpoint.root, cp.root);
    } catch (e) {
      fail('CONSISTENCY_INVALID', `the log is not consistent with your checkpoint: ${(e as Error).message}`);
    }
  }
  // 3. Who the administrator is, then the registry from the administrator's entries.
  let adminKey: KeyObject;
  try {
    adminKey = openDeclaration(pkg.administrator.declaration, logVerifier);
  } catch (e) {
    return fail('EVIDENCE_INVALID', `administrator declaration: ${(e as Error).message}`);
  }
  const adminPem = adminKey.export({ format: 'pem', type: 'spki' }).toString();
  const registry = new TrustRegistry(adminPem);
  if (!Array.isArray(pkg.bundles)) fail('EVIDENCE_INVALID', 'no bundles');
  const items = pkg.bundles.map((b) => ({ bundle: b, ...parts(b) })).sort((a, b) => Number(a.tlog.logIndex) - Number(b.tlog.logIndex));
  const nodes: AttNode[] = [];
  for (const item of items) {
    if (item.tlog.inclusionProof.checkpoint.envelope !== pkg.checkpoint) fail('EVIDENCE_INVALID', `bundle ${item.tlog.logIndex} is proved against another checkpoint`);
    const isRegistry = item.statement.predicateType === PARTICIPANT_URI || item.statement.predicateType === REVOCATION_URI;
    const pem = registry.lookup(item.hint)?.key.publicKeyPem;
    const key = isRegistry ? adminKey : pem ? createPublicKey(pem) : undefined;
    if (!key) fail('SIGNER_UNKNOWN', `bundle ${item.tlog.logIndex} is signed by a key the evidence never registers`);
    try {
      verifyBundle(item.bundle, trustedRoot, [key!]);
    } catch (e) {
      fail('BUNDLE_INVALID', `bundle ${item.tlog.logIndex}: ${(e as Error).message}`);
    }
    const logIndex = Number(item.tlog.logIndex);
    const integratedTime = Number(item.tlog.integratedTime);
    if (!registry.apply(item.statement, logIndex, integratedTime)) nodes.push({ logIndex, integratedTime, keyId: item.hint, signer: registry.lookup(item.hint)?.participant.id ?? null, predicateType: item.statement.predicateType, statement: item.statement });
  }
  // 4. The same graph and the same policy give the same verdict.
  const policy = parsePolicy(pkg.policy);
  const evaluation = evaluate(buildGraph(pkg.udi, nodes), policy, { now: pkg.evaluatedAt, signer: (keyId) => registry.signerInfo(keyId) });
  const stated = JSON.stringify(pkg.verdict);
  const derived = JSON.stringify({ verdict: evaluation.verdict, findings: evaluation.findings });
  if (stated !== derived) fail('VERDICT_MISMATCH', `the package states ${pkg.verdict?.verdict} but its evidence gives ${evaluation.verdict}`);
  return { udi: pkg.udi, evaluation, treeSize: cp.size, bundles: items.length };
}
