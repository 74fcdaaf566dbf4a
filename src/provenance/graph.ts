/**
 * The provenance graph of one device, built purely from a set of attestations: the assembly
 * record, each component's supplier attestations, each firmware image's build provenance, SBOM
 * and tests, the release decision, custody and installation records, and every advisory that
 * touches any of them.
 */
import { PREDICATE_TYPES } from '../attest/predicates.js';
import { bySignedOrder } from '../attest/order.js';
import { indexRefs, type Statement } from '../attest/statement.js';
import { advisoryComponents, byPackage, matching, sbomComponents, type PackageRef } from '../sbom/sbom.js';
import { productOfDeviceKey } from '../udi/udi.js';

export interface AttNode {
  readonly logIndex: number;
  readonly integratedTime: number;
  /** SHA-256 of the signing key (hex), the bundle's key hint. */
  readonly keyId: string;
  /** Participant id, or null when no registered participant has that key. */
  readonly signer: string | null;
  readonly predicateType: string;
  readonly statement: Statement;
  /** A certificate-signed entry's verified signing time (seconds), when earlier than its integration. */
  readonly signedAt?: number;
}

export interface ComponentNode {
  readonly componentType: string;
  readonly partNumber?: string;
  readonly supplier?: string;
  readonly partSerial?: string;
  readonly lot?: string;
  readonly attestations: AttNode[];
  readonly tests: AttNode[];
  readonly advisories: AttNode[];
}

export interface FirmwareNode {
  readonly name: string;
  readonly version?: string;
  readonly sha256: string;
  /** Where the device got it: its assembly record, or a firmware update (a firmware gate: neither). */
  readonly fitted?: 'assembly' | 'update';
  readonly images: AttNode[];
  readonly builds: AttNode[];
  /** CycloneDX and SPDX SBOMs of the image. */
  readonly sboms: AttNode[];
  readonly tests: AttNode[];
  /** Recalls and advisories naming the image (vulnerabilities aside). */
  readonly advisories: AttNode[];
  /** Vulnerability advisories naming a component one of its SBOMs lists, or the image itself. */
  readonly vulnerabilities: AttNode[];
  /** OpenVEX documents about the image. */
  readonly vex: AttNode[];
}

export interface DeviceGraph {
  readonly udi: string;
  /** The latest assembly record by signed time; the graph's structure comes from it. */
  readonly assembly: AttNode | null;
  readonly assemblies: AttNode[];
  readonly components: ComponentNode[];
  readonly firmware: FirmwareNode[];
  readonly releases: AttNode[];
  readonly custody: AttNode[];
  readonly installations: AttNode[];
  readonly tests: AttNode[];
  readonly advisories: AttNode[];
  /** Firmware updates recorded for the device, in signed order (the policy decides which count). */
  readonly updates: AttNode[];
  /** Images whose release fixes a vulnerability of the device's firmware (by their releaser's VEX). */
  readonly available: FirmwareNode[];
}

/** One firmware image on its own (the update gate): its evidence and the images that fix its vulnerabilities. */
export interface FirmwareGraph {
  readonly sha256: string;
  readonly firmware: FirmwareNode;
  readonly available: FirmwareNode[];
}

const URI = Object.fromEntries(PREDICATE_TYPES.map((p) => [p.name, p.uri])) as Record<string, string>;


type Refs = Map<string, Set<string>>;

function refsOf(list: ReadonlyArray<{ kind: string; value: string }>): Refs {
  const m: Refs = new Map();
  for (const r of list) (m.get(r.kind) ?? m.set(r.kind, new Set()).get(r.kind)!).add(r.value);
  return m;
}

/** Each node's subjects, and its subjects with what it refers to, by kind, made once per node. */
const aboutSets = new WeakMap<AttNode, { subjects: Refs; refs?: Refs }>();

function about(node: AttNode, kind: string, value: string, withRefs = false): boolean {
  let sets = aboutSets.get(node);
  if (!sets) {
    sets = { subjects: refsOf(node.statement.subject.flatMap((s) => Object.entries(s.digest).map(([k, v]) => ({ kind: k, value: v })))) };
    aboutSets.set(node, sets);
  }
  if (withRefs) sets.refs ??= refsOf(indexRefs(node.statement));
  return (withRefs ? sets.refs! : sets.subjects).get(kind)?.has(value) ?? false;
}

/** Nodes of one type, oldest first by signed time (order.ts), never by log position alone. */
function ofType(nodes: readonly AttNode[], name: string): AttNode[] {
  return nodes.filter((n) => n.predicateType === URI[name]).sort(bySignedOrder);
}

