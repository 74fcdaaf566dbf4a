/**
 * SBOMs with thousands of components, in CycloneDX and SPDX: every component is filed in the
 * verifiable index by package, the lists prove complete, and a device whose firmware carries a
 * component is found by purl, version and range.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { signStatement, statement } from '../../src/attest/sign.js';
import { graphql } from '../../src/client/graphql.js';
import { lookupKey } from '../../src/vindex/keys.js';
import { lookupFromJson, verifyList, indexRootOf } from '../../src/vindex/map.js';
import { openCheckpoint } from '../../src/log/index.js';
import { GTIN, party, registration, udi } from '../attest/fixtures.js';
import { startNode, type TestNode } from '../helpers.js';

const t = (name: string) => resolvePredicateType(name).uri;
const N = 3000;
let node: TestNode;
const maker = party('maker');
const fwA = createHash('sha256').update('cyclonedx firmware').digest('hex');
const fwB = createHash('sha256').update('spdx firmware').digest('hex');
const version = (i: number) => `1.${i % 10}.${i}`;

beforeAll(async () => {
  node = await startNode();
  const submit = async (st: Record<string, unknown>) => node.attestations.submit(await signStatement(st, maker.privateKey));
  await node.attestations.submit(await signStatement(registration(maker, ['manufacturer'], { products: [GTIN] }), node.adminKey));
  await submit(
    statement([{ digest: { sha256: fwA } }], t('cyclonedx'), {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      // Nested components count too.
      components: Array.from({ length: N / 2 }, (_, i) => ({ type: 'library', name: `a${i}`, purl: `pkg:generic/a${i}@${version(i)}`, components: [{ type: 'library', name: `n${i}`, purl: `pkg:npm/n${i}@${i % 5}.0.0` }] })),
    }),
  );
  await submit(
    statement([{ digest: { sha256: fwB } }], t('spdx'), {
      spdxVersion: 'SPDX-2.3',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: 'fw-b',
      documentDescribes: ['SPDXRef-fw'],
      packages: [
        { SPDXID: 'SPDXRef-fw', name: 'fw-b', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:generic/fw-b@1' }] },
        ...Array.from({ length: N }, (_, i) => ({ SPDXID: `SPDXRef-p${i}`, name: `a${i}`, externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:generic/a${i}@${version(i + 1)}` }] })),
      ],
    }),
  );
  // One device runs firmware A.
  await submit(statement([{ digest: { udi: udi('SBOM-1') } }], t('device-assembly'), { model: 'Pump', assembledAt: new Date().toISOString(), components: [{ componentType: 'valve', lot: 'sup:V:L1' }], firmware: [{ name: 'fw-a', digest: { sha256: fwA } }] }));
}, 120_000);
afterAll(() => node.cleanup());

describe('large SBOMs in the index', () => {
  it('files every package of both SBOMs, and the lists prove against the checkpoint', async () => {
    const keys = ['pkg:generic/a0', 'pkg:generic/a1499', 'pkg:generic/a2999', 'pkg:npm/n7', 'pkg:generic/fw-b'].map((p) => lookupKey('purl', p));
    type A = { key: string; indexes: number[]; siblings: string[]; leafKey: string | null; leafValue: string | null; checkpoint: { note: string } };
    const data = await graphql<Record<string, A>>(node.url, `{ ${keys.map((k, i) => `k${i}: lookup(key: ${JSON.stringify(k)}) { key indexes siblings leafKey leafValue checkpoint { note } }`).join(' ')} }`);
    const lists = keys.map((k, i) => {
      const a = data[`k${i}`]!;
      const root = indexRootOf(openCheckpoint(a.checkpoint.note, node.verifier).extensions)!;
      const l = lookupFromJson({ key: a.key, indexes: a.indexes, proof: { siblings: a.siblings, ...(a.leafKey && { leaf: { key: a.leafKey, value: a.leafValue } }) } });
      expect(l.key).toBe(k);
      verifyList(root, l.key, l.indexes, l.proof);
      return l.indexes.length;
    });
    // a0 and a1499 are in both SBOMs, a2999 only in SPDX, n7 only nested in CycloneDX, and the SPDX document's own package is not a component.
    expect(lists).toEqual([2, 2, 1, 1, 0]);
  });

  it('finds the device by component purl, exact version and range, and not for a version it does not carry', async () => {
    const q = 'query ($u: String, $r: String) { affectedDevices(purl: $u, range: $r) { udi firmware } }';
    const ask = async (u: string, r: string | null = null) => (await graphql<{ affectedDevices: Array<{ udi: string; firmware: Array<{ components: string[] }> }> }>(node.url, q, { u, r })).affectedDevices;
    const exact = await ask(`pkg:generic/a42@${version(42)}`);
    expect(exact.map((d) => d.udi)).toEqual([udi('SBOM-1')]);
    expect(exact[0]!.firmware[0]!.components).toEqual([`pkg:generic/a42@${version(42)}`]);
    expect(await ask(`pkg:generic/a42@${version(43)}`)).toEqual([]);
    expect((await ask('pkg:npm/n7', 'vers:npm/>=2.0.0|<3.0.0')).map((d) => d.udi)).toEqual([udi('SBOM-1')]);
    expect(await ask('pkg:npm/n7', 'vers:npm/>=3.0.0')).toEqual([]);
    await expect(ask('not a purl')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(ask('pkg:generic/a1', 'vers:generic/>=1|>=1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
