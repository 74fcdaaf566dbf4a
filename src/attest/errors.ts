/**
 * Why a submission was refused. Each code is stable; clients branch on it. "Untrusted" problems
 * (signature, signer) are kept apart from "not allowed" ones (role) and from malformed input.
 */
import { PedigreeError } from '../errors.js';

export type AttestErrorCode =
  | 'MALFORMED_JSON'
  | 'BUNDLE_TOO_LARGE'
  | 'BUNDLE_INVALID'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_DSSE'
  | 'UNSUPPORTED_PAYLOAD_TYPE'
  | 'SIGNER_UNKNOWN'
  | 'SIGNER_REVOKED'
  | 'SIGNER_NOT_VALID'
  | 'SIGNATURE_INVALID'
  | 'IDENTITY_AMBIGUOUS'
  | 'CERTIFICATE_INVALID'
  | 'CERTIFICATE_NOT_VALID_AT_SIGNING'
  | 'UNTRUSTED_ROOT'
  | 'TIMESTAMP_INVALID'
  | 'STATEMENT_INVALID'
  | 'PREDICATE_TYPE_UNKNOWN'
  | 'PREDICATE_INVALID'
  | 'ROLE_NOT_ALLOWED'
  | 'REGISTRATION_INVALID'
  | 'REGISTRATION_CONFLICT'
  | 'NAMESPACE_NOT_OWNED'
  | 'DEVICE_NOT_OWNED'
  | 'SUBJECT_QUOTA_EXCEEDED'
  | 'SUBMISSION_FAILED'
  | 'STATEMENT_OUTDATED'
  | 'STATEMENT_TIME_INVALID'
  | 'ENTRY_NOT_FOUND'
  | 'BATCH_TOO_LARGE'
  | 'INVALID_CURSOR'
  | 'INVALID_FILTER';

export class AttestError extends PedigreeError<AttestErrorCode> {
  override readonly name = 'AttestError';
  constructor(
    code: AttestErrorCode,
    message: string,
    /** JSON pointer of the failing field, when there is one. */
    readonly field?: string,
  ) {
    super(code, message);
  }
}
