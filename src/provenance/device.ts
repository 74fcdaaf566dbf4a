/**
 * Online provenance: gathers a device's attestations from the log, evaluates a policy against
 * them, builds evidence packages, and answers "which devices contain X".
 */
import { PedigreeError } from '../errors.js';
import type { AttestationRecord, AttestationService, IndexRow } from '../attest/service.js';
import { custodyChain } from '../trust/authority.js';
import { resolvePredicateType } from '../attest/predicates.js';
import type { Statement } from '../attest/statement.js';
import type { Ledger } from '../ledger/ledger.js';
import { checkModelGtin, normaliseDeviceUdi, productOfDeviceKey } from '../udi/udi.js';
import { buildFirmwareGraph, buildGraph, componentsOf, deviceGraph, type AttNode, type DeviceGraph } from './graph.js';
import { evaluate, evaluateFirmware, revokedAt, type Evaluation, type Policy, type SignerInfo } from './policy.js';
import { componentQuery, matchesComponent, parsePurl, type ComponentQuery } from '../sbom/sbom.js';
import { shippedReleasePolicy } from './release-policy.js';
import { bySignedOrder } from '../attest/order.js';
import type { IndexView } from '../ledger/ledger.js';
import { declareAdministrator } from './declaration.js';
import { EVIDENCE_MEDIA_TYPE, signEvidence, type EvidencePackage } from './evidence.js';
import type { NoteSigner } from '../log/index.js';
import { TrustRegistry } from '../trust/registry.js';
import { REGISTRY_KEY, firmwareVerdictKeys, lookupKey, verdictKeys } from '../vindex/keys.js';
import { lookupToJson, type Lookup } from '../vindex/map.js';

/**
 * Bounds the work one device query can cause: the entries filed under the device and under the
 * parts, lots and firmware images its assembly records list (the verifiable index's lists, all
 * of which an evidence package must carry). Strangers cannot add entries at all, a resubmission
 * is the entry already there, and each participant may make at most MAX_PER_SUBJECT statements
 * about one subject, so what counts is what registered, accountable participants signed.
 */
export const MAX_DEVICE_ENTRIES = 20_000;
/** Index rows one search (affected devices) may read. */
export const MAX_DEVICE_SCAN = 1_000_000;
const PAGE = 1024;
const ASSEMBLY_URI = resolvePredicateType('device-assembly').uri;
const VEX_URI = resolvePredicateType('openvex').uri;

/** What the policy and the graph need of the trust registry at one checkpoint. */
export interface RegistryView {
  readonly signer: (keyId: string) => SignerInfo | undefined;
  /** The participant registered as the manufacturer of a product (GTIN-14), if any. */
  readonly manufacturerOf: (product: string) => string | undefined;
}

export class ProvenanceError extends PedigreeError<'DEVICE_TOO_LARGE' | 'INVALID_ARGUMENT' | 'WITNESSES_UNAVAILABLE'> {
  override readonly name = 'ProvenanceError';
}

export interface InstalledDevice {
  readonly udi: string;
  readonly assembly: number;
  readonly installations: AttNode[];
  readonly custody: AttNode[];
  /** For firmware and component questions: the matching images the device runs now, and the matching components in each. */
  readonly firmware?: Array<{ sha256: string; name: string; version?: string; components: string[] }>;
}

/** What `collect` read from one committed state of the log and its index. */
export interface Collected {
  readonly udi: string;
  /** The entries the lists name, ascending by log index (registry entries aside). */
  readonly nodes: AttNode[];
  readonly size: number;
  readonly checkpoint: string;
  /** The complete list and proof for every key the verdict depends on, sorted by key. */
  readonly lookups: Lookup[];
  readonly registryIndexes: number[];
  readonly signer: (keyId: string) => SignerInfo | undefined;
  /** The participant registered as the manufacturer of a product (GTIN-14), if any. */
  readonly manufacturerOf: (product: string) => string | undefined;
}

/** What the device service needs of witness cosigning (witness/cosigning.ts implements it). */
export interface Witnessing {
  /** The latest checkpoint the quorum cosigned, if any. */
  readonly latest: string | undefined;
  /** The cosigned checkpoint of that size; undefined when it was passed over or not cosigned. */
  cosignedAt(size: number): Promise<string | undefined>;
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
        ...(record.signedAt !== undefined && { signedAt: record.signedAt }),
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
   * Everything a device's verdict rests on, read from one committed state of the log and its
   * verifiable index: the complete lists for the keys the verdict depends on (vindex/keys.ts
   * `verdictKeys`) with their proofs, the entries they list, and the registry.
   */
  async collect(udiInput: string): Promise<Collected> {
    const udi = normaliseDeviceUdi(udiInput);
    return this.collectFor(`device ${udi}`, lookupKey('udi', udi), udi, (nodes, reg) => deviceGraph(udi, nodes, reg), verdictKeys);
  }

