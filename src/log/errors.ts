/**
 * Typed errors of the pure log core. Callers branch on `code`, never on messages.
 */
import { PedigreeError } from '../errors.js';

export type LogErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INDEX_OUT_OF_RANGE'
  | 'TREE_SIZE_OUT_OF_RANGE'
  | 'PROOF_MALFORMED'
  | 'ROOT_MISMATCH'
  | 'NOTE_MALFORMED'
  | 'NOTE_UNVERIFIED'
  | 'CHECKPOINT_MALFORMED'
  | 'TILE_PATH_MALFORMED'
  | 'ENTRY_TOO_LARGE'
  | 'ENTRY_EMPTY';

export class LogError extends PedigreeError<LogErrorCode> {
  override readonly name = 'LogError';
}
