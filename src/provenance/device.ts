/**
 * Online provenance: gathers a device's attestations from the log, evaluates a policy against
 * them, builds evidence packages, and answers "which devices contain X".
 */
import type { AttestationRecord, AttestationService, IndexRow } from '../attest/service.js';
import { bySignedOrder } from '../attest/order.js';
import { custodyChain, namespaceOf } from '../trust/authority.js';
import { PARTICIPANT_URI, REVOCATION_URI, resolvePredicateType } from '../attest/predicates.js';
import type { Statement } from '../attest/statement.js';
import type { Ledger } from '../ledger/ledger.js';
import { normaliseDeviceUdi } from '../udi/udi.js';
import { buildGraph, graphEntries, type AttNode, type DeviceGraph } from './graph.js';
import { evaluate, type Evaluation, type Policy, type SignerInfo } from './policy.js';
import { declareAdministrator } from './declaration.js';
import { EVIDENCE_MEDIA_TYPE, signEvidence, type EvidencePackage } from './evidence.js';
import type { NoteSigner } from '../log/index.js';
import { TrustRegistry } from '../trust/registry.js';

/**
 * Bounds the work one device query can cause. Only entries a verdict can use count toward
 * `MAX_DEVICE_ENTRIES`: an advisory from a signer without authority over what it touches
 * (trust/authority.ts) cannot change a verdict, so at most `MAX_UNAUTHORISED_SHOWN` of those
 * are gathered (to be shown) and the rest are passed over without being read. Strangers cannot
 * add entries at all, and a resubmission is the entry already there, so what remains is what
 * registered, accountable participants signed within their authority.
 */
export const MAX_DEVICE_ENTRIES = 20_000;
export const MAX_UNAUTHORISED_SHOWN = 50;
/** Index rows one device query may read, usable or not. */
export const MAX_DEVICE_SCAN = 1_000_000;
const PAGE = 1024;
const ADVISORY_URI = resolvePredicateType('advisory').uri;
const ASSEMBLY_URI = resolvePredicateType('device-assembly').uri;

export class ProvenanceError extends Error {
  constructor(
    readonly code: 'DEVICE_TOO_LARGE' | 'INVALID_ARGUMENT',
    message: string,
  ) {
    super(message);
    this.name = 'ProvenanceError';
  }
}

export interface InstalledDevice {
  readonly udi: string;
  readonly assembly: number;
  readonly installations: AttNode[];
  readonly custody: AttNode[];
}

export interface DeviceServiceOptions {
  readonly attestations: AttestationService;
  readonly ledger: Ledger;
  /** The log's checkpoint signer; it also signs evidence packages. */
  readonly logSigner: NoteSigner;
  readonly adminPublicKeyPem: string;
  readonly clock?: () => number;
  /** Overrides MAX_DEVICE_ENTRIES (tests). */
  readonly maxDeviceEntries?: number;
}

export class DeviceService {
  readonly attestations: AttestationService;
  private readonly ledger: Ledger;
  private readonly logSigner: NoteSigner;
  private readonly adminPublicKeyPem: string;
  private readonly clock: () => number;
  private readonly maxEntries: number;
  /** The log's signed statement of who the administrator is (see declaration.ts). */
  readonly declaration: string;

  constructor(options: DeviceServiceOptions) {
    this.attestations = options.attestations;
    this.ledger = options.ledger;
    this.logSigner = options.logSigner;
    this.adminPublicKeyPem = options.adminPublicKeyPem;
    this.clock = options.clock ?? Date.now;
    this.maxEntries = options.maxDeviceEntries ?? MAX_DEVICE_ENTRIES;
    this.declaration = declareAdministrator(this.logSigner, this.adminPublicKeyPem);
  }

  private async node(record: AttestationRecord, cache: Map<number, AttNode>): Promise<AttNode> {
    let n = cache.get(record.logIndex);
    if (!n) {
      const statement = (await this.attestations.statement(record)) as Statement;
      n = {
        logIndex: record.logIndex,
        integratedTime: record.integratedTime,
        keyId: record.keyId,
        signer: record.signer,
        predicateType: record.predicateType,
        statement,
      };
      cache.set(record.logIndex, n);
    }
    return n;
  }

