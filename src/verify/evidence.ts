/**
 * The one evidence verifier. The CLI (`verify-device`, `verify-evidence`) and the web page call
 * this function and nothing else to decide whether a device may be used.
 *
 * It checks what its caller expects, never what the package says about itself:
 * - the device the caller asked about (any UDI form, normalised);
 * - the caller's policy (a file, or the release policy shipped with the program or the page) —
 *   the package's own policy and verdict are ignored;
 * - the caller's clock (the verdict is re-derived as of `now`);
 * - the newest checkpoint the caller has seen: the package must be at or beyond it and prove
 *   the log consistent with it;
 * - optionally, a maximum age of the package.
 * Then everything in the package is verified against the trusted log key: the package and the
 * checkpoint signatures, the administrator declaration, and every bundle (verify/bundle.ts).
 * After a log key rotation the trusted root lists every key the log has had: the current one
 * signs the package, the checkpoint and the declaration; each entry's signed entry timestamp is
 * checked with the key its log ID names, valid at its integration time (verify/trust.ts).
 * Registry entries are signed by the declared administrator key or the one it handed over to
 * (administrator-key statements), each only until its own hand-over, in log order.
 * The provenance graph, the verdict and the tree shown to people are derived from the verified
 * bundles only. Last, completeness: for every key the verdict depends on (the device, what its
 * assembly records list, the registry, each signer), the package must prove the complete list
 * the log's verifiable index holds, against the root its checkpoint commits, and hold exactly
 * those entries; a package that leaves one out is refused (EVIDENCE_INCOMPLETE).
 * Pure and synchronous: no I/O and no Node APIs.
 */
import { bytesEqual, fromBase64, openCheckpoint, openNote, parseNote, sha256, toHex, utf8, verifyConsistency } from '../log/index.js';
import { REGISTRY_URIS } from '../attest/predicates.js';
import { selectCertificateSigner } from './certificate.js';
import { parseCertificate, type Certificate } from './x509.js';
import { openDeclaration as declarationKey } from '../provenance/declaration.js';
import { ADMIN_ID, TrustRegistry, derToPem } from '../trust/registry.js';
import { checkModelGtin, normaliseDeviceUdi } from '../udi/udi.js';
import { buildFirmwareGraph, deviceGraph, type AttNode, type DeviceGraph, type FirmwareGraph } from '../provenance/graph.js';
import { firmwareOutcomeOf, outcomeOf, type DeviceOutcome, type Outcome } from '../provenance/outcome.js';
import { evaluate, evaluateFirmware, type Evaluation, type Policy } from '../provenance/policy.js';
import { policyDigest } from '../provenance/release-policy.js';
import { firmwareView, graphView } from '../provenance/view.js';
import { bundleClaim, verifyLoggedBundle, type LoggedSigner, type VerifiedEntry } from './bundle.js';
import { canonicalJson } from './canonical.js';
import { EvidenceError } from './errors.js';
import { isLogId, trustedLog, type TrustedLog } from './trust.js';
import type { Statement } from '../attest/statement.js';
import { parseCosignatureVerifierKey, verifyCosignatures } from '../log/cosignature.js';
import { firmwareVerdictKeys, lookupKeys, verdictKeys } from '../vindex/keys.js';
import { indexRootOf, lookupFromJson, verifyList, type Lookup } from '../vindex/map.js';

export const EVIDENCE_MEDIA_TYPE = 'application/vnd.pedigree.evidence.v1+json';
export const EVIDENCE_SIGNATURE_HEADER = 'pedigree evidence v1';
/** More bundles than any device's evidence holds; bounds the work a package can cause. */
export const MAX_EVIDENCE_BUNDLES = 25_000;

