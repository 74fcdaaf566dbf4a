/**
 * The provenance graph as plain JSON for clients (the web page, GraphQL): each node carries its
 * log entry (index, signer, key, integration time) and a short summary of its predicate. Large
 * predicates such as SBOMs are summarised, never copied.
 */
import { PREDICATE_TYPES } from '../attest/predicates.js';
import { componentsOf, type UpdatePredicate } from './graph.js';
import type { AttNode, DeviceGraph, FirmwareGraph, FirmwareNode } from './graph.js';
import type { Evaluation } from './policy.js';

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
      return { format: 'CycloneDX', specVersion: p.specVersion, components: componentsOf(n).length };
    case 'spdx':
      return { format: 'SPDX', specVersion: p.spdxVersion, components: componentsOf(n).length };
    case 'firmware-update': {
      const u = p as UpdatePredicate;
      return { firmware: u.firmware, from: u.from?.digest?.sha256, fromVersion: u.from?.version, to: u.to?.digest?.sha256, toVersion: u.to?.version, updatedAt: u.updatedAt };
    }
    case 'openvex':
      return {
        author: p.author,
        timestamp: p.timestamp,
        statements: (Array.isArray(p.statements) ? p.statements : []).slice(0, 50).map((st: Record<string, any>) => ({ vulnerability: st?.vulnerability?.name, status: st?.status, justification: st?.justification })),
      };
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
      return { id: p.id, kind: p.kind, severity: p.severity, title: p.title, action: p.action, ...(p.kind === 'vulnerability' && { vulnerability: p.vulnerability?.id }) };
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

function firmwareJson(f: FirmwareNode, running?: boolean): Record<string, unknown> {
  const v = (ns: readonly AttNode[]) => ns.map(nodeView);
  return {
    name: f.name,
    version: f.version ?? null,
    sha256: f.sha256,
    fitted: f.fitted ?? null,
    ...(running !== undefined && { running }),
    images: v(f.images),
    builds: v(f.builds),
    sboms: v(f.sboms),
    tests: v(f.tests),
    advisories: v(f.advisories),
    vulnerabilities: v(f.vulnerabilities),
    vex: v(f.vex),
  };
}

/** The device's graph; with its evaluation, which firmware it runs now and its counted update history. */
export function graphView(g: DeviceGraph, e?: Evaluation): Record<string, unknown> {
  const v = (ns: readonly AttNode[]) => ns.map(nodeView);
  const running = e?.firmware ? new Set(e.firmware.running) : undefined;
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
    firmware: g.firmware.map((f) => firmwareJson(f, running ? running.has(f.sha256) : undefined)),
    firmwareHistory: e?.firmware?.history ?? [],
    updates: v(g.updates),
    available: g.available.map((f) => firmwareJson(f)),
    releases: v(g.releases),
    custody: v(g.custody),
    installations: v(g.installations),
    tests: v(g.tests),
    advisories: v(g.advisories),
  };
}

/** A firmware image's graph (the update gate). */
export function firmwareView(g: FirmwareGraph): Record<string, unknown> {
  return { sha256: g.sha256, firmware: firmwareJson(g.firmware), available: g.available.map((f) => firmwareJson(f)) };
}