  /** Index rows naming `value` as `kind`, below tree size `below`, counted against the scan bound. */
  private async rows(kind: string, value: string, below: number, budget: { scanned: number }): Promise<IndexRow[]> {
    const out: IndexRow[] = [];
    let after = -1;
    for (;;) {
      const page = await this.attestations.indexRows(kind, value, after, PAGE);
      budget.scanned += page.length;
      if (budget.scanned > MAX_DEVICE_SCAN) throw new ProvenanceError('DEVICE_TOO_LARGE', `more than ${MAX_DEVICE_SCAN} index entries refer to this device and its parts`);
      for (const r of page) if (r.logIndex < below) out.push(r);
      if (page.length < PAGE) return out;
      after = page[page.length - 1]!.logIndex;
    }
  }

  /** Fills in the signer and type of rows written before the index carried them. */
  private async described(rows: IndexRow[]): Promise<Array<Required<IndexRow>>> {
    return Promise.all(
      rows.map(async (r) => {
        if (r.signer !== undefined && r.predicateType !== undefined) return r as Required<IndexRow>;
        const rec = await this.attestations.record(r.logIndex);
        return { logIndex: r.logIndex, signer: rec?.signer ?? '', predicateType: rec?.predicateType ?? '' };
      }),
    );
  }

  private async nodes(indexes: Iterable<number>, cache: Map<number, AttNode>): Promise<AttNode[]> {
    const records = await Promise.all([...indexes].map((i) => this.attestations.record(i)));
    return Promise.all(records.filter((r): r is AttestationRecord => r !== undefined).map((r) => this.node(r, cache)));
  }

  /**
   * Every attestation the device's provenance graph may use, up to tree size `below`: entries
   * about the device, about each part serial, lot and firmware digest its assembly records
   * name, and the advisories touching any of them that a verdict can count (see
   * MAX_DEVICE_ENTRIES), plus a few that it cannot, to show.
   */
  async collect(udiInput: string, below = this.ledger.size): Promise<{ udi: string; nodes: AttNode[] }> {
    const udi = normaliseDeviceUdi(udiInput);
    const cache = new Map<number, AttNode>();
    const budget = { scanned: 0 };
    const usable = new Set<number>();
    const unauthorised = new Set<number>();
    const participants = this.attestations.registry.list();
    const regulators = new Set(participants.filter((p) => p.roles.includes('regulator')).map((p) => p.id));
    const thirdParties = new Set(participants.filter((p) => p.roles.includes('builder') || p.roles.includes('qa')).map((p) => p.id));
    const consider = (rows: ReadonlyArray<Required<IndexRow>>, authorised: (signer: string) => boolean) => {
      for (const r of rows) {
        if (r.predicateType !== ADVISORY_URI || regulators.has(r.signer) || authorised(r.signer)) usable.add(r.logIndex);
        else unauthorised.add(r.logIndex);
      }
      if (usable.size > this.maxEntries) throw new ProvenanceError('DEVICE_TOO_LARGE', `device ${udi} involves more than ${this.maxEntries} entries`);
    };

    // The device's own entries first: its assembly records say who made it and what is in it.
    const deviceRows = await this.described(await this.rows('udi', udi, below, budget));
    consider(deviceRows.filter((r) => r.predicateType !== ADVISORY_URI), () => true);
    const assemblies = await this.nodes(deviceRows.filter((r) => r.predicateType === ASSEMBLY_URI).map((r) => r.logIndex), cache);
    const manufacturer = [...assemblies].sort(bySignedOrder).at(-1)?.signer ?? undefined;
    consider(deviceRows.filter((r) => r.predicateType === ADVISORY_URI), (signer) => signer === manufacturer);

    const refs = new Set<string>();
    for (const n of assemblies) {
      const p = n.statement.predicate as { components?: Array<{ partSerial?: string; lot?: string }>; firmware?: Array<{ digest?: { sha256?: string } }> };
      for (const c of p.components ?? []) {
        if (c.partSerial) refs.add(`partSerial\u0000${c.partSerial}`);
        if (c.lot) refs.add(`lot\u0000${c.lot}`);
      }
      for (const f of p.firmware ?? []) if (f.digest?.sha256) refs.add(`sha256\u0000${f.digest.sha256}`);
    }
    for (const ref of refs) {
      const [kind, value] = ref.split('\u0000') as [string, string];
      // Other devices' assembly records name this part too; they are not this device's.
      const rows = (await this.described(await this.rows(kind, value, below, budget))).filter((r) => r.predicateType !== ASSEMBLY_URI);
      // Who may speak about this part besides the manufacturer and regulators: the supplier
      // that owns its namespace (authority.ts). A firmware image is described by its device's
      // manufacturer, builders and test labs only: nothing else about it can count, so it is
      // not gathered (an unrelated party cannot inflate the device's evidence).
      const owner = kind === 'sha256' ? undefined : namespaceOf(value);
      const describes = kind === 'sha256' ? rows.filter((r) => r.predicateType === ADVISORY_URI || r.signer === manufacturer || thirdParties.has(r.signer)) : rows;
      consider(describes, (signer) => signer === manufacturer || signer === owner);
    }
    const shown = [...unauthorised].filter((i) => !usable.has(i)).sort((a, b) => a - b).slice(0, MAX_UNAUTHORISED_SHOWN);
    const nodes = await this.nodes([...usable, ...shown], cache);
    return { udi, nodes: nodes.sort((a, b) => a.logIndex - b.logIndex) };
  }