  /** The same for one firmware image (the update gate): keyed by its digest. */
  async collectFirmware(sha256: string, model: string): Promise<Collected> {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ProvenanceError('INVALID_ARGUMENT', 'a firmware digest is 64 lowercase hex digits (SHA-256 of the image)');
    return this.collectFor(`firmware ${sha256.slice(0, 12)}…`, lookupKey('sha256', sha256), sha256, (nodes, reg) => buildFirmwareGraph(sha256, nodes, { manufacturer: reg.manufacturerOf(model) }), firmwareVerdictKeys);
  }

  /**
   * Reads lists until the keys the verdict depends on are all read: what the device (or image)
   * is filed under names its parts and firmware, their SBOMs name packages whose vulnerability
   * advisories name VEX documents, and those name the images that fix them. Each round reads
   * only keys derived from entries already read, so it ends (at most a handful of rounds).
   */
  private async collectFor<G>(what: string, first: string, subject: string, graphOf: (nodes: AttNode[], reg: RegistryView) => G, keysOf: (g: G, signers: Array<{ keyId: string; participant: string | null }>) => string[]): Promise<Collected> {
    return this.ledger.readIndex(async (view) => {
      const cache = new Map<number, AttNode>();
      const have = new Map<string, Lookup>();
      const entries = new Set<number>();
      const read = async (keys: readonly string[]) => {
        for (const l of await view.lookup(keys)) {
          have.set(l.key, l);
          // Registry lists (registry, participant:, key:) hold registry entries, read as the registry.
          if (l.key !== REGISTRY_KEY && !l.key.startsWith('participant:') && !l.key.startsWith('key:')) for (const i of l.indexes) entries.add(i);
        }
        const n = new Set([...have.values()].flatMap((l) => l.indexes)).size;
        if (n > this.maxEntries) throw new ProvenanceError('DEVICE_TOO_LARGE', `${what} involves more than ${this.maxEntries} entries`);
      };
      await read([first, REGISTRY_KEY]);
      const reg = await this.registryAt(have.get(REGISTRY_KEY)!.indexes);
      let nodes: AttNode[] = [];
      let required: string[] = [];
      for (let round = 0; ; round++) {
        nodes = (await this.nodes(entries, cache)).sort((a, b) => a.logIndex - b.logIndex);
        const signers = [...new Set(nodes.map((n) => n.keyId))].map((keyId) => ({ keyId, participant: reg.signer(keyId)?.participant ?? null }));
        required = keysOf(graphOf(nodes, reg), signers);
        const next = required.filter((k) => !have.has(k));
        if (next.length === 0) break;
        if (round >= 8) throw new ProvenanceError('DEVICE_TOO_LARGE', `${what}: its evidence did not settle after ${round} rounds of index reads`);
        await read(next);
      }
      return { udi: subject, nodes, size: view.size, checkpoint: view.checkpoint, lookups: required.map((k) => have.get(k)!), registryIndexes: have.get(REGISTRY_KEY)!.indexes, signer: reg.signer, manufacturerOf: reg.manufacturerOf };
    });
  }

  /** Entries naming `value` as `kind` and of predicate type `type`, below `below`. */
  private async ofTypeAbout(kind: string, value: string, type: string, below: number, cache: Map<number, AttNode>): Promise<AttNode[]> {
    const rows = await this.described(await this.rows(kind, value, below, { scanned: 0 }));
    return this.nodes(rows.filter((r) => r.predicateType === type).map((r) => r.logIndex), cache);
  }

  async graph(udi: string): Promise<DeviceGraph> {
    const c = await this.collect(udi);
    return deviceGraph(c.udi, c.nodes, c);
  }

  /**
   * Evaluates a policy for the device as of the current checkpoint, with the trust registry as
   * of that checkpoint: exactly what an offline verifier of an evidence package derives.
   */
  async verify(udi: string, policy: Policy, now = Math.floor(this.clock() / 1000)): Promise<{ graph: DeviceGraph; evaluation: Evaluation }> {
    const c = await this.collect(udi);
    const graph = deviceGraph(c.udi, c.nodes, c);
    return { graph, evaluation: evaluate(graph, policy, { now, signer: c.signer }) };
  }

