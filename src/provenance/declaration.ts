/**
 * The administrator declaration: a signed note by the log key naming the administrator's key,
 * so an offline verifier who trusts the log key also knows who registers participants. Its first
 * line cannot be a checkpoint origin (origins have no spaces), so it never reads as a checkpoint.
 * Pure: the web page opens declarations with this same code.
 */
import { fromBase64, openNote, signNote, toBase64, type NoteSigner, type NoteVerifier } from '../log/index.js';
import { pemToDer } from '../trust/registry.js';

const HEADER = 'pedigree administrator v1';

export function declareAdministrator(signer: NoteSigner, adminPublicKeyPem: string): string {
  return signNote(`${HEADER}\n${signer.name}\n${toBase64(pemToDer(adminPublicKeyPem))}\n`, [signer]);
}

/** The administrator's key (SPKI DER) that the log declares; throws when the note is not one. */
export function openDeclaration(note: string, log: NoteVerifier): Uint8Array {
  const opened = openNote(note, [log]);
  const lines = opened.text.split('\n');
  if (lines[0] !== HEADER || lines[1] !== log.name || lines.length !== 4) throw new Error('not an administrator declaration for this log');
  return fromBase64(lines[2]!);
}
