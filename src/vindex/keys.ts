/**
 * The map function of the verifiable index: the lookup keys a log entry is filed under. One
 * deterministic function of the statement the entry's signature covers, so that anyone
 * following the log can rebuild the index and compare roots (`pedigree monitor --audit`).
 *
 *   udi:<canonical UDI>               a device: statements about it, advisories affecting it
 *   partSerial:<supplier:part:serial> a part: statements about it, advisories affecting it
 *   lot:<supplier:part:lot>           a lot: likewise
 *   sha256:<hex>                      a file (a firmware image): likewise
 *   fitted:<hex>                      devices given that firmware image: assembly records listing it,
 *                                     firmware updates to it
 *   purl:<package>                    SBOMs listing a component of that package (any version),
 *                                     e.g. purl:pkg:generic/openssl
 *   vuln-purl:<package>               vulnerability advisories naming that package
 *   vex:<vulnerability id>            VEX documents with a statement on that vulnerability
 *   participant:<id>                  a registration or revocation of that participant
 *   participant:trust-root:<name>     a trust root's registration or revocation
 *   participant:admin                 an administrator hand-over (administrator-key)
 *   key:<hex key or identity ID>      a registration naming the key or certificate identity, a revocation
 *                                     of it, a hand-over to it
 *   registry                          every registration, revocation and hand-over
 *
 * An entry is filed under what it is about (its subjects) and what it targets (an advisory's
 * `affects`), never under what it merely mentions: a device's assembly record is filed under
 * the device, not under its parts, so the list for a part is what was said about that part,
 * and a device's evidence need not carry other devices' records. Keys are returned sorted and
 * without repeats. Nothing is ever dropped: a value with spaces, '%' or characters outside
 * printable ASCII is percent-encoded (`lookupKey`), so the key is one printable line whatever
 * the statement says. Pure, no Node APIs.
 */
import { ADMIN_KEY_URI, PARTICIPANT_URI, REVOCATION_URI, TRUST_ROOT_URI, resolvePredicateType } from '../attest/predicates.js';
import { identityId } from '../trust/identity.js';
import type { Statement } from '../attest/statement.js';
import type { DeviceGraph } from '../provenance/graph.js';
import { keyIdOfPem } from '../trust/registry.js';
import { normaliseDeviceUdi } from '../udi/udi.js';
import { sha256, toHex, utf8 } from '../log/index.js';
import { componentsOf, vulnerabilityIds, type FirmwareGraph, type FirmwareNode } from '../provenance/graph.js';
import { SBOM_TYPES, advisoryComponents, sbomComponents } from '../sbom/sbom.js';

export const REGISTRY_KEY = 'registry';
const ADVISORY_URI = resolvePredicateType('advisory').uri;
const ASSEMBLY_URI = resolvePredicateType('device-assembly').uri;
const UPDATE_URI = resolvePredicateType('firmware-update').uri;
const VEX_URI = resolvePredicateType('openvex').uri;
const SUBJECT_KINDS = new Set(['udi', 'partSerial', 'lot', 'sha256', 'participant']);
/** A lookup key is one line of printable text (it travels in proofs, messages and URLs). */
export const MAX_LOOKUP_KEY = 512;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Encoded values longer than this are named by their SHA-256 instead. */
const MAX_VALUE = 400;

/**
 * The key for a value of a kind: "<kind>:<value>", where '%', space and every character outside
 * printable ASCII are percent-encoded as UTF-8 ("LOT 7" → "LOT%207"), and a value whose encoding
 * is longer than 400 characters becomes "%sha256-<hex of its UTF-8>" (which no encoding of a
 * value can spell). The map function and the verifier both name keys only through this.
 */
export function lookupKey(kind: string, value: string): string {
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x21 && c <= 0x7e && ch !== '%') out += ch;
    else for (const b of utf8(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > MAX_VALUE) return `${kind}:%sha256-${toHex(sha256(utf8(value)))}`;
  }
  return `${kind}:${out}`;
}

