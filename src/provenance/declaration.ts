/**
 * The administrator declaration: a signed note by the log key naming the administrator's key,
 * so an offline verifier who trusts the log key also knows who registers participants. Its first
 * line cannot be a checkpoint origin (origins have no spaces), so it never reads as a checkpoint.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { openNote, signNote, type NoteSigner, type NoteVerifier } from '../log/index.js';

const HEADER = 'pedigree administrator v1';

export function declareAdministrator(signer: NoteSigner, adminPublicKeyPem: string): string {
  const der = createPublicKey(adminPublicKeyPem).export({ format: 'der', type: 'spki' });
  return signNote(`${HEADER}\n${signer.name}\n${der.toString('base64')}\n`, [signer]);
}

export function openDeclaration(note: string, log: NoteVerifier): KeyObject {
  const opened = openNote(note, [log]);
  const lines = opened.text.split('\n');
  if (lines[0] !== HEADER || lines[1] !== log.name || lines.length !== 4) throw new Error('not an administrator declaration for this log');
  return createPublicKey({ key: Buffer.from(lines[2]!, 'base64'), format: 'der', type: 'spki' });
}