  /** The last registry rebuilt, keyed by the registry entries it was built from. */
  private registryCache: { key: string; registry: TrustRegistry } | undefined;

  /** The trust registry rebuilt from these registry entries (the complete `registry` list). */
  private async registryAt(indexes: readonly number[]): Promise<RegistryView> {
    // Registry entries only accumulate, so their count and last index identify the set.
    const key = `${indexes.length}:${indexes[indexes.length - 1] ?? -1}`;
    if (this.registryCache?.key !== key) {
      const registry = new TrustRegistry(this.adminPublicKeyPem);
      for (const i of indexes) {
        const record = await this.attestations.record(i);
        if (!record) throw new ProvenanceError('DEVICE_TOO_LARGE', `registry entry ${i} is missing`);
        registry.apply(await this.attestations.statement(record), i, record.integratedTime);
      }
      this.registryCache = { key, registry };
    }
    const registry = this.registryCache.registry;
    return { signer: (keyId) => registry.signerInfo(keyId), manufacturerOf: (product) => registry.manufacturerOf(product) };
  }

  /**
   * An evidence package for the device: every bundle its verdict rests on, proved against the
   * current checkpoint, and the verdict as an offline verifier will re-derive it (with the
   * registry as of that checkpoint). `fromSize` adds a consistency proof from a checkpoint the
   * client already trusts.
   */
  /**
   * Witnesses, when configured (witness/cosigning.ts): then the ledger serves, proves lookups
   * against and builds evidence on only checkpoints the witness quorum cosigned.
   */
  witnessing?: Witnessing;

  /** The checkpoint the ledger serves: the latest, or with witnesses the latest they cosigned (none yet: undefined). */
  servedCheckpoint(): string | undefined {
    return this.witnessing ? this.witnessing.latest : this.ledger.checkpoint;
  }

  /**
   * The checkpoint to prove a committed state of `size` against: its note, or with witnesses its
   * cosigned note. WITNESSES_UNAVAILABLE when the witnesses have not cosigned that size.
   */
  async provedCheckpoint(size: number, note: string): Promise<string> {
    if (!this.witnessing) return note;
    const cosigned = await this.witnessing.cosignedAt(size);
    if (cosigned === undefined) throw new ProvenanceError('WITNESSES_UNAVAILABLE', `the ledger's witnesses have not cosigned its checkpoint of size ${size}; it serves nothing they have not seen (try again shortly)`);
    return cosigned;
  }

  async evidence(udiInput: string, policy: Policy, fromSize?: number): Promise<EvidencePackage> {
    return this.issue(() => this.collect(udiInput), fromSize, (c, now) => {
      const evaluation = evaluate(deviceGraph(c.udi, c.nodes, c), policy, { now, signer: c.signer });
      return { subject: { udi: c.udi }, policy, evaluation };
    });
  }

  /**
   * An evidence package for one firmware image and the device model it is to be flashed onto
   * (the update gate); the same package, with `firmware` in place of `udi`.
   */
  async firmwareEvidence(sha256: string, model: string, policy: Policy, fromSize?: number): Promise<EvidencePackage> {
    checkModelGtin(model);
    return this.issue(() => this.collectFirmware(sha256, model), fromSize, (c, now) => {
      const evaluation = evaluateFirmware(buildFirmwareGraph(sha256, c.nodes, { manufacturer: c.manufacturerOf(model) }), model, policy, { now, signer: c.signer, manufacturer: c.manufacturerOf(model) });
      return { subject: { firmware: { sha256, model } }, policy, evaluation };
    });
  }