export interface CallerExpectations {
  /** The device the caller asked about, in any UDI form. */
  readonly udi: string;
  /** The caller's policy, already validated (provenance/policy-io.ts `parsePolicy`). */
  readonly policy: Policy;
  /** The caller's clock, seconds since the epoch. */
  readonly now: number;
  /** The newest checkpoint the caller has seen from this log (verified by the caller). */
  readonly newestSeen?: { readonly size: number; readonly root: Uint8Array; readonly origin?: string };
  /** The oldest package the caller accepts, in seconds before `now`. */
  readonly maxAgeSeconds?: number;
  /**
   * Witnesses the caller requires: their cosignature verifier keys (C2SP tlog-cosignature,
   * "name+keyid+base64") and how many of them must have cosigned the package's checkpoint.
   */
  readonly witnesses?: { readonly keys: readonly string[]; readonly required: number };
}

export interface VerifiedDevice extends DeviceOutcome {
  readonly udi: string;
  readonly evaluation: Evaluation;
  readonly graph: DeviceGraph;
  /** The provenance tree for people, derived from verified bundles only. */
  readonly tree: Record<string, unknown>;
  readonly policy: { readonly name: string; readonly digest: string };
  readonly checkpoint: { readonly origin: string; readonly size: number; readonly root: string; readonly note: string };
  /** When the ledger issued the package (seconds since the epoch, signed with the package). */
  readonly issuedAt: number;
  readonly bundles: number;
  /** The required witnesses whose cosignatures verified, with their times (none when none were required). */
  readonly witnesses: Array<{ readonly name: string; readonly time: number }>;
}

interface PackageJson {
  mediaType?: unknown;
  udi?: unknown;
  evaluatedAt?: unknown;
  checkpoint?: unknown;
  administrator?: { declaration?: unknown };
  consistency?: { fromSize?: unknown; toSize?: unknown; hashes?: unknown };
  bundles?: unknown;
  lookups?: unknown;
  signature?: unknown;
}

/** SHA-256 (hex) of the canonical JSON of the package without its signature: what the log signs. */
export function evidenceDigest(pkg: object): string {
  const { signature: _omit, ...rest } = pkg as { signature?: unknown };
  return toHex(sha256(utf8(canonicalJson(rest))));
}

/** What the caller expects of a firmware package (the update gate): this image, for this model. */
export interface FirmwareExpectations extends Omit<CallerExpectations, 'udi'> {
  /** The SHA-256 (hex) of the image the caller hashed itself, and the model's GTIN-14. */
  readonly firmware: { readonly sha256: string; readonly model: string };
}

export interface VerifiedFirmware {
  readonly outcome: Outcome;
  readonly recalls: DeviceOutcome['recalls'];
  readonly firmware: { readonly sha256: string; readonly model: string };
  readonly evaluation: Evaluation;
  readonly graph: FirmwareGraph;
  readonly tree: Record<string, unknown>;
  readonly policy: { readonly name: string; readonly digest: string };
  readonly checkpoint: VerifiedDevice['checkpoint'];
  readonly issuedAt: number;
  readonly bundles: number;
  readonly witnesses: VerifiedDevice['witnesses'];
}

/** A device's evidence package, verified against what the caller expects. */
export function verifyEvidence(input: unknown, trustedRoot: unknown, expect: CallerExpectations): VerifiedDevice {
  let udi: string;
  const core = verifyPackage(input, trustedRoot, expect, (pkg) => {
    udi = checkDevice(pkg, expect.udi);
  }, (nodes, signers, reg) => verdictKeys(deviceGraph(udi, nodes, reg), signers));
  const graph = deviceGraph(udi!, core.nodes, core);
  const policy = expect.policy;
  const evaluation = evaluate(graph, policy, { now: expect.now, signer: core.signer });
  return { udi: udi!, ...outcomeOf(graph, evaluation), evaluation, graph, tree: graphView(graph, evaluation), policy: { name: policy.name, digest: policyDigest(policy) }, ...core.common };
}

