import { PedigreeError } from '../errors.js';

export type LedgerErrorCode =
  | 'LOG_BUSY'
  | 'LOG_CLOSED'
  | 'ENTRY_TOO_LARGE'
  | 'ENTRY_EMPTY'
  | 'INDEX_OUT_OF_RANGE'
  | 'TREE_SIZE_OUT_OF_RANGE'
  | 'INVALID_ARGUMENT'
  | 'STORE_FAILED';

/** An error a client can act on; `code` is stable, `message` is for people. */
export class LedgerError extends PedigreeError<LedgerErrorCode> {
  override readonly name = 'LedgerError';
}