  /** Builds, proves and signs a package from one collected state. */
  private async issue(
    collect: () => Promise<Collected>,
    fromSize: number | undefined,
    judge: (c: Collected, now: number) => { subject: { udi: string } | { firmware: { sha256: string; model: string } }; policy: Policy; evaluation: Evaluation },
  ): Promise<EvidencePackage> {
    let c = await collect();
    let checkpoint: string;
    // Built at the latest size; if cosigning passed that size over (the log moved on), build again.
    for (let attempt = 0; ; attempt++) {
      try {
        checkpoint = await this.provedCheckpoint(c.size, c.checkpoint);
        break;
      } catch (e) {
        const again = attempt < 2 ? await collect() : c;
        if (again.size === c.size) throw e;
        c = again;
      }
    }
    const { size } = c;
    if (fromSize !== undefined && (!Number.isSafeInteger(fromSize) || fromSize < 0 || fromSize > size)) {
      throw new ProvenanceError('INVALID_ARGUMENT', `fromSize must be 0..${size}`);
    }
    const now = Math.floor(this.clock() / 1000);
    const { subject, policy, evaluation } = judge(c, now);
    // Every entry the lists name: the verifier refuses a package that leaves one out.
    const indexes = [...new Set([...c.registryIndexes, ...c.nodes.map((n) => n.logIndex)])].sort((a, b) => a - b);
    const bundles = await Promise.all(
      indexes.map(async (i) => this.attestations.completedBundleAt((await this.attestations.record(i))!, size, checkpoint)),
    );
    const pkg: EvidencePackage = {
      mediaType: EVIDENCE_MEDIA_TYPE,
      ...subject,
      generatedAt: new Date(now * 1000).toISOString(),
      evaluatedAt: now,
      policy,
      checkpoint,
      administrator: { declaration: this.declaration },
      bundles,
      lookups: c.lookups.map(lookupToJson),
      verdict: { verdict: evaluation.verdict, findings: evaluation.findings },
    };
    if (fromSize !== undefined && fromSize > 0) {
      const proof = await this.ledger.consistencyProof(fromSize, size);
      pkg.consistency = { fromSize, toSize: size, hashes: proof.hashes.map((h) => Buffer.from(h).toString('base64')) };
    }
    return signEvidence(pkg, this.logSigner);
  }

