/**
 * C2SP tlog-checkpoint body: "<origin>\n<tree size>\n<base64 root hash>\n" followed by optional
 * non-empty extension lines.
 */
import { LogError } from './errors.js';
import { fromBase64, toBase64 } from './bytes.js';
import { HASH_SIZE } from './hash.js';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from './note.js';

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin.length === 0 || c.origin.includes('\n')) throw new LogError('INVALID_ARGUMENT', 'origin must be one non-empty line');
  if (c.root.length !== HASH_SIZE) throw new LogError('INVALID_ARGUMENT', 'root must be 32 bytes');
  const ext = c.extensions.map((l) => {
    if (l.length === 0 || l.includes('\n')) throw new LogError('INVALID_ARGUMENT', 'extension lines must be non-empty');
    return `${l}\n`;
  });
  return `${c.origin}\n${c.size}\n${toBase64(c.root)}\n${ext.join('')}`;
}

export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new LogError('CHECKPOINT_MALFORMED', `malformed checkpoint: ${why}`);
  if (!text.endsWith('\n')) throw bad('must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('needs origin, size and root');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('empty origin');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw bad('bad tree size');
  let root: Uint8Array;
  try {
    root = fromBase64(rootText);
  } catch {
    throw bad('root must be 32 bytes in base64');
  }
  if (root.length !== HASH_SIZE) throw bad('root must be 32 bytes in base64');
  if (extensions.some((l) => l.length === 0)) throw bad('empty extension line');
  return { origin, size: Number(sizeText), root, extensions };
}

export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(c), [signer]);
}

/** Verifies the note's signature by the log key and that its origin is the log's name. */
export function openCheckpoint(note: string, log: NoteVerifier, extra: readonly NoteVerifier[] = []): Checkpoint & { note: string } {
  const opened = openNote(note, [log, ...extra]);
  if (!opened.verifiedBy.includes(log.name)) throw new LogError('NOTE_UNVERIFIED', 'checkpoint is not signed by the log');
  const c = parseCheckpoint(opened.text);
  if (c.origin !== log.name) throw new LogError('CHECKPOINT_MALFORMED', `checkpoint origin ${c.origin} is not ${log.name}`);
  return { ...c, note };
}
