import { createHash, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed25519NoteSigner, ed25519Raw } from '../../src/crypto/node.js';
import {
  cosign,
  cosignatureKeyId,
  cosignatureMessage,
  cosignatureVerifierKey,
  parseCosignatureVerifierKey,
  verifyCosignatures,
} from '../../src/log/cosignature.js';
import { formatCheckpoint, openCheckpoint, parseVerifierKey, sha256, signNote } from '../../src/log/index.js';

/**
 * A real checkpoint of the arche2025h1 staging CT log, cosigned by four public witnesses, and
 * those witnesses' published verifier keys (type 0x04). Public data, used as a known answer:
 * our key IDs, message and signature checks must agree with independent implementations.
 */
const REAL_CHECKPOINT = `arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
`;
const REAL_LOG_VKEY = 'arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f';
const REAL_WITNESS_VKEYS = [
  'transparency.dev/DEV:witness-little-garden+d8042a87+BCtusOxINQNUTN5Oj8HObRkh2yHf/MwYaGX4CPdiVEPM',
  'witness1.smartit.nu/witness1+a48c820f+BPSFWg9G6KPiO7QPryYO5Xq4oYJJ+kAvLKLSimDhoxMO',
  'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2',
  'witness.stagemole.eu+67f7aea0+BEqSG3yu9YrmcM3BHvQYTxwFj3uSWakQepafafpUqklv',
];
const REAL_TIME = 1779573024;

const ROOT64 = Buffer.from(sha256(new TextEncoder().encode('root'))).toString('base64');
const BODY = `example.org/log\n42\n${ROOT64}\n`;

function witnessKey(name: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = ed25519Raw(publicKey);
  return {
    name,
    privateKey,
    publicKey,
    raw,
    sign: (m: Uint8Array) => new Uint8Array(cryptoSign(null, m, privateKey)),
    parsed: parseCosignatureVerifierKey(cosignatureVerifierKey(name, raw)),
  };
}