  /** Entries naming `value` as `kind` and of predicate type `type`, below `below`. */
  private async ofTypeAbout(kind: string, value: string, type: string, below: number, cache: Map<number, AttNode>): Promise<AttNode[]> {
    const rows = await this.described(await this.rows(kind, value, below, { scanned: 0 }));
    return this.nodes(rows.filter((r) => r.predicateType === type).map((r) => r.logIndex), cache);
  }

  async graph(udi: string): Promise<DeviceGraph> {
    const c = await this.collect(udi);
    return buildGraph(c.udi, c.nodes);
  }

  /**
   * Evaluates a policy for the device as of the current checkpoint, with the trust registry as
   * of that checkpoint: exactly what an offline verifier of an evidence package derives.
   */
  async verify(udi: string, policy: Policy, now = Math.floor(this.clock() / 1000)): Promise<{ graph: DeviceGraph; evaluation: Evaluation }> {
    const size = this.ledger.size;
    const c = await this.collect(udi, size);
    const graph = buildGraph(c.udi, c.nodes);
    const { signer } = await this.registryAt(size);
    return { graph, evaluation: evaluate(graph, policy, { now, signer }) };
  }

  /** The last registry rebuilt, keyed by the registry entries it was built from. */
  private registryCache: { key: string; registry: TrustRegistry } | undefined;

  /** The trust registry rebuilt from the registry entries below `size`. */
  private async registryAt(size: number): Promise<{ indexes: number[]; signer: (keyId: string) => SignerInfo | undefined }> {
    const indexes = await this.registryEntries(size);
    // Registry entries only accumulate, so their count and last index identify the set.
    const key = `${indexes.length}:${indexes[indexes.length - 1] ?? -1}`;
    if (this.registryCache?.key === key) {
      const cached = this.registryCache.registry;
      return { indexes, signer: (keyId) => cached.signerInfo(keyId) };
    }
    const registry = new TrustRegistry(this.adminPublicKeyPem);
    for (const i of indexes) {
      const record = (await this.attestations.record(i))!;
      registry.apply(await this.attestations.statement(record), i, record.integratedTime);
    }
    this.registryCache = { key, registry };
    return { indexes, signer: (keyId) => registry.signerInfo(keyId) };
  }

  /** Log indexes of every participant registration and revocation below `below`. */
  async registryEntries(below = this.ledger.size): Promise<number[]> {
    const all = [...(await this.attestations.indexScan('ptype', PARTICIPANT_URI)), ...(await this.attestations.indexScan('ptype', REVOCATION_URI))];
    return all.filter((i) => i < below).sort((a, b) => a - b);
  }