/** A firmware image's evidence package (the update gate), verified against the image the caller hashed and the model it named. */
export function verifyFirmwareEvidence(input: unknown, trustedRoot: unknown, expect: FirmwareExpectations): VerifiedFirmware {
  const want = expect.firmware;
  if (!/^[0-9a-f]{64}$/.test(want.sha256)) throw new EvidenceError('EVIDENCE_WRONG_DEVICE', 'the firmware asked about needs a SHA-256 (64 lowercase hex digits)');
  try {
    checkModelGtin(want.model);
  } catch (e) {
    throw new EvidenceError('EVIDENCE_WRONG_DEVICE', `the model asked about is not a GTIN-14: ${(e as Error).message}`);
  }
  const core = verifyPackage(input, trustedRoot, expect, (pkg) => {
    const f = (pkg as { firmware?: { sha256?: unknown; model?: unknown } }).firmware;
    if (f?.sha256 !== want.sha256 || f?.model !== want.model) {
      throw new EvidenceError('EVIDENCE_WRONG_DEVICE', `you asked about firmware sha256 ${want.sha256.slice(0, 16)}… for model ${want.model}, but the evidence is about ${typeof f?.sha256 === 'string' ? `sha256 ${f.sha256.slice(0, 16)}…` : 'something else'}${typeof f?.model === 'string' ? ` for model ${f.model.slice(0, 20)}` : ''}`);
    }
  }, (nodes, signers, reg) => firmwareVerdictKeys(buildFirmwareGraph(want.sha256, nodes, { manufacturer: reg.manufacturerOf(want.model) }), signers));
  const graph = buildFirmwareGraph(want.sha256, core.nodes, { manufacturer: core.manufacturerOf(want.model) });
  const policy = expect.policy;
  const evaluation = evaluateFirmware(graph, want.model, policy, { now: expect.now, signer: core.signer, manufacturer: core.manufacturerOf(want.model) });
  return { firmware: { ...want }, ...firmwareOutcomeOf(graph, evaluation), evaluation, graph, tree: firmwareView(graph), policy: { name: policy.name, digest: policyDigest(policy) }, ...core.common };
}

/** Step 3 for a device package: the device the caller asked about. */
function checkDevice(pkg: PackageJson, asked: string): string {
  let udi: string;
  try {
    udi = normaliseDeviceUdi(asked);
  } catch (e) {
    throw new EvidenceError('EVIDENCE_WRONG_DEVICE', `the device asked about is not a valid UDI: ${(e as Error).message}`);
  }
  let stated: string | undefined;
  try {
    stated = normaliseDeviceUdi(String(pkg.udi));
  } catch {
    stated = undefined;
  }
  if (stated !== udi) {
    const about = pkg.udi === undefined && (pkg as { firmware?: unknown }).firmware !== undefined ? 'a firmware image, not a device (check it with --firmware and --model)' : String(pkg.udi).slice(0, 100);
    throw new EvidenceError('EVIDENCE_WRONG_DEVICE', `you asked about ${udi}, but the evidence is about ${about}`);
  }
  return udi;
}

/**
 * Everything both kinds of package share: the ledger's signature, the checkpoint and its
 * witnesses, `subject` (what the caller asked about), freshness, every bundle, and completeness
 * for the keys `keysOf` derives from the verified entries.
 */