  /**
   * Every device whose latest assembly contains the lot or part serial, or that runs the firmware
   * image now, or firmware whose SBOM lists the component (a purl with a version, or a package
   * and a vers range), with where it is installed.
   */
  async affectedDevices(target: { lot?: string; partSerial?: string; firmwareDigest?: string; purl?: string; range?: string }): Promise<InstalledDevice[]> {
    const { range, ...rest } = target;
    const given = Object.entries(rest).filter(([, v]) => v !== undefined && v !== null);
    if (given.length !== 1) throw new ProvenanceError('INVALID_ARGUMENT', 'give exactly one of a lot (--lot), a part serial (--part-serial), a firmware digest (--firmware-digest) or a package URL (--purl, with --range for a version range)');
    const [key, value] = given[0] as [string, string];
    if (range != null && key !== 'purl') throw new ProvenanceError('INVALID_ARGUMENT', 'a version range (--range) goes with a package URL (--purl)');
    if (key === 'purl') return this.runningComponent(value, range ?? undefined);
    if (key === 'firmwareDigest') {
      if (!/^[0-9a-f]{64}$/.test(value)) throw new ProvenanceError('INVALID_ARGUMENT', 'firmwareDigest must be 64 lowercase hex digits');
      return this.ledger.readIndex(async (view) => {
        const budget = { read: 0 };
        const reg = await this.registryAt((await view.lookup([REGISTRY_KEY]))[0]!.indexes);
        return this.runningFirmware(view, new Map([[value, { components: [] }]]), reg, budget);
      });
    }
    const kind = key;
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

  /**
   * Devices running firmware whose SBOM lists a component the query names, from the verifiable
   * index: the package's SBOM list, each image's own list (its release and VEX), and the devices
   * fitted with it. An SBOM counts when a registered, unrevoked manufacturer or builder signed
   * it; an image is left out when the manufacturer that released it states, in its latest VEX,
   * `not_affected` for every vulnerability it names in that component.
   */
  private async runningComponent(purl: string, range: string | undefined): Promise<InstalledDevice[]> {
    let q: ComponentQuery;
    try {
      q = componentQuery(purl, range);
    } catch (e) {
      throw new ProvenanceError('INVALID_ARGUMENT', (e as Error).message);
    }
    return this.ledger.readIndex(async (view) => {
      const budget = { read: 0 };
      const [sbomList, registry] = (await view.lookup([lookupKey('purl', q.package), REGISTRY_KEY])) as [Lookup, Lookup];
      const reg = await this.registryAt(registry.indexes);
      const cache = new Map<number, AttNode>();
      const counted = (n: AttNode, roles: readonly string[]) => {
        const info = reg.signer(n.keyId);
        return info !== undefined && info.roles.some((r) => roles.includes(r)) && !info.revocations.some((x) => revokedAt(x, n)) ? info : undefined;
      };
      this.spend(budget, sbomList.indexes.length);
      const images = new Map<string, { components: string[] }>();
      for (const n of await this.nodes(sbomList.indexes, cache)) {
        if (!counted(n, ['manufacturer', 'builder'])) continue;
        const hits = componentsOf(n).filter((c) => matchesComponent(q, c));
        if (hits.length === 0) continue;
        for (const sub of n.statement.subject) {
          const d = sub.digest.sha256;
          if (d === undefined) continue;
          const e = images.get(d) ?? { components: [] };
          for (const h of hits) if (!e.components.includes(h.purl)) e.components.push(h.purl);
          images.set(d, e);
        }
      }
      // Each manufacturer's latest VEX on each image; which one counts is decided per device.
      const vex = new Map<string, Map<string, AttNode>>();
      for (const d of images.keys()) {
        const own = (await view.lookup([lookupKey('sha256', d)]))[0]!;
        this.spend(budget, own.indexes.length);
        const latest = new Map<string, AttNode>();
        for (const n of (await this.nodes(own.indexes, cache)).filter((x) => x.predicateType === VEX_URI).sort(bySignedOrder)) {
          const info = counted(n, ['manufacturer']);
          if (info) latest.set(info.participant, n);
        }
        vex.set(d, latest);
      }
      // An image is left out for a device when the device's manufacturer states, in its latest
      // VEX on the image, not_affected for every statement it makes about this package.
      const ruledOut = (d: string, manufacturer: string | undefined) => {
        const n = manufacturer === undefined ? undefined : vex.get(d)?.get(manufacturer);
        const about = (((n?.statement.predicate as { statements?: unknown } | undefined)?.statements as Array<Record<string, any>> | undefined) ?? []).filter((st) =>
          (Array.isArray(st?.subcomponents) ? st.subcomponents : []).some((c: { '@id'?: unknown }) => {
            try {
              return parsePurl(String(c?.['@id'])).package === q.package;
            } catch {
              return false;
            }
          }),
        );
        return about.length > 0 && about.every((st) => st.status === 'not_affected');
      };
      return this.runningFirmware(view, images, reg, budget, ruledOut);
    });
  }

  private spend(budget: { read: number }, n: number): void {
    budget.read += n;
    if (budget.read > MAX_DEVICE_SCAN) throw new ProvenanceError('DEVICE_TOO_LARGE', `the answer involves more than ${MAX_DEVICE_SCAN} index entries; ask about a narrower component or range`);
  }

  /**
   * Devices that run one of `images` now: those fitted with it (by assembly or update, from the
   * `fitted:` lists), judged by the one policy code that decides what a device runs.
   */
  private async runningFirmware(
    view: IndexView,
    images: Map<string, { components: string[] }>,
    reg: RegistryView,
    budget: { read: number },
    ruledOut: (image: string, manufacturer: string | undefined) => boolean = () => false,
  ): Promise<InstalledDevice[]> {
    const cache = new Map<number, AttNode>();
    const fitted = await view.lookup([...images.keys()].sort().map((d) => lookupKey('fitted', d)));
    const udis = new Set<string>();
    for (const l of fitted) {
      this.spend(budget, l.indexes.length);
      for (const n of await this.nodes(l.indexes, cache)) for (const s of n.statement.subject) if (s.digest.udi !== undefined) udis.add(s.digest.udi);
    }
    const out: InstalledDevice[] = [];
    const policy = shippedReleasePolicy();
    for (const udi of [...udis].sort()) {
      const own = (await view.lookup([lookupKey('udi', udi)]))[0]!;
      this.spend(budget, own.indexes.length);
      const graph = buildGraph(udi, await this.nodes(own.indexes, cache));
      if (!graph.assembly) continue;
      const running = evaluate(graph, policy, { now: Math.floor(this.clock() / 1000), signer: reg.signer }).firmware?.running ?? [];
      const model = productOfDeviceKey(udi);
      const manufacturer = model === undefined ? undefined : reg.manufacturerOf(model);
      const hit = running.filter((d) => images.has(d) && !ruledOut(d, manufacturer));
      if (hit.length === 0) continue;
      // Where it is: only custody and installation records from whoever holds the device count.
      const chain = custodyChain(graph.assembly.signer ?? undefined, graph.custody);
      const installations = graph.installations.filter((n) => chain.holder !== undefined && n.signer === chain.holder);
      const firmware = hit.map((d) => {
        const f = graph.firmware.find((x) => x.sha256 === d)!;
        return { sha256: d, name: f.name, ...(f.version !== undefined && { version: f.version }), components: images.get(d)!.components };
      });
      out.push({ udi, assembly: graph.assembly.logIndex, installations, custody: chain.counted, firmware });
    }
    return out;
  }
}

