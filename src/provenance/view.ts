/**
 * The provenance graph as plain JSON for clients (the web page, GraphQL): each node carries its
 * log entry (index, signer, key, integration time) and a short summary of its predicate. Large
 * predicates such as SBOMs are summarised, never copied.
 */
import { PREDICATE_TYPES } from '../attest/predicates.js';
import type { AttNode, DeviceGraph } from './graph.js';

const NAME = new Map(PREDICATE_TYPES.map((p) => [p.uri, p.name]));

function summary(n: AttNode): Record<string, unknown> {
  const p = n.statement.predicate as Record<string, any>;
  switch (NAME.get(n.predicateType)) {
    case 'component':
      return { partNumber: p.partNumber, componentType: p.componentType, lot: p.lot, description: p.description };
    case 'firmware':
      return { name: p.name, version: p.version };
    case 'slsa-provenance':
      return { builder: p.runDetails?.builder?.id, buildType: p.buildDefinition?.buildType };
    case 'cyclonedx':
      return { specVersion: p.specVersion, components: Array.isArray(p.components) ? p.components.length : 0 };
    case 'test-result':
      return { result: p.result, passed: p.passedTests?.length ?? 0, failed: p.failedTests?.length ?? 0 };
    case 'device-assembly':
      return { model: p.model, assembledAt: p.assembledAt, site: p.site };
    case 'slsa-vsa':
      return { verificationResult: p.verificationResult, timeVerified: p.timeVerified, verifier: p.verifier?.id };
    case 'custody-transfer':
      return { from: p.from, to: p.to, transferredAt: p.transferredAt, location: p.location };
    case 'installation':
      return { site: p.site, installedAt: p.installedAt, assetTag: p.assetTag };
    case 'advisory':
      return { id: p.id, kind: p.kind, severity: p.severity, title: p.title, action: p.action };
    default:
      return {};
  }
}

export function nodeView(n: AttNode): Record<string, unknown> {
  return {
    logIndex: n.logIndex,
    integratedTime: n.integratedTime,
    signer: n.signer,
    keyId: n.keyId,
    predicateType: n.predicateType,
    type: NAME.get(n.predicateType) ?? 'other',
    summary: summary(n),
  };
}

export function graphView(g: DeviceGraph): Record<string, unknown> {
  const v = (ns: readonly AttNode[]) => ns.map(nodeView);
  return {
    udi: g.udi,
    assembly: g.assembly ? nodeView(g.assembly) : null,
    assemblies: v(g.assemblies),
    components: g.components.map((c) => ({
      componentType: c.componentType,
      partNumber: c.partNumber ?? null,
      supplier: c.supplier ?? null,
      partSerial: c.partSerial ?? null,
      lot: c.lot ?? null,
      attestations: v(c.attestations),
      tests: v(c.tests),
      advisories: v(c.advisories),
    })),
    firmware: g.firmware.map((f) => ({
      name: f.name,
      version: f.version ?? null,
      sha256: f.sha256,
      images: v(f.images),
      builds: v(f.builds),
      sboms: v(f.sboms),
      tests: v(f.tests),
      advisories: v(f.advisories),
    })),
    releases: v(g.releases),
    custody: v(g.custody),
    installations: v(g.installations),
    tests: v(g.tests),
    advisories: v(g.advisories),
  };
}
