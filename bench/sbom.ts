/**
 * Large SBOMs: what it costs to ingest and index a CycloneDX and an SPDX SBOM of several
 * megabytes with thousands of components, and what the firmware's evidence package then costs
 * to build and to verify. Ingest with the index is compared with ingest without it in the same
 * run, and reading the components with the whole ingest.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { resolvePredicateType } from '../src/attest/predicates.js';
import { signStatement, statement } from '../src/attest/sign.js';
import { defaultPolicy } from '../src/provenance/policy-io.js';
import { sbomComponents } from '../src/sbom/sbom.js';
import { verifyFirmwareEvidence } from '../src/verify/evidence.js';
import { lookupKeys } from '../src/vindex/keys.js';
import { GTIN, party, registration } from '../test/attest/fixtures.js';
import { openNode } from './common.js';

export interface SbomBenchRow {
  format: 'CycloneDX 1.6' | 'SPDX 2.3';
  components: number;
  megabytes: number;
  /** Reading the components (purls normalised by packageurl-js) and the index keys of the statement. */
  readComponentsMs: number;
  /** Submitting the signed bundle until it is logged and indexed, and the same without the index. */
  ingestMs: number;
  ingestWithoutIndexMs: number;
  /** The firmware's evidence package (its SBOM, release and one vuln-purl proof per package). */
  evidenceMs: number;
  evidenceMegabytes: number;
  verifyMs: number;
}

const t = (name: string) => resolvePredicateType(name).uri;

function cyclonedx(n: number) {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    version: 1,
    metadata: { component: { type: 'firmware', name: 'big-fw', version: '1.0' } },
    components: Array.from({ length: n }, (_, i) => ({
      type: 'library',
      'bom-ref': `lib-${i}`,
      name: `lib-${i}`,
      version: `${i % 7}.${i % 13}.${i % 5}`,
      purl: `pkg:generic/vendor-${i % 50}/lib-${i}@${i % 7}.${i % 13}.${i % 5}`,
      licenses: [{ license: { id: 'MIT' } }],
      hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(`lib-${i}`).digest('hex') }],
      description: `Library number ${i}, bundled into the firmware image for benchmark purposes.`,
    })),
  };
}

function spdx(n: number) {
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'big-fw-1.0',
    documentNamespace: 'https://bench.example/spdx/big-fw-1.0',
    documentDescribes: ['SPDXRef-image'],
    packages: [
      { SPDXID: 'SPDXRef-image', name: 'big-fw', versionInfo: '1.0' },
      ...Array.from({ length: n }, (_, i) => ({
        SPDXID: `SPDXRef-lib-${i}`,
        name: `lib-${i}`,
        versionInfo: `${i % 7}.${i % 13}.${i % 5}`,
        downloadLocation: `https://vendor-${i % 50}.example/lib-${i}.tar.gz`,
        licenseConcluded: 'MIT',
        checksums: [{ algorithm: 'SHA256', checksumValue: createHash('sha256').update(`lib-${i}`).digest('hex') }],
        externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:generic/vendor-${i % 50}/lib-${i}@${i % 7}.${i % 13}.${i % 5}` }],
      })),
    ],
    relationships: Array.from({ length: n }, (_, i) => ({ spdxElementId: 'SPDXRef-image', relationshipType: 'CONTAINS', relatedSpdxElement: `SPDXRef-lib-${i}` })),
  };
}

async function one(format: SbomBenchRow['format'], n: number): Promise<SbomBenchRow> {
  const maker = party('maker');
  const fw = createHash('sha256').update(`${format} ${n}`).digest('hex');
  const subject = [{ name: 'big-fw.bin', digest: { sha256: fw } }];
  const predicate = format === 'SPDX 2.3' ? spdx(n) : cyclonedx(n);
  const st = statement(subject, format === 'SPDX 2.3' ? t('spdx') : t('cyclonedx'), predicate);
  const megabytes = +(Buffer.byteLength(JSON.stringify(predicate)) / 1048576).toFixed(2);
  const r0 = performance.now();
  const comps = sbomComponents(st as never);
  lookupKeys(st as never);
  const readComponentsMs = +(performance.now() - r0).toFixed(1);
  if (comps.length !== n) throw new Error(`read ${comps.length} components, expected ${n}`);
  const bundle = await signStatement(st, maker.privateKey);
  const ingest = async (indexing: boolean) => {
    const node = await openNode({ indexing, maxBundleBytes: 64 * 1024 * 1024 });
    await node.attestations.submit(await signStatement(registration(maker, ['manufacturer'], { products: [GTIN] }), node.adminKey));
    await node.attestations.submit(await signStatement(statement(subject, t('firmware'), { name: 'big-fw', version: '1.0', gtins: [GTIN] }), maker.privateKey));
    const t0 = performance.now();
    await node.attestations.submit(bundle);
    return { node, ms: +(performance.now() - t0).toFixed(1) };
  };
  const without = await ingest(false);
  await without.node.cleanup();
  const { node, ms } = await ingest(true);
  try {
    const e0 = performance.now();
    // In process (the GraphQL field runs the same call), serialised as it would be sent.
    const evidence = JSON.parse(JSON.stringify(await node.devices.firmwareEvidence(fw, GTIN, defaultPolicy()))) as unknown;
    const evidenceMs = +(performance.now() - e0).toFixed(1);
    const root = node.attestations.trustedRoot();
    const data = { firmwareImage: { evidence } };
    const v0 = performance.now();
    verifyFirmwareEvidence(data.firmwareImage.evidence, root, { firmware: { sha256: fw, model: GTIN }, policy: defaultPolicy(), now: Math.floor(Date.now() / 1000) });
    const verifyMs = +(performance.now() - v0).toFixed(1);
    return { format, components: n, megabytes, readComponentsMs, ingestMs: ms, ingestWithoutIndexMs: without.ms, evidenceMs, evidenceMegabytes: +(Buffer.byteLength(JSON.stringify(data.firmwareImage.evidence)) / 1048576).toFixed(2), verifyMs };
  } finally {
    await node.cleanup();
  }
}

export async function benchSbom(components = 10_000): Promise<SbomBenchRow[]> {
  return [await one('CycloneDX 1.6', components), await one('SPDX 2.3', components)];
}
