/**
 * The provenance graph of one device, built purely from a set of attestations: the assembly
 * record, each component's supplier attestations, each firmware image's build provenance, SBOM
 * and tests, the release decision, custody and installation records, and every advisory that
 * touches any of them.
 */
import { PREDICATE_TYPES } from '../attest/predicates.js';
import { bySignedOrder } from '../attest/order.js';
import { indexRefs, type Statement } from '../attest/statement.js';

export interface AttNode {
  readonly logIndex: number;
  readonly integratedTime: number;
  /** SHA-256 of the signing key (hex), the bundle's key hint. */
  readonly keyId: string;
  /** Participant id, or null when no registered participant has that key. */
  readonly signer: string | null;
  readonly predicateType: string;
  readonly statement: Statement;
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
  readonly images: AttNode[];
  readonly builds: AttNode[];
  readonly sboms: AttNode[];
  readonly tests: AttNode[];
  readonly advisories: AttNode[];
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
}

const URI = Object.fromEntries(PREDICATE_TYPES.map((p) => [p.name, p.uri])) as Record<string, string>;


function about(node: AttNode, kind: string, value: string, withRefs = false): boolean {
  const refs = withRefs ? indexRefs(node.statement) : node.statement.subject.flatMap((s) => Object.entries(s.digest).map(([k, v]) => ({ kind: k, value: v })));
  return refs.some((r) => r.kind === kind && r.value === value);
}

/** Nodes of one type, oldest first by signed time (order.ts), never by log position alone. */
function ofType(nodes: readonly AttNode[], name: string): AttNode[] {
  return nodes.filter((n) => n.predicateType === URI[name]).sort(bySignedOrder);
}

interface AssemblyPredicate {
  components?: Array<{ componentType: string; partNumber?: string; supplier?: string; partSerial?: string; lot?: string }>;
  firmware?: Array<{ name: string; version?: string; digest: { sha256: string } }>;
}

export function buildGraph(udi: string, nodes: readonly AttNode[]): DeviceGraph {
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

  const firmware: FirmwareNode[] = (a.firmware ?? []).map((f) => {
    const d = f.digest.sha256;
    const match = (n: AttNode) => about(n, 'sha256', d);
    return {
      name: f.name,
      ...(f.version !== undefined && { version: f.version }),
      sha256: d,
      images: ofType(nodes, 'firmware').filter(match),
      builds: ofType(nodes, 'slsa-provenance').filter(match),
      sboms: ofType(nodes, 'cyclonedx').filter(match),
      tests: tests.filter(match),
      advisories: advisories.filter((n) => about(n, 'sha256', d, true)),
    };
  });

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
  };
}

/** Every log index the graph uses, ascending. */
export function graphEntries(g: DeviceGraph): number[] {
  const all = [
    ...g.assemblies,
    ...g.components.flatMap((c) => [...c.attestations, ...c.tests, ...c.advisories]),
    ...g.firmware.flatMap((f) => [...f.images, ...f.builds, ...f.sboms, ...f.tests, ...f.advisories]),
    ...g.releases,
    ...g.custody,
    ...g.installations,
    ...g.tests,
    ...g.advisories,
  ];
  return [...new Set(all.map((n) => n.logIndex))].sort((x, y) => x - y);
}
