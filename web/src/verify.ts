/**
 * Verification in the browser, trusting nothing the server says without checking it:
 * the log key is pinned on first use; the checkpoint, the administrator declaration and the
 * evidence package must carry valid Ed25519 signatures by that key; every bundle's inclusion
 * proof must lead to the checkpoint's root; every DSSE signature must verify with the key the
 * administrator registered for its signer; a checkpoint seen earlier must be consistent with
 * the new one; and the verdict is re-derived here with the ledger's own policy code.
 */
import { rootFromInclusionProof, verifyConsistency } from '../../src/log/proof.js';
import { buildGraph, type AttNode } from '../../src/provenance/graph.js';
import { evaluate, type Evaluation, type Policy } from '../../src/provenance/policy.js';
import type { Statement } from '../../src/attest/statement.js';
import { PARTICIPANT_URI as PARTICIPANT, REVOCATION_URI as REVOCATION } from '../../src/attest/predicates.js';
import { TrustRegistry, derToPem } from '../../src/trust/registry.js';
import { b64decode, b64encode, canonicalize, concat, equal, hex, sha256, utf8 } from './bytes.js';


export interface Check {
  readonly ok: boolean;
  readonly label: string;
}

export interface BrowserResult {
  /** True only when every check passed. */
  readonly verified: boolean;
  readonly problems: string[];
  readonly checks: Check[];
  readonly origin: string;
  readonly treeSize: number;
  readonly logKeyFingerprint: string;
  readonly pin: 'first-use' | 'match' | 'changed';
  readonly evaluation?: Evaluation;
}

export interface PinStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
}

interface Note {
  text: string;
  sigs: Array<{ name: string; keyId: Uint8Array; sig: Uint8Array }>;
}

function parseNote(note: string): Note {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw new Error('signed note has no signatures');
  const text = note.slice(0, split + 1);
  const sigs = note
    .slice(split + 2)
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error('malformed signature line');
      const raw = b64decode(m[2]!);
      return { name: m[1]!, keyId: raw.slice(0, 4), sig: raw.slice(4) };
    });
  return { text, sigs };
}

async function verifyNote(note: string, name: string, key: CryptoKey, rawKey: Uint8Array): Promise<string> {
  const n = parseNote(note);
  const keyId = (await sha256(concat(utf8(`${name}\n`), Uint8Array.of(1), rawKey))).slice(0, 4);
  const sig = n.sigs.find((s) => s.name === name && equal(s.keyId, keyId));
  if (!sig) throw new Error(`not signed by ${name}`);
  if (!(await crypto.subtle.verify('Ed25519', key, sig.sig as BufferSource, utf8(n.text) as BufferSource))) throw new Error(`bad signature by ${name}`);
  return n.text;
}

/** DSSE pre-authentication encoding. */
function pae(type: string, body: Uint8Array): Uint8Array {
  const t = utf8(type);
  return concat(utf8(`DSSEv1 ${t.length} `), t, utf8(` ${body.length} `), body);
}

/** ECDSA signatures arrive DER-encoded; WebCrypto wants r || s. */
function derToP1363(der: Uint8Array, size = 32): Uint8Array {
  let o = 0;
  const expect = (b: number) => {
    if (der[o++] !== b) throw new Error('bad DER signature');
  };
  const len = () => {
    let l = der[o++]!;
    if (l & 0x80) {
      const n = l & 0x7f;
      l = 0;
      for (let i = 0; i < n; i++) l = (l << 8) | der[o++]!;
    }
    return l;
  };
  expect(0x30);
  len();
  const int = () => {
    expect(0x02);
    const l = len();
    let v = der.slice(o, o + l);
    o += l;
    while (v.length > size && v[0] === 0) v = v.slice(1);
    if (v.length > size) throw new Error('bad DER integer');
    return concat(new Uint8Array(size - v.length), v);
  };
  return concat(int(), int());
}