export function lookupKeys(statement: Statement): string[] {
  const keys = new Set<string>();
  const add = (kind: string, value: string) => keys.add(lookupKey(kind, value));
  for (const sub of statement.subject ?? []) {
    for (const [kind, value] of Object.entries(sub.digest ?? {})) if (SUBJECT_KINDS.has(kind) && typeof value === 'string') add(kind, value);
  }
  const p = (statement.predicate ?? {}) as Record<string, unknown>;
  if (statement.predicateType === ADVISORY_URI) {
    const a = (p.affects ?? {}) as Record<string, unknown>;
    for (const v of strings(a.lots)) add('lot', v);
    for (const v of strings(a.partSerials)) add('partSerial', v);
    for (const v of strings(a.firmwareDigests)) add('sha256', v);
    for (const v of strings(a.udis)) {
      try {
        add('udi', normaliseDeviceUdi(v));
      } catch {
        // not a device UDI: filed under its subjects only
      }
    }
  }
  if (statement.predicateType === ADVISORY_URI) {
    for (const q of advisoryComponents(p)) add('vuln-purl', q.package);
  }
  if (SBOM_TYPES.includes(statement.predicateType)) {
    for (const c of sbomComponents(statement)) add('purl', c.package);
  }
  if (statement.predicateType === ASSEMBLY_URI) {
    for (const f of Array.isArray(p.firmware) ? (p.firmware as Array<{ digest?: { sha256?: unknown } }>) : []) {
      if (typeof f?.digest?.sha256 === 'string') add('fitted', f.digest.sha256);
    }
  }
  if (statement.predicateType === UPDATE_URI) {
    const to = (p.to as { digest?: { sha256?: unknown } } | undefined)?.digest?.sha256;
    if (typeof to === 'string') add('fitted', to);
  }
  if (statement.predicateType === VEX_URI) {
    for (const st of Array.isArray(p.statements) ? (p.statements as Array<{ vulnerability?: { name?: unknown; aliases?: unknown } }>) : []) {
      const v = st?.vulnerability;
      for (const id of [v?.name, ...(Array.isArray(v?.aliases) ? v.aliases : [])]) if (typeof id === 'string') add('vex', id);
    }
  }
  if (statement.predicateType === PARTICIPANT_URI) {
    keys.add(REGISTRY_KEY);
    if (typeof p.id === 'string') add('participant', p.id);
    for (const pem of strings(p.publicKeys)) {
      try {
        add('key', keyIdOfPem(pem));
      } catch {
        // not a key: ingestion refuses such registrations; nothing to file it under
      }
    }
    // A certificate identity stands where a key stands: filed under its identity ID.
    for (const i of Array.isArray(p.identities) ? (p.identities as Array<Record<string, unknown>>) : []) {
      if (typeof i?.trustRoot === 'string' && typeof i.subject === 'string' && (i.issuer === undefined || typeof i.issuer === 'string')) {
        add('key', identityId({ trustRoot: i.trustRoot, subject: i.subject, ...(typeof i.issuer === 'string' && { issuer: i.issuer }) }));
      }
    }
  }
  if (statement.predicateType === TRUST_ROOT_URI) {
    keys.add(REGISTRY_KEY);
    if (typeof p.name === 'string') add('participant', `trust-root:${p.name}`);
  }
  if (statement.predicateType === REVOCATION_URI) {
    keys.add(REGISTRY_KEY);
    if (typeof p.participantId === 'string') add('participant', p.participantId);
    if (typeof p.keyId === 'string') add('key', p.keyId);
    if (typeof p.identityId === 'string') add('key', p.identityId);
    if (typeof p.trustRoot === 'string') add('participant', `trust-root:${p.trustRoot}`);
  }
  if (statement.predicateType === ADMIN_KEY_URI) {
    keys.add(REGISTRY_KEY);
    add('participant', 'admin');
    if (typeof p.publicKey === 'string') {
      try {
        add('key', keyIdOfPem(p.publicKey));
      } catch {
        // not a key: ingestion refuses such hand-overs
      }
    }
  }
  return [...keys].sort();
}

/**
 * The keys a device's verdict depends on, whose complete lists an evidence package must carry:
 * the device, each part serial, lot and firmware image its assembly record lists, the whole
 * registry, and the participant and key of every signer. Computed by the ledger when it builds
 * a package and by the verifier from what it verified, so a package cannot choose its own.
 */
export function verdictKeys(graph: DeviceGraph, signers: Iterable<{ readonly keyId: string; readonly participant?: string | null }>): string[] {
  const keys = new Set<string>([lookupKey('udi', graph.udi), REGISTRY_KEY]);
  for (const a of graph.assemblies) for (const k of assemblyKeys(a.statement)) keys.add(k);
  firmwareKeysInto(keys, graph.firmware, graph.available);
  return withSigners(keys, signers);
}

/**
 * The keys a firmware image's verdict depends on (the update gate): the image, the packages its
 * SBOMs list (for vulnerability advisories), the VEX documents on those vulnerabilities, the
 * images those documents say fix them, the registry and every signer.
 */
export function firmwareVerdictKeys(graph: FirmwareGraph, signers: Iterable<{ readonly keyId: string; readonly participant?: string | null }>): string[] {
  const keys = new Set<string>([REGISTRY_KEY]);
  firmwareKeysInto(keys, [graph.firmware], graph.available);
  return withSigners(keys, signers);
}

/**
 * For each image: its own list, the vuln-purl lists of the packages its SBOMs name, and the vex
 * lists of the vulnerabilities that touch it; for each image that fixes one, its own list.
 */
function firmwareKeysInto(keys: Set<string>, firmware: readonly FirmwareNode[], available: readonly FirmwareNode[]): void {
  for (const f of [...firmware, ...available]) keys.add(lookupKey('sha256', f.sha256));
  for (const f of firmware) {
    for (const n of f.sboms) for (const c of componentsOf(n)) keys.add(lookupKey('vuln-purl', c.package));
    for (const n of f.vulnerabilities) for (const id of vulnerabilityIds(n)) keys.add(lookupKey('vex', id));
  }
}

function withSigners(keys: Set<string>, signers: Iterable<{ readonly keyId: string; readonly participant?: string | null }>): string[] {
  for (const s of signers) {
    keys.add(lookupKey('key', s.keyId));
    if (s.participant) keys.add(lookupKey('participant', s.participant));
  }
  return [...keys].sort();
}

/** What an assembly record lists: the keys of its parts, lots and firmware images. */
export function assemblyKeys(statement: Statement): string[] {
  const p = (statement.predicate ?? {}) as { components?: unknown; firmware?: unknown };
  const out: string[] = [];
  for (const c of Array.isArray(p.components) ? (p.components as Array<Record<string, unknown>>) : []) {
    if (typeof c?.partSerial === 'string') out.push(lookupKey('partSerial', c.partSerial));
    if (typeof c?.lot === 'string') out.push(lookupKey('lot', c.lot));
  }
  for (const f of Array.isArray(p.firmware) ? (p.firmware as Array<{ digest?: { sha256?: unknown } }>) : []) {
    if (typeof f?.digest?.sha256 === 'string') out.push(lookupKey('sha256', f.digest.sha256));
  }
  return out;
}