interface AssemblyPredicate {
  components?: Array<{ componentType: string; partNumber?: string; supplier?: string; partSerial?: string; lot?: string }>;
  firmware?: Array<{ name: string; version?: string; digest: { sha256: string } }>;
}

/**
 * Who may point at fixes: the participant registered as the manufacturer of the model (from the
 * registry), whose VEX `fixed` statements name the images that fix a vulnerability. Without it,
 * no image is offered as a fix.
 */
export interface GraphOptions {
  readonly manufacturer?: string | undefined;
}

/** A device's graph, with the model's manufacturer (from the registry) as the one who may point at fixes. */
export function deviceGraph(udi: string, nodes: readonly AttNode[], reg: { readonly manufacturerOf: (product: string) => string | undefined }): DeviceGraph {
  const model = productOfDeviceKey(udi);
  return buildGraph(udi, nodes, { manufacturer: model === undefined ? undefined : reg.manufacturerOf(model) });
}

/** At most this many images are offered as fixes, whatever the VEX documents name. */
export const MAX_AVAILABLE_FIXES = 16;

export function buildGraph(udi: string, nodes: readonly AttNode[], options: GraphOptions = {}): DeviceGraph {
  const advisories = ofType(nodes, 'advisory');
  const tests = ofType(nodes, 'test-result');
  const assemblies = ofType(nodes, 'device-assembly').filter((n) => about(n, 'udi', udi));
  const assembly = assemblies[assemblies.length - 1] ?? null;
  const a = (assembly?.statement.predicate ?? {}) as AssemblyPredicate;

  const components: ComponentNode[] = (a.components ?? []).map((c) => {
    const match = (n: AttNode, refs = false) => (c.partSerial !== undefined && about(n, 'partSerial', c.partSerial, refs)) || (c.lot !== undefined && about(n, 'lot', c.lot, refs));
    return {
      ...c,
      attestations: ofType(nodes, 'component').filter((n) => match(n)),
      tests: tests.filter((n) => match(n)),
      advisories: advisories.filter((n) => match(n, true)),
    };
  });

  const updates = ofType(nodes, 'firmware-update').filter((n) => about(n, 'udi', udi));
  const ctx = firmwareContext(nodes);
  const firmware: FirmwareNode[] = (a.firmware ?? []).map((f) => firmwareNode(ctx, f.digest.sha256, f.name, f.version, 'assembly'));
  for (const u of updates) {
    const p = u.statement.predicate as UpdatePredicate;
    const d = p.to?.digest?.sha256;
    if (typeof d === 'string' && !firmware.some((f) => f.sha256 === d)) firmware.push(firmwareNode(ctx, d, String(p.firmware ?? ''), p.to?.version, 'update'));
  }

  const forDevice = (name: string) => ofType(nodes, name).filter((n) => about(n, 'udi', udi));
  return {
    udi,
    assembly,
    assemblies,
    components,
    firmware,
    releases: forDevice('slsa-vsa'),
    custody: forDevice('custody-transfer'),
    installations: forDevice('installation'),
    tests: tests.filter((n) => about(n, 'udi', udi)),
    advisories: advisories.filter((n) => about(n, 'udi', udi, true)),
    updates,
    available: availableFixes(ctx, firmware, options.manufacturer),
  };
}

export interface UpdatePredicate {
  firmware?: string;
  from?: { version?: string; digest?: { sha256?: string } };
  to?: { version?: string; digest?: { sha256?: string } };
  updatedAt?: string;
}

/** The graph of one firmware image, for the update gate. */
export function buildFirmwareGraph(sha256: string, nodes: readonly AttNode[], options: GraphOptions = {}): FirmwareGraph {
  const ctx = firmwareContext(nodes);
  // Named as its model's manufacturer released it (another's release of it names nothing).
  const image = ofType(nodes, 'firmware').filter((n) => n.signer === options.manufacturer && about(n, 'sha256', sha256)).at(-1)?.statement.predicate as { name?: unknown; version?: unknown } | undefined;
  const firmware = firmwareNode(ctx, sha256, typeof image?.name === 'string' ? image.name : 'image', typeof image?.version === 'string' ? image.version : undefined);
  return { sha256, firmware, available: availableFixes(ctx, [firmware], options.manufacturer) };
}

