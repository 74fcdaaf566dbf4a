/**
 * Evidence packages, as the ledger issues them: one JSON document holding the policy the server
 * evaluated, every bundle the verdict rests on (the device's attestations and the trust
 * registry's entries) with inclusion proofs against one signed checkpoint, the administrator
 * declaration, and the ledger's signature over the whole. The one verifier of packages is
 * src/verify/evidence.ts.
 */
import { signNote, type NoteSigner } from '../log/index.js';
import { EVIDENCE_MEDIA_TYPE, EVIDENCE_SIGNATURE_HEADER, evidenceDigest } from '../verify/evidence.js';
import type { Evaluation, Finding, Policy } from './policy.js';
import type { LookupJson } from '../vindex/map.js';

export { EVIDENCE_MEDIA_TYPE };

export interface EvidencePackage {
  mediaType: typeof EVIDENCE_MEDIA_TYPE;
  /** What the package is about: a device, or (the update gate) a firmware image for a device model. */
  udi?: string;
  firmware?: { sha256: string; model: string };
  generatedAt: string;
  /** When the ledger issued the package (seconds since the epoch). */
  evaluatedAt: number;
  /** The policy the server evaluated; verifiers evaluate their own. */
  policy: Policy;
  checkpoint: string;
  administrator: { declaration: string };
  consistency?: { fromSize: number; toSize: number; hashes: string[] };
  bundles: Array<Record<string, unknown>>;
  /** The complete list of entries for every key the verdict depends on, proved against the index root the checkpoint commits. */
  lookups: LookupJson[];
  /** The server's verdict under `policy`, for information; verifiers derive their own. */
  verdict: { verdict: Evaluation['verdict']; findings: Finding[] };
  /** Signed note by the log key over the SHA-256 of the canonical JSON of everything else. */
  signature?: string;
}

export function signEvidence(pkg: EvidencePackage, signer: NoteSigner): EvidencePackage {
  const unsigned = { ...pkg };
  delete unsigned.signature;
  return { ...unsigned, signature: signNote(`${EVIDENCE_SIGNATURE_HEADER}\n${signer.name}\n${evidenceDigest(unsigned)}\n`, [signer]) };
}
