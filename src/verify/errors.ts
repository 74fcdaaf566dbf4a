/**
 * Why evidence was not accepted. One class, a closed set of stable codes; callers branch on
 * the code (the CLI maps every one to "NOT VERIFIED", the page to "do not deploy").
 */
import { PedigreeError } from '../errors.js';

export type EvidenceErrorCode =
  | 'EVIDENCE_INVALID'
  | 'EVIDENCE_TAMPERED'
  | 'TRUSTED_ROOT_INVALID'
  | 'UNTRUSTED_LOG'
  | 'CHECKPOINT_INVALID'
  | 'EVIDENCE_WRONG_DEVICE'
  | 'EVIDENCE_STALE'
  | 'EVIDENCE_EXPIRED'
  | 'CONSISTENCY_MISSING'
  | 'CONSISTENCY_INVALID'
  | 'LOG_FORKED'
  | 'BUNDLE_INVALID'
  | 'SIGNER_UNKNOWN'
  | 'EVIDENCE_INCOMPLETE'
  | 'INDEX_PROOF_INVALID'
  | 'WITNESS_MISSING';

export class EvidenceError extends PedigreeError<EvidenceErrorCode> {
  override readonly name = 'EvidenceError';
}

/** What each code means, in plain words for a person deciding whether to deploy a device. */
export const PLAIN_WORDS: Record<EvidenceErrorCode, string> = {
  EVIDENCE_INVALID: 'the evidence is not a complete, well-formed evidence package',
  EVIDENCE_TAMPERED: 'the evidence was changed after the ledger signed it',
  TRUSTED_ROOT_INVALID: 'the trusted root you gave is unreadable',
  UNTRUSTED_LOG: 'the evidence comes from a ledger you have not chosen to trust',
  CHECKPOINT_INVALID: 'the ledger checkpoint in the evidence is not signed by the trusted ledger key',
  EVIDENCE_WRONG_DEVICE: 'the evidence is about a different device than the one you asked about',
  EVIDENCE_STALE: 'the evidence is older than what you have already seen from this ledger',
  EVIDENCE_EXPIRED: 'the evidence is older than the maximum age you allow',
  CONSISTENCY_MISSING: 'the evidence does not prove that the ledger kept the history you saw before',
  CONSISTENCY_INVALID: 'the ledger rewrote the history you saw before',
  LOG_FORKED: 'the ledger shows you a different history than it showed you before',
  BUNDLE_INVALID: 'an attestation in the evidence does not verify',
  SIGNER_UNKNOWN: 'an attestation in the evidence is signed by a key the ledger never registered',
  EVIDENCE_INCOMPLETE: 'the ledger left records about this device out of the evidence, records its own index says it holds',
  INDEX_PROOF_INVALID: "the ledger's index of its records does not match the evidence it sent",
  WITNESS_MISSING: 'not enough of the independent witnesses you require have confirmed this ledger history',
};