/** Every node of each kind a firmware image can have, before they are matched to an image. */
interface FirmwareContext extends Pick<FirmwareNode, 'images' | 'builds' | 'sboms' | 'tests' | 'advisories' | 'vulnerabilities' | 'vex'> {
  readonly nodes: readonly AttNode[];
}

const isVulnerability = (n: AttNode) => (n.statement.predicate as { kind?: unknown }).kind === 'vulnerability';

function firmwareContext(nodes: readonly AttNode[]): FirmwareContext {
  const advisories = ofType(nodes, 'advisory');
  return {
    nodes,
    images: ofType(nodes, 'firmware'),
    builds: ofType(nodes, 'slsa-provenance'),
    sboms: [...ofType(nodes, 'cyclonedx'), ...ofType(nodes, 'spdx')].sort(bySignedOrder),
    tests: ofType(nodes, 'test-result'),
    advisories: advisories.filter((n) => !isVulnerability(n)),
    vulnerabilities: advisories.filter(isVulnerability),
    vex: ofType(nodes, 'openvex'),
  };
}

/** The components an SBOM node lists (read once per statement, sbom.ts). */
export function componentsOf(n: AttNode): PackageRef[] {
  return sbomComponents(n.statement);
}

function firmwareNode(ctx: FirmwareContext, d: string, name: string, version: string | undefined, fitted?: 'assembly' | 'update'): FirmwareNode {
  const match = (n: AttNode) => about(n, 'sha256', d);
  const sboms = ctx.sboms.filter(match);
  const components = byPackage(sboms.flatMap(componentsOf));
  return {
    name,
    ...(version !== undefined && { version }),
    sha256: d,
    ...(fitted && { fitted }),
    images: ctx.images.filter(match),
    builds: ctx.builds.filter(match),
    sboms,
    tests: ctx.tests.filter(match),
    advisories: ctx.advisories.filter((n) => about(n, 'sha256', d, true)),
    vulnerabilities: ctx.vulnerabilities.filter((n) => about(n, 'sha256', d, true) || matching(advisoryComponents(n.statement.predicate), components).length > 0),
    vex: ctx.vex.filter(match),
  };
}

/** Vulnerability ids (with aliases) an advisory names. */
export function vulnerabilityIds(n: AttNode): string[] {
  const v = (n.statement.predicate as { vulnerability?: { id?: unknown; aliases?: unknown } }).vulnerability;
  return [v?.id, ...(Array.isArray(v?.aliases) ? v.aliases : [])].filter((x): x is string => typeof x === 'string');
}

/** A VEX document's statements that name one of `ids`, as {status, ...}. */
export function vexStatements(n: AttNode, ids: readonly string[]): Array<Record<string, unknown>> {
  const st = (n.statement.predicate as { statements?: unknown }).statements;
  return (Array.isArray(st) ? (st as Array<Record<string, any>>) : []).filter((s) => {
    const v = s?.vulnerability;
    return [v?.name, ...(Array.isArray(v?.aliases) ? v.aliases : [])].some((x) => typeof x === 'string' && ids.includes(x));
  });
}

/**
 * The images that fix a vulnerability of `firmware`: subjects of `fixed` VEX statements signed by
 * the model's manufacturer (the policy then checks that it released them for the model), at most
 * MAX_AVAILABLE_FIXES of them, in log order.
 */
function availableFixes(ctx: FirmwareContext, firmware: readonly FirmwareNode[], manufacturer: string | undefined): FirmwareNode[] {
  if (manufacturer === undefined) return [];
  const have = new Set(firmware.map((f) => f.sha256));
  const ids = [...new Set(firmware.flatMap((f) => f.vulnerabilities.flatMap(vulnerabilityIds)))];
  const out = new Map<string, FirmwareNode>();
  if (ids.length === 0) return [];
  for (const n of [...ctx.vex].sort((a, b) => a.logIndex - b.logIndex)) {
    if (n.signer !== manufacturer || !vexStatements(n, ids).some((s) => s.status === 'fixed')) continue;
    for (const sub of n.statement.subject) {
      const d = sub.digest.sha256;
      if (d === undefined || have.has(d) || out.has(d)) continue;
      if (out.size >= MAX_AVAILABLE_FIXES) return [...out.values()];
      const image = ctx.images.filter((i) => i.signer === manufacturer && about(i, 'sha256', d)).at(-1)?.statement.predicate as { name?: unknown; version?: unknown } | undefined;
      out.set(d, firmwareNode(ctx, d, typeof image?.name === 'string' ? image.name : 'image', typeof image?.version === 'string' ? image.version : undefined));
    }
  }
  return [...out.values()];
}