  /**
   * An evidence package for the device: every bundle its verdict rests on, proved against the
   * current checkpoint, and the verdict as an offline verifier will re-derive it (with the
   * registry as of that checkpoint). `fromSize` adds a consistency proof from a checkpoint the
   * client already trusts.
   */
  async evidence(udiInput: string, policy: Policy, fromSize?: number): Promise<EvidencePackage> {
    const checkpoint = this.ledger.checkpoint;
    const size = this.ledger.size;
    if (fromSize !== undefined && (!Number.isSafeInteger(fromSize) || fromSize < 0 || fromSize > size)) {
      throw new ProvenanceError('INVALID_ARGUMENT', `fromSize must be 0..${size}`);
    }
    const { udi, nodes } = await this.collect(udiInput, size);
    const graph = buildGraph(udi, nodes);
    const used = new Set(graphEntries(graph));
    const { indexes: registryIndexes, signer } = await this.registryAt(size);
    const now = Math.floor(this.clock() / 1000);
    const evaluation = evaluate(graph, policy, { now, signer });
    const indexes = [...new Set([...registryIndexes, ...used])].sort((a, b) => a - b);
    const bundles = await Promise.all(
      indexes.map(async (i) => this.attestations.completedBundleAt((await this.attestations.record(i))!, size, checkpoint)),
    );
    const pkg: EvidencePackage = {
      mediaType: EVIDENCE_MEDIA_TYPE,
      udi,
      generatedAt: new Date(now * 1000).toISOString(),
      evaluatedAt: now,
      policy,
      checkpoint,
      administrator: { declaration: this.declaration },
      bundles,
      verdict: { verdict: evaluation.verdict, findings: evaluation.findings },
    };
    if (fromSize !== undefined && fromSize > 0) {
      const c = await this.ledger.consistencyProof(fromSize, size);
      pkg.consistency = { fromSize, toSize: size, hashes: c.hashes.map((h) => Buffer.from(h).toString('base64')) };
    }
    return signEvidence(pkg, this.logSigner);
  }

  /** Every device whose latest assembly contains the lot, part serial or firmware digest, with where it is installed. */
  async affectedDevices(target: { lot?: string; partSerial?: string; firmwareDigest?: string }): Promise<InstalledDevice[]> {
    const given = Object.entries(target).filter(([, v]) => v !== undefined && v !== null);
    if (given.length !== 1) throw new ProvenanceError('INVALID_ARGUMENT', 'give exactly one of a lot (--lot), a part serial (--part-serial) or a firmware digest (--firmware-digest)');
    const [key, value] = given[0] as [string, string];
    const kind = key === 'firmwareDigest' ? 'sha256' : key;
    if (kind !== 'sha256' && !/^[A-Za-z0-9._\-/]{1,64}:[A-Za-z0-9._\-/]{1,64}:[A-Za-z0-9._\-/]{1,64}$/.test(value)) {
      throw new ProvenanceError('INVALID_ARGUMENT', `a ${kind === 'lot' ? 'lot' : 'part serial'} is "<supplier>:<part>:<${kind === 'lot' ? 'lot' : 'serial'}>", e.g. valveco:VALVE-7:L78`);
    }
    if (kind === 'sha256' && !/^[0-9a-f]{64}$/.test(value)) throw new ProvenanceError('INVALID_ARGUMENT', 'firmwareDigest must be 64 lowercase hex digits');
    const cache = new Map<number, AttNode>();
    const below = this.ledger.size;
    const assemblies = await this.ofTypeAbout(kind, value, ASSEMBLY_URI, below, cache);
    const udis = new Set(assemblies.flatMap((n) => n.statement.subject.map((s) => s.digest.udi).filter((u): u is string => typeof u === 'string')));
    const out: InstalledDevice[] = [];
    const wanted = new Set([ASSEMBLY_URI, resolvePredicateType('installation').uri, resolvePredicateType('custody-transfer').uri]);
    for (const udi of [...udis].sort()) {
      const rows = await this.described(await this.rows('udi', udi, below, { scanned: 0 }));
      const about = await this.nodes(rows.filter((r) => wanted.has(r.predicateType)).map((r) => r.logIndex), cache);
      const graph = buildGraph(udi, about);
      // Only the device's latest assembly says what it contains now.
      if (!graph.assembly || !assemblies.some((a) => a.logIndex === graph.assembly!.logIndex)) continue;
      // Where it is: only custody and installation records from whoever holds the device count.
      const chain = custodyChain(graph.assembly.signer ?? undefined, graph.custody);
      const installations = graph.installations.filter((n) => chain.holder !== undefined && n.signer === chain.holder);
      out.push({ udi, assembly: graph.assembly.logIndex, installations, custody: chain.counted });
    }
    return out;
  }
}