function verifyPackage(
  input: unknown,
  trustedRoot: unknown,
  expect: Omit<CallerExpectations, 'udi'>,
  subject: (pkg: PackageJson) => void,
  keysOf: (nodes: AttNode[], signers: Array<{ keyId: string; participant: string | null }>, reg: { manufacturerOf: (product: string) => string | undefined }) => string[],
) {
  const fail = (code: ConstructorParameters<typeof EvidenceError>[0], message: string): never => {
    throw new EvidenceError(code, message);
  };
  const pkg = input as PackageJson | null;
  if (typeof pkg !== 'object' || pkg === null || pkg.mediaType !== EVIDENCE_MEDIA_TYPE) fail('EVIDENCE_INVALID', `not a ${EVIDENCE_MEDIA_TYPE} document`);
  if (typeof pkg!.checkpoint !== 'string') fail('EVIDENCE_INVALID', 'the package has no checkpoint');
  const note = pkg!.checkpoint as string;
  const origin = note.split('\n', 1)[0]!;
  // Unverified text: only a plausible log name goes any further, and never into a message whole.
  if (!/^[\x21-\x7e]{1,200}$/.test(origin)) fail('EVIDENCE_INVALID', 'the checkpoint does not name a log');
  const log = trustedLog(trustedRoot, origin);
  // Signed by a key the trusted root does not hold for this log (another ledger of the same
  // name, or a key rotated since the root was pinned): say that, not that the package was altered.
  let noteSigners: ReadonlyArray<{ name: string; keyId: Uint8Array }> = [];
  try {
    noteSigners = parseNote(note).signatures;
  } catch {
    noteSigners = [];
  }
  if (noteSigners.length > 0 && !noteSigners.some((sig) => sig.name === log.verifier.name && bytesEqual(sig.keyId, log.verifier.keyId))) {
    fail('UNTRUSTED_LOG', `the evidence's checkpoint is signed by another key than the one your trusted root holds for ${JSON.stringify(origin.slice(0, 60))} (another ledger with the same name, or a key rotated since you pinned the root: fetch and check the new trusted_root.json)`);
  }

  // 1. The package as a whole is what the trusted log issued.
  try {
    const sig = openNote(String(pkg!.signature), [log.verifier]).text.split('\n');
    if (sig[0] !== EVIDENCE_SIGNATURE_HEADER || sig[1] !== origin || sig[2] !== evidenceDigest(pkg!)) fail('EVIDENCE_TAMPERED', 'the package does not match the ledger signature');
  } catch (e) {
    if (e instanceof EvidenceError) throw e;
    fail('EVIDENCE_TAMPERED', `the package signature does not verify: ${(e as Error).message}`);
  }

  // 2. One checkpoint, signed by the log.
  let cp: { size: number; root: Uint8Array; extensions: readonly string[] };
  try {
    cp = openCheckpoint(note, log.verifier);
  } catch (e) {
    return fail('CHECKPOINT_INVALID', (e as Error).message);
  }

  // 2b. Seen by the witnesses the caller requires: a log that showed them another history cannot show this one.
  let witnessed: Array<{ name: string; time: number }> = [];
  if (expect.witnesses && expect.witnesses.required > 0) {
    let keys;
    try {
      keys = [...new Set(expect.witnesses.keys)].map((k) => parseCosignatureVerifierKey(k));
    } catch (e) {
      return fail('WITNESS_MISSING', `a witness key you gave is unreadable: ${(e as Error).message}`);
    }
    const got = verifyCosignatures(note, keys, { maxTime: expect.now + 300 });
    // With a maximum age, witnesses vouch for freshness: the log's own issue time is its word
    // alone, but a witness cosigns an old checkpoint again only while it is the log's latest.
    if (expect.maxAgeSeconds !== undefined && got.length >= expect.witnesses.required) {
      const fresh = got.filter((w) => w.time >= expect.now - expect.maxAgeSeconds!);
      if (fresh.length < expect.witnesses.required) {
        const newest = Math.max(...got.map((w) => w.time));
        fail('EVIDENCE_EXPIRED', `the witnesses you require last confirmed this checkpoint ${Math.floor((expect.now - newest) / 60)} minutes ago, more than the ${Math.floor(expect.maxAgeSeconds / 60)} minutes you allow`);
      }
    }
    witnessed = got.map((w) => ({ name: w.name, time: w.time }));
    if (got.length < expect.witnesses.required) {
      const names = got.map((w) => w.name);
      fail(
        'WITNESS_MISSING',
        `${got.length} of the ${keys.length} witnesses you trust cosigned this checkpoint${names.length ? ` (${names.join(', ')})` : ''}; you require ${expect.witnesses.required}`,
      );
    }
  }

  // 3. What the caller asked about.
  subject(pkg!);

  // 4. Fresh: at or beyond the newest checkpoint the caller has seen, consistent with it, and young enough.
  const seen = expect.newestSeen;
  if (seen?.origin !== undefined && seen.origin !== origin) fail('UNTRUSTED_LOG', `the checkpoint you have seen is from another log (${JSON.stringify(seen.origin.slice(0, 60))}) than the evidence`);
  if (seen && seen.size > 0) {
    if (seen.size > cp.size) fail('EVIDENCE_STALE', `the evidence is at tree size ${cp.size}, older than the checkpoint of size ${seen.size} you have already seen`);
    if (seen.size === cp.size) {
      if (!bytesEqual(seen.root, cp.root)) fail('LOG_FORKED', `the checkpoint of size ${cp.size} differs from the one of the same size you saw before`);
    } else {
      const c = pkg!.consistency;
      if (!c || c.fromSize !== seen.size || c.toSize !== cp.size || !Array.isArray(c.hashes)) fail('CONSISTENCY_MISSING', `the evidence has no consistency proof from the checkpoint of size ${seen.size} you saw before`);
      try {
        verifyConsistency(seen.size, cp.size, (c!.hashes as unknown[]).map((h) => fromBase64(String(h))), seen.root, cp.root);
      } catch (e) {
        fail('CONSISTENCY_INVALID', `the log is not consistent with the checkpoint of size ${seen.size} you saw before: ${(e as Error).message}`);
      }
    }
  }
  const issuedAt = Number(pkg!.evaluatedAt);
  if (!Number.isSafeInteger(issuedAt) || issuedAt < 0) fail('EVIDENCE_INVALID', 'the package has no issue time');
  if (expect.maxAgeSeconds !== undefined && expect.now - issuedAt > expect.maxAgeSeconds) {
    const span = (secs: number) => (secs < 120 ? `${secs} seconds` : `${Math.floor(secs / 60)} minutes`);
    fail('EVIDENCE_EXPIRED', `the evidence was issued ${span(expect.now - issuedAt)} ago, more than the ${span(expect.maxAgeSeconds)} you allow`);
  }

  // 5. Who the administrator is, then the registry and the device's entries, each verified.
  let adminSpki: Uint8Array;
  try {
    adminSpki = declarationKey(String(pkg!.administrator?.declaration), log.verifier);
  } catch (e) {
    return fail('EVIDENCE_INVALID', `administrator declaration: ${(e as Error).message}`);
  }
  const registry = new TrustRegistry(derToPem(adminSpki));
  if (!Array.isArray(pkg!.bundles)) fail('EVIDENCE_INVALID', 'the package has no bundles');
  const bundles = pkg!.bundles as unknown[];
  if (bundles.length > MAX_EVIDENCE_BUNDLES) fail('EVIDENCE_INVALID', `more than ${MAX_EVIDENCE_BUNDLES} bundles`);
  const items = bundles.map((b, i) => {
    try {
      return { bundle: b, claim: bundleClaim(b, log.keys.map((k) => k.logId)) };
    } catch (e) {
      return fail('BUNDLE_INVALID', `bundle ${i}: ${(e as Error).message}`);
    }
  });
  items.sort((a, b) => a.claim.logIndex - b.claim.logIndex);
  const nodes: AttNode[] = [];
  const verified: Array<{ logIndex: number; statement: Statement }> = [];
  let last = -1;
  let lastTime = 0;
  for (const { bundle, claim } of items) {
    if (claim.logIndex === last) fail('EVIDENCE_INVALID', `entry ${claim.logIndex} appears twice`);
    last = claim.logIndex;
    const isRegistry = REGISTRY_URIS.has(claim.predicateType);
    let signer: LoggedSigner | undefined;
    let leaf: Certificate | undefined;
    if (claim.certificates) {
      if (isRegistry) fail('BUNDLE_INVALID', `entry ${claim.logIndex}: registry statements are signed with the administrator key, not a certificate`);
      try {
        leaf = parseCertificate(claim.certificates[0]!);
      } catch (e) {
        fail('BUNDLE_INVALID', `entry ${claim.logIndex}: its signing certificate is unreadable: ${(e as Error).message}`);
      }
      signer = { certificate: claim.certificates[0]!, spki: leaf!.spki };
    } else {
      // Registry statements by an administrator key: the declared one, or one it handed over to
      // (administrator-key statements, applied in log order like the rest of the registry).
      const found = registry.lookup(claim.keyId ?? '');
      signer = isRegistry ? (found?.participant.id === ADMIN_ID ? found.key.der : undefined) : found?.key.der;
    }
    if (!signer) fail('SIGNER_UNKNOWN', `entry ${claim.logIndex} is signed by a key the evidence never registers${isRegistry ? ' as an administrator key' : ''}`);
    let entry: VerifiedEntry;
    try {
      entry = verifyLoggedBundle(bundle, log, { note, size: cp.size, root: cp.root }, signer!);
    } catch (e) {
      return fail('BUNDLE_INVALID', `entry ${claim.logIndex}: ${(e as Error).message}`);
    }
    if (REGISTRY_URIS.has(entry.statement.predicateType) !== isRegistry) fail('BUNDLE_INVALID', `entry ${claim.logIndex}: its type is not what it claimed`);
    // An administrator key signs the registry only until it hands over to the next one.
    if (isRegistry) {
      try {
        registry.checkSigner(entry.keyId, entry.integratedTime);
      } catch (e) {
        fail('BUNDLE_INVALID', `entry ${claim.logIndex}: its administrator key could not sign registry statements then: ${(e as Error).message}`);
      }
    }
    // A certificate's signer is the identity, registered before this entry, that it matches and
    // whose trust root its chain leads to at a verified time.
    let signedAt: number | undefined;
    if (leaf) {
      const found = certificateSigner(registry, log, bundle, claim.certificates!, leaf, entry, fail);
      entry = { ...entry, keyId: found.keyId };
      if (found.signedAt < entry.integratedTime) signedAt = found.signedAt;
    }
    // The log integrates in order: a later entry cannot have been integrated earlier.
    if (entry.integratedTime < lastTime) fail('BUNDLE_INVALID', `entry ${claim.logIndex} claims to be integrated before an earlier entry`);
    if (entry.integratedTime > expect.now + 300) fail('BUNDLE_INVALID', `entry ${claim.logIndex} claims to be integrated in the future`);
    lastTime = entry.integratedTime;
    verified.push({ logIndex: entry.logIndex, statement: entry.statement });
    if (!registry.apply(entry.statement, entry.logIndex, entry.integratedTime, entry.payloadDigest)) {
      nodes.push({
        logIndex: entry.logIndex,
        integratedTime: entry.integratedTime,
        keyId: entry.keyId,
        signer: registry.signerInfo(entry.keyId)?.participant ?? null,
        ...(signedAt !== undefined && { signedAt }),
        predicateType: entry.statement.predicateType,
        statement: entry.statement,
      });
    }
  }

  // 6. Nothing left out: for every key the verdict depends on, as the verifier derives them
  // from what it verified, the package proves the index's complete list and holds exactly it.
  const indexRoot = indexRootOf(cp.extensions);
  if (!indexRoot) fail('CHECKPOINT_INVALID', 'the checkpoint commits no index of the log, so the evidence cannot prove it is complete');
  const filed = new Map<string, number[]>();
  for (const v of verified) for (const k of lookupKeys(v.statement)) (filed.get(k) ?? filed.set(k, []).get(k)!).push(v.logIndex);
  if (!Array.isArray(pkg!.lookups) || pkg!.lookups.length > MAX_EVIDENCE_BUNDLES) fail('EVIDENCE_INCOMPLETE', 'the package carries no index lookups, so nothing shows it is complete');
  const proofs = new Map<string, Lookup>();
  for (const [i, raw] of (pkg!.lookups as unknown[]).entries()) {
    try {
      const l = lookupFromJson(raw, MAX_EVIDENCE_BUNDLES);
      proofs.set(l.key, l);
    } catch (e) {
      fail('INDEX_PROOF_INVALID', `lookup ${i}: ${(e as Error).message}`);
    }
  }
  const signers = [...new Set(nodes.map((n) => n.keyId))].map((keyId) => ({ keyId, participant: registry.signerInfo(keyId)?.participant ?? null }));
  for (const key of keysOf(nodes, signers, { manufacturerOf: (product) => registry.manufacturerOf(product) })) {
    const shown = /^[\x21-\x7e]{1,200}$/.test(key) ? key : JSON.stringify(key.slice(0, 200));
    const l = proofs.get(key);
    if (!l) fail('EVIDENCE_INCOMPLETE', `the package does not prove which entries the ledger holds about ${shown}`);
    try {
      verifyList(indexRoot!, key, l!.indexes, l!.proof);
    } catch (e) {
      fail('INDEX_PROOF_INVALID', `the index proof for ${shown} does not verify: ${(e as Error).message}`);
    }
    if (l!.indexes.some((i) => i >= cp.size)) fail('INDEX_PROOF_INVALID', `the index lists entries about ${shown} beyond the checkpoint`);
    const held = new Set(filed.get(key) ?? []);
    const missing = l!.indexes.filter((i) => !held.has(i));
    if (missing.length > 0) {
      fail('EVIDENCE_INCOMPLETE', `the ledger's own index lists ${missing.length === 1 ? 'entry' : 'entries'} ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''} about ${shown}, but the package leaves ${missing.length === 1 ? 'it' : 'them'} out`);
    }
    const listed = new Set(l!.indexes);
    const extra = [...held].filter((i) => !listed.has(i));
    if (extra.length > 0) fail('INDEX_PROOF_INVALID', `entry ${extra[0]} is about ${shown}, but the index the checkpoint commits does not list it`);
  }

  // 7. The verdict is the caller's to derive, under its policy and time, from verified entries only.
  return {
    nodes,
    signer: (keyId: string) => registry.signerInfo(keyId),
    manufacturerOf: (product: string) => registry.manufacturerOf(product),
    common: { checkpoint: { origin, size: cp.size, root: toHex(cp.root), note }, issuedAt, bundles: items.length, witnesses: witnessed },
  };
}

