/**
 * Runs the one verifier off the page's main thread, so that a large evidence package never
 * freezes the page: the same functions, the same inputs, the outcome or the refusal sent back.
 */
import { EvidenceError } from '../../src/verify/errors.js';
import { verifyEvidence, verifyFirmwareEvidence, type CallerExpectations, type FirmwareExpectations } from '../../src/verify/evidence.js';

export type VerifyRequest =
  | { readonly kind?: 'device'; readonly evidence: unknown; readonly root: unknown; readonly expect: CallerExpectations }
  | { readonly kind: 'firmware'; readonly evidence: unknown; readonly root: unknown; readonly expect: FirmwareExpectations };

self.onmessage = (e: MessageEvent<VerifyRequest>) => {
  try {
    const r = e.data;
    const result = r.kind === 'firmware' ? verifyFirmwareEvidence(r.evidence, r.root, r.expect) : verifyEvidence(r.evidence, r.root, r.expect);
    self.postMessage({ ok: true, result });
  } catch (err) {
    self.postMessage(err instanceof EvidenceError ? { ok: false, code: err.code, message: err.message } : { ok: false, message: (err as Error).message });
  }
};
