import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, formatCheckpoint, openCheckpoint, openNote, parseCheckpoint, parseVerifierKey, sha256, signCheckpoint, signNote } from '../../src/log/index.js';
import { ed25519NoteSigner, ed25519NoteVerifier, verifierKeyString } from '../../src/crypto/node.js';

function keyPair(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: ed25519NoteSigner(name, privateKey), verifier: ed25519NoteVerifier(name, publicKey), publicKey };
}

const log = keyPair('example.org/log');
const witness = keyPair('witness.example');
const text = 'example.org/log\n3\n' + Buffer.from(sha256()).toString('base64') + '\n';

describe('signed notes', () => {
  it('verifies a note signed by a known key and reports who signed', () => {
    const note = signNote(text, [log.signer]);
    expect(note.startsWith(`${text}\n\u2014 example.org/log `)).toBe(true);
    expect(openNote(note, [log.verifier]).verifiedBy).toEqual(['example.org/log']);
  });

  it('ignores signature lines from unknown keys such as witness cosignatures', () => {
    const note = signNote(text, [witness.signer, log.signer]);
    expect(openNote(note, [log.verifier]).verifiedBy).toEqual(['example.org/log']);
  });

  it('accepts sixteen signature lines', () => {
    const others = Array.from({ length: 15 }, (_, i) => keyPair(`w${i}.example`).signer);
    const note = signNote(text, [...others, log.signer]);
    expect(openNote(note, [log.verifier]).signatures).toHaveLength(16);
  });

  it('rejects a note with more than 100 signature lines', () => {
    const w = keyPair('w.example').signer;
    const note = signNote(text, Array.from({ length: 101 }, () => w));
    expect(() => openNote(note, [log.verifier])).toThrow(expect.objectContaining({ code: 'NOTE_MALFORMED' }));
  });

  it('rejects a note that no known key signed', () => {
    expect(() => openNote(signNote(text, [witness.signer]), [log.verifier])).toThrow(expect.objectContaining({ code: 'NOTE_UNVERIFIED' }));
  });

  it('matches keys by name and key ID: the same key under another name does not count', () => {
    const impostor = { ...log.signer, name: 'other.example' };
    expect(() => openNote(signNote(text, [impostor]), [log.verifier])).toThrow(expect.objectContaining({ code: 'NOTE_UNVERIFIED' }));
  });

  it('rejects a known key whose signature does not verify, and any change to the text', () => {
    const note = signNote(text, [log.signer]);
    const tampered = note.replace('\n3\n', '\n4\n');
    expect(() => openNote(tampered, [log.verifier])).toThrow(expect.objectContaining({ code: 'NOTE_UNVERIFIED' }));
    const sigStart = note.lastIndexOf(' ') + 10;
    const flipped = note.slice(0, sigStart) + (note[sigStart] === 'A' ? 'B' : 'A') + note.slice(sigStart + 1);
    expect(() => openNote(flipped, [log.verifier])).toThrow(expect.objectContaining({ code: 'NOTE_UNVERIFIED' }));
  });

  it.each([
    ['no blank line', 'a\n\u2014 x AAAAAAA=\n'],
    ['no signatures', `${text}\n`],
    ['bad signature line', `${text}\n- example.org/log AAAAAAAA\n`],
    ['short signature', `${text}\n\u2014 example.org/log AAAA\n`],
    ['control characters', `a\tb\n\n\u2014 example.org/log AAAAAAAA\n`],
    ['missing final newline', `${text}\n\u2014 example.org/log AAAAAAAA`],
  ])('rejects a malformed note: %s', (_why, note) => {
    expect(() => openNote(note, [log.verifier])).toThrow(expect.objectContaining({ code: 'NOTE_MALFORMED' }));
  });

  it('round-trips verifier key strings and derives the C2SP key ID', () => {
    const vkey = verifierKeyString('example.org/log', log.publicKey);
    const v = parseVerifierKey(vkey);
    expect(Buffer.from(v.keyId)).toEqual(Buffer.from(log.verifier.keyId));
    expect(() => parseVerifierKey(vkey.replace(/\+[0-9a-f]{8}\+/, '+00000000+'))).toThrow();
    // key ID = SHA-256(name || "\n" || 0x01 || raw key)[:4]
    const raw = Buffer.from(vkey.split('+').slice(2).join('+'), 'base64').subarray(1);
    expect(Buffer.from(sha256(Buffer.from('example.org/log\n'), Uint8Array.of(1), raw).subarray(0, 4)).toString('hex')).toBe(vkey.split('+')[1]);
  });
});

describe('checkpoints', () => {
  it('formats, signs, opens and parses', () => {
    const note = signCheckpoint({ origin: 'example.org/log', size: 0, root: EMPTY_ROOT, extensions: [] }, log.signer);
    const c = openCheckpoint(note, log.verifier);
    expect(c.size).toBe(0);
    expect(Buffer.from(c.root)).toEqual(Buffer.from(EMPTY_ROOT));
  });

  it('keeps extension lines', () => {
    const body = formatCheckpoint({ origin: 'o', size: 12, root: EMPTY_ROOT, extensions: ['Timestamp: 1'] });
    expect(parseCheckpoint(body).extensions).toEqual(['Timestamp: 1']);
  });

  it('rejects a checkpoint whose origin is not the log', () => {
    const note = signCheckpoint({ origin: 'example.org/other', size: 0, root: EMPTY_ROOT, extensions: [] }, log.signer);
    expect(() => openCheckpoint(note, log.verifier)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }));
  });

  const root = Buffer.from(EMPTY_ROOT).toString('base64');
  it.each([
    ['leading zero size', `o\n01\n${root}\n`],
    ['negative size', `o\n-1\n${root}\n`],
    ['short root', 'o\n1\nAAAA\n'],
    ['unpadded root', `o\n1\n${root.replace('=', '')}\n`],
    ['missing newline', `o\n1\n${root}`],
    ['missing root', 'o\n1\n'],
    ['empty origin', `\n1\n${root}\n`],
    ['empty extension line', `o\n1\n${root}\n\nx\n`],
  ])('rejects a malformed body: %s', (_why, body) => {
    expect(() => parseCheckpoint(body)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }));
  });
});