describe('cosignature/v1 keys', () => {
  it('derives the key IDs that public witnesses publish, and parses their verifier keys', () => {
    for (const vkey of REAL_WITNESS_VKEYS) {
      const parsed = parseCosignatureVerifierKey(vkey);
      expect(cosignatureVerifierKey(parsed.name, parsed.publicKey)).toBe(vkey);
      expect(Buffer.from(cosignatureKeyId(parsed.name, parsed.publicKey)).toString('hex')).toBe(vkey.split('+')[1]);
    }
    expect(parseCosignatureVerifierKey(REAL_WITNESS_VKEYS[2]!).name).toBe('remora.n621.de');
  });

  it('computes the key ID as SHA-256(name || "\\n" || 0x04 || key)[:4], independently checked', () => {
    const w = witnessKey('witness.example.org/w1');
    const expected = createHash('sha256').update('witness.example.org/w1\n').update(Buffer.from([0x04])).update(w.raw).digest().subarray(0, 4);
    expect(Buffer.from(w.parsed.keyId)).toEqual(expected);
    expect(cosignatureVerifierKey(w.name, w.raw)).toBe(`${w.name}+${expected.toString('hex')}+${Buffer.concat([Buffer.from([4]), w.raw]).toString('base64')}`);
  });

  it('refuses log keys (type 0x01), wrong key IDs, bad names and junk', () => {
    const bad = [
      REAL_LOG_VKEY,
      REAL_WITNESS_VKEYS[2]!.replace('da77ade7', 'da77ade8'),
      REAL_WITNESS_VKEYS[2]!.replace('da77ade7', 'DA77ADE7'),
      'remora.n621.de+da77ade7',
      'remora.n621.de+da77ade7+not base64',
      `remora.n621.de+da77ade7+${Buffer.concat([Buffer.from([4]), Buffer.alloc(31)]).toString('base64')}`,
      '+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2',
      'x'.repeat(5000),
    ];
    for (const vkey of bad) expect(() => parseCosignatureVerifierKey(vkey), vkey.slice(0, 60)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('verifying cosignatures', () => {
  it('verifies the real cosignatures of four public witnesses on a real checkpoint', () => {
    const witnesses = REAL_WITNESS_VKEYS.map(parseCosignatureVerifierKey);
    const verified = verifyCosignatures(REAL_CHECKPOINT, witnesses);
    expect(verified.map((v) => v.name).sort()).toEqual(witnesses.map((w) => w.name).sort());
    expect(verified.every((v) => v.time === REAL_TIME)).toBe(true);
    expect(verified.every((v) => REAL_CHECKPOINT.includes(v.line))).toBe(true);
    // The log's own Ed25519 signature still verifies with the project's note code.
    expect(openCheckpoint(REAL_CHECKPOINT, parseVerifierKey(REAL_LOG_VKEY)).size).toBe(1432088532);
  });

  it('finds none on the same checkpoint with one byte of the body changed', () => {
    const witnesses = REAL_WITNESS_VKEYS.map(parseCosignatureVerifierKey);
    expect(verifyCosignatures(REAL_CHECKPOINT.replace('1432088532', '1432088533'), witnesses)).toEqual([]);
    expect(verifyCosignatures(REAL_CHECKPOINT.replace('U7WM', 'U7WN'), witnesses)).toEqual([]);
  });

  it('honours maxTime and minTime', () => {
    const witnesses = REAL_WITNESS_VKEYS.map(parseCosignatureVerifierKey);
    expect(verifyCosignatures(REAL_CHECKPOINT, witnesses, { maxTime: REAL_TIME - 1 })).toEqual([]);
    expect(verifyCosignatures(REAL_CHECKPOINT, witnesses, { minTime: REAL_TIME + 1 })).toEqual([]);
    expect(verifyCosignatures(REAL_CHECKPOINT, witnesses, { minTime: REAL_TIME, maxTime: REAL_TIME })).toHaveLength(4);
  });

  it('ignores the log signature, unknown witnesses, other key types, junk lines, and never throws', () => {
    const w = witnessKey('witness.example.org/w1');
    const other = witnessKey('witness.example.org/w2');
    const log = generateKeyPairSync('ed25519');
    const logSigned = signNote(BODY, [ed25519NoteSigner('example.org/log', log.privateKey)]);
    const line = cosign(BODY, w.name, w.raw, w.sign, 1700000000);
    const otherLine = cosign(BODY, other.name, other.raw, other.sign, 1700000000);
    // The same key and name as a plain Ed25519 (0x01) note signature: a different key ID, ignored.
    const asNoteSig = signNote(BODY, [ed25519NoteSigner(w.name, w.privateKey)]).split('\n\n')[1]!;
    const note = `${logSigned}${otherLine}${asNoteSig}not a signature line\n\u2014 ${w.name} !!!!\n\u2014 ${w.name} AAAA\n${line}`;
    expect(verifyCosignatures(note, [w.parsed])).toEqual([{ name: w.name, time: 1700000000, line }]);
    expect(verifyCosignatures(note, [w.parsed, other.parsed]).map((v) => v.name)).toEqual([other.name, w.name]);
    // A witness cosigning twice counts once.
    expect(verifyCosignatures(`${note}${cosign(BODY, w.name, w.raw, w.sign, 1700000001)}`, [w.parsed])).toHaveLength(1);
    for (const junk of ['', '\n\n', BODY, `${BODY}\n`, `${BODY}\n\u2014 x\n`, 'x'.repeat((1 << 20) + 1), `${BODY}\n${'\u2014 a b\n'.repeat(10_000)}`]) {
      expect(verifyCosignatures(junk, [w.parsed])).toEqual([]);
    }
    expect(verifyCosignatures(note, [])).toEqual([]);
  });

  it('counts one key once, even listed under two names (the cosignature does not sign the name)', () => {
    const w = witnessKey('witness.example.org/w1');
    const alias = parseCosignatureVerifierKey(cosignatureVerifierKey('witness.example.org/alias', w.raw));
    const line = cosign(BODY, w.name, w.raw, w.sign, 1700000000);
    // The same signature bytes relabelled for the alias (its key ID is public: name and key).
    const sig = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    const relabelled = `\u2014 ${alias.name} ${Buffer.concat([Buffer.from(alias.keyId), sig.subarray(4)]).toString('base64')}\n`;
    const note = `${signNote(BODY, [ed25519NoteSigner('example.org/log', generateKeyPairSync('ed25519').privateKey)])}${line}${relabelled}`;
    expect(verifyCosignatures(note, [alias])).toHaveLength(1);
    expect(verifyCosignatures(note, [w.parsed, alias])).toHaveLength(1);
  });

  it('refuses a cosignature whose key ID matches but whose signature, time or key is wrong', () => {
    const w = witnessKey('witness.example.org/w1');
    const line = cosign(BODY, w.name, w.raw, w.sign, 1700000000);
    const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    const flip = (i: number) => {
      const b = Buffer.from(raw);
      b[i]! ^= 1;
      return `${BODY}\n\u2014 ${w.name} ${b.toString('base64')}\n`;
    };
    expect(verifyCosignatures(flip(11), [w.parsed])).toEqual([]); // the timestamp
    expect(verifyCosignatures(flip(40), [w.parsed])).toEqual([]); // the signature
    // Same name, another key: the key IDs differ, so the line is not even tried.
    const impostor = witnessKey(w.name);
    expect(verifyCosignatures(`${BODY}\n${line}`, [impostor.parsed])).toEqual([]);
    // A timestamp beyond 2^53 is refused (the spec caps it at 2^63 - 1).
    const huge = Buffer.from(raw);
    huge.writeBigUInt64BE(2n ** 62n, 4);
    expect(verifyCosignatures(`${BODY}\n\u2014 ${w.name} ${huge.toString('base64')}\n`, [w.parsed])).toEqual([]);
  });
});

describe('cosigning', () => {
  it('signs "cosignature/v1\\ntime <t>\\n" + body; node:crypto verifies the exact bytes', () => {
    const w = witnessKey('witness.example.org/w1');
    const body = `${formatCheckpoint({ origin: 'example.org/log', size: 42, root: sha256(new TextEncoder().encode('root')), extensions: ['extension line'] })}`;
    const line = cosign(body, w.name, w.raw, w.sign, 1712345678);
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)\n$/u.exec(line);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(w.name);
    const raw = Buffer.from(m![2]!, 'base64');
    expect(raw.length).toBe(4 + 8 + 64);
    expect(raw.subarray(0, 4)).toEqual(createHash('sha256').update(`${w.name}\n`).update(Buffer.from([4])).update(w.raw).digest().subarray(0, 4));
    expect(raw.readBigUInt64BE(4)).toBe(1712345678n);
    const message = Buffer.from(`cosignature/v1\ntime 1712345678\n${body}`, 'utf8');
    expect(Buffer.from(cosignatureMessage(body, 1712345678))).toEqual(message);
    expect(cryptoVerify(null, message, w.publicKey, raw.subarray(12))).toBe(true);
    // The extension line is covered.
    expect(cryptoVerify(null, Buffer.from(message.toString().replace('extension line', 'extension lime')), w.publicKey, raw.subarray(12))).toBe(false);
    expect(verifyCosignatures(`${body}\n${line}`, [w.parsed])).toEqual([{ name: w.name, time: 1712345678, line }]);
  });

  it('refuses a zero or fractional time, a bad name, a non-checkpoint body and a wrong-size signature', () => {
    const w = witnessKey('witness.example.org/w1');
    expect(() => cosign(BODY, w.name, w.raw, w.sign, 0)).toThrow(/positive integer/);
    expect(() => cosign(BODY, w.name, w.raw, w.sign, 1.5)).toThrow(/positive integer/);
    expect(() => cosign(BODY, 'bad name', w.raw, w.sign, 1)).toThrow(/name/);
    expect(() => cosign('not a checkpoint\n', w.name, w.raw, w.sign, 1)).toThrow(expect.objectContaining({ code: 'CHECKPOINT_MALFORMED' }));
    expect(() => cosign(BODY, w.name, w.raw, () => new Uint8Array(63), 1)).toThrow(/64 bytes/);
  });
});