/**
 * The signer of a certificate-signed entry, by the one rule ingestion applies
 * (verify/certificate.ts `selectCertificateSigner`) against the registry as it stood for the
 * entry: its identity ID, and the verified time the certificate was used at.
 */
function certificateSigner(
  registry: TrustRegistry,
  log: TrustedLog,
  bundle: unknown,
  chain: readonly Uint8Array[],
  leaf: Certificate,
  entry: VerifiedEntry,
  fail: (code: 'BUNDLE_INVALID', message: string) => never,
): { keyId: string; signedAt: number } {
  const b = bundle as { dsseEnvelope: { payload: string; signatures: Array<{ sig: string }> }; verificationMaterial?: { tlogEntries?: unknown[]; timestampVerificationData?: { rfc3161Timestamps?: unknown } } };
  // The bundle's own entries: all but the ledger's.
  const own = (b.verificationMaterial?.tlogEntries ?? []).filter((t) => {
    try {
      return !isLogId(log, fromBase64(String((t as { logId?: { keyId?: unknown } } | null)?.logId?.keyId)));
    } catch {
      return true;
    }
  });
  const stamps = b.verificationMaterial?.timestampVerificationData?.rfc3161Timestamps;
  try {
    const { identity, signer } = selectCertificateSigner(registry, chain, leaf, entry.integratedTime, own, Array.isArray(stamps) ? stamps.length : 0, {
      payload: fromBase64(b.dsseEnvelope.payload),
      signature: fromBase64(b.dsseEnvelope.signatures[0]!.sig),
    });
    return { keyId: identity.identity.id, signedAt: signer.at };
  } catch (e) {
    return fail('BUNDLE_INVALID', `entry ${entry.logIndex}: its signing certificate does not verify: ${(e as Error).message}`);
  }
}