export async function verifyEvidenceInBrowser(
  pkg: any,
  trustedRoot: any,
  pins: PinStore,
  consistency: (fromSize: number, toSize: number) => Promise<{ hashes: string[] }>,
): Promise<BrowserResult> {
  const problems: string[] = [];
  const checks: Check[] = [];
  const check = (ok: boolean, label: string, problem?: string) => {
    checks.push({ ok, label });
    if (!ok) problems.push(problem ?? label);
    return ok;
  };
  const origin = String(pkg?.checkpoint ?? '').split('\n', 1)[0] ?? '';
  const tlog = (trustedRoot?.tlogs ?? []).find((t: any) => typeof t?.baseUrl === 'string' && t.baseUrl.includes(origin));
  const base = { origin, treeSize: 0, logKeyFingerprint: '', pin: 'first-use' as BrowserResult['pin'] };
  if (!tlog) {
    check(false, 'log key', `the trusted root does not name the log "${origin}"`);
    return { verified: false, problems, checks, ...base };
  }
  const spki = b64decode(tlog.publicKey.rawBytes);
  const fingerprint = hex(await sha256(spki));
  const pinKey = `pedigree:log-key:${origin}`;
  const pinned = pins.get(pinKey);
  const pin: BrowserResult['pin'] = pinned === null ? 'first-use' : pinned === fingerprint ? 'match' : 'changed';
  if (pin === 'first-use') pins.set(pinKey, fingerprint);
  check(pin !== 'changed', 'log key matches the one this browser pinned', `THE LOG KEY HAS CHANGED: this browser pinned ${pinned?.slice(0, 16)}…, the server now presents ${fingerprint.slice(0, 16)}…`);
  const result = (extra: Partial<BrowserResult> = {}): BrowserResult => ({ verified: problems.length === 0, problems, checks, ...base, logKeyFingerprint: fingerprint, pin, ...extra });

  let logKey: CryptoKey;
  try {
    logKey = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    check(false, 'Ed25519 in this browser', 'this browser cannot verify Ed25519 signatures');
    return result();
  }
  const rawLogKey = spki.slice(spki.length - 32);

  // Checkpoint.
  let size = 0;
  let root: Uint8Array = new Uint8Array();
  try {
    const text = await verifyNote(pkg.checkpoint, origin, logKey, rawLogKey);
    const lines = text.split('\n');
    size = Number(lines[1]);
    root = b64decode(lines[2] ?? '');
    check(lines[0] === origin && Number.isSafeInteger(size) && root.length === 32, `checkpoint signed by the log (size ${size})`);
  } catch (e) {
    check(false, 'checkpoint signature', `the checkpoint does not verify: ${(e as Error).message}`);
    return result();
  }

  // The package as issued.
  try {
    const { signature, ...rest } = pkg;
    const digest = hex(await sha256(utf8(canonicalize(rest))));
    const text = await verifyNote(String(signature), origin, logKey, rawLogKey);
    check(text === `pedigree evidence v1\n${origin}\n${digest}\n`, 'evidence package signed by the log', 'the evidence package was changed after the log signed it');
  } catch (e) {
    check(false, 'evidence signature', `the evidence package signature does not verify: ${(e as Error).message}`);
  }

  // Consistency with the last checkpoint this browser saw.
  const seenKey = `pedigree:checkpoint:${origin}`;
  const seen = (() => {
    try {
      return JSON.parse(pins.get(seenKey) ?? 'null') as { size: number; root: string } | null;
    } catch {
      return null;
    }
  })();
  if (seen && seen.size > 0) {
    try {
      const [from, to, fromRoot, toRoot] = seen.size <= size ? [seen.size, size, b64decode(seen.root), root] : [size, seen.size, root, b64decode(seen.root)];
      if (from === to) {
        check(equal(fromRoot, toRoot), `same checkpoint as last time (size ${size})`, 'THE LOG FORKED: same size as the checkpoint this browser saw before, different root');
      } else if (from > 0) {
        const proof = await consistency(from, to);
        verifyConsistency(from, to, proof.hashes.map(b64decode), fromRoot, toRoot);
        check(true, `consistent with the checkpoint this browser saw before (size ${seen.size})`);
      }
    } catch (e) {
      check(false, 'consistency', `the log is not consistent with the checkpoint this browser saw before (size ${seen.size}): ${(e as Error).message}`);
    }
  }
  if (problems.length === 0 && (!seen || size >= seen.size)) pins.set(seenKey, JSON.stringify({ size, root: b64encode(root) }));

  // Administrator, registry, bundles.
  let adminDer: Uint8Array;
  try {
    const text = await verifyNote(pkg.administrator.declaration, origin, logKey, rawLogKey);
    const lines = text.split('\n');
    if (lines[0] !== 'pedigree administrator v1' || lines[1] !== origin) throw new Error('not a declaration for this log');
    adminDer = b64decode(lines[2]!);
    check(true, 'administrator key declared by the log');
  } catch (e) {
    check(false, 'administrator declaration', `the administrator declaration does not verify: ${(e as Error).message}`);
    return result({ treeSize: size });
  }

  const registry = new TrustRegistry(derToPem(adminDer));
  const nodes: AttNode[] = [];
  const bundles = [...(pkg.bundles ?? [])].sort((a: any, b: any) => Number(a.verificationMaterial.tlogEntries[0].logIndex) - Number(b.verificationMaterial.tlogEntries[0].logIndex));
  let proofs = 0;
  let signatures = 0;
  for (const b of bundles) {
    const t = b.verificationMaterial?.tlogEntries?.[0];
    const index = Number(t?.logIndex);
    try {
      if (t.inclusionProof.checkpoint.envelope !== pkg.checkpoint || Number(t.inclusionProof.treeSize) !== size) throw new Error('proved against another checkpoint');
      const body = b64decode(t.canonicalizedBody);
      const leaf = await sha256(concat(Uint8Array.of(0), body));
      const computed = rootFromInclusionProof(index, size, leaf, t.inclusionProof.hashes.map(b64decode));
      if (!equal(computed, root)) throw new Error('inclusion proof does not lead to the checkpoint root');
      proofs++;
      const env = b.dsseEnvelope;
      const payload = b64decode(env.payload);
      const sig = b64decode(env.signatures[0].sig);
      const rekor = JSON.parse(new TextDecoder().decode(body));
      if (rekor.spec.payloadHash.value !== hex(await sha256(payload)) || rekor.spec.signatures[0].signature !== env.signatures[0].sig) {
        throw new Error('the logged entry does not match the bundle');
      }
      const statement = JSON.parse(new TextDecoder().decode(payload)) as Statement;
      const hint: string = b.verificationMaterial.publicKey.hint;
      const isRegistry = statement.predicateType === PARTICIPANT || statement.predicateType === REVOCATION;
      const der = isRegistry ? adminDer : registry.lookup(hint)?.key.der;
      if (!der) throw new Error('signed by a key no registered participant holds');
      const key = await crypto.subtle.importKey('spki', der as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      const ok = await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, derToP1363(sig) as BufferSource, pae(env.payloadType, payload) as BufferSource);
      if (!ok) throw new Error('DSSE signature does not verify');
      signatures++;
      const time = Number(t.integratedTime);
      if (!registry.apply(statement, index, time)) {
        nodes.push({ logIndex: index, integratedTime: time, keyId: hint, signer: registry.lookup(hint)?.participant.id ?? null, predicateType: statement.predicateType, statement });
      }
    } catch (e) {
      check(false, `entry ${index}`, `entry ${index}: ${(e as Error).message}`);
    }
  }
  check(proofs === bundles.length, `${proofs} inclusion proofs lead to the checkpoint`, `only ${proofs} of ${bundles.length} inclusion proofs lead to the checkpoint`);
  check(signatures === bundles.length, `${signatures} DSSE signatures verify with registered keys`, `only ${signatures} of ${bundles.length} DSSE signatures verify with registered keys`);

  // The verdict, re-derived here.
  let evaluation: Evaluation | undefined;
  try {
    evaluation = evaluate(buildGraph(pkg.udi, nodes), pkg.policy as Policy, { now: pkg.evaluatedAt, signer: (keyId) => registry.signerInfo(keyId) });
    check(evaluation.verdict === pkg.verdict?.verdict, `verdict re-derived in this browser: ${evaluation.verdict}`, `the server says ${pkg.verdict?.verdict} but the evidence gives ${evaluation.verdict}`);
  } catch (e) {
    check(false, 'verdict', `could not evaluate the policy: ${(e as Error).message}`);
  }
  return result({ treeSize: size, ...(evaluation && { evaluation }) });
}
