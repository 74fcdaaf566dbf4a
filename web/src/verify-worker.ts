/**
 * Runs the one verifier off the page's main thread, so that a large evidence package never
 * freezes the page: the same function, the same inputs, the outcome or the refusal sent back.
 */
import { EvidenceError } from '../../src/verify/errors.js';
import { verifyEvidence, type CallerExpectations } from '../../src/verify/evidence.js';

export interface VerifyRequest {
  readonly evidence: unknown;
  readonly root: unknown;
  readonly expect: CallerExpectations;
}

self.onmessage = (e: MessageEvent<VerifyRequest>) => {
  try {
    const result = verifyEvidence(e.data.evidence, e.data.root, e.data.expect);
    self.postMessage({ ok: true, result });
  } catch (err) {
    self.postMessage(err instanceof EvidenceError ? { ok: false, code: err.code, message: err.message } : { ok: false, message: (err as Error).message });
  }
};
