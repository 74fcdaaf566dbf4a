/**
 * The demo supply chain: what it must contain, each device's outcome, and the recall's exact
 * blast radius.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePredicateType } from '../../src/attest/predicates.js';
import { loadDemo, type DemoSummary } from '../../src/demo/demo.js';
import { defaultPolicy } from '../../src/provenance/policy-io.js';
import { graphql } from '../../src/client/graphql.js';
import { startNode, type TestNode } from '../helpers.js';

let node: TestNode;
let demo: DemoSummary;

beforeAll(async () => {
  node = await startNode();
  demo = await loadDemo(node.attestations, node.adminKey, node.dir);
}, 120_000);
afterAll(() => node.cleanup());

describe('the demo supply chain', () => {
  it('has at least 3 suppliers, 8 component types, 20 devices, one firmware with provenance, SBOM and tests', async () => {
    const suppliers = node.attestations.registry.list().filter((p) => p.roles.includes('supplier'));
    expect(suppliers.length).toBeGreaterThanOrEqual(3);
    const all = [...demo.passing, ...demo.failing, ...demo.recalled, ...demo.incomplete];
    expect(new Set(all).size).toBeGreaterThanOrEqual(20);
    const g = await node.devices.graph(demo.passing[0]!);
    expect(new Set(g.components.map((c) => c.componentType)).size).toBeGreaterThanOrEqual(8);
    // Assembled with the main firmware and the bootloader; updated in the field to the fix.
    expect(g.firmware.map((f) => [f.name, f.version, f.fitted])).toEqual([['infusafe-fw', '2.4.1', 'assembly'], ['infusafe-boot', '1.2.0', 'assembly'], ['infusafe-fw', '2.4.2', 'update']]);
    for (const f of g.firmware) {
      expect(f.builds.length).toBeGreaterThan(0);
      expect(f.sboms.length).toBeGreaterThan(0);
      expect(f.tests.length).toBeGreaterThan(0);
      expect(f.vex.length).toBeGreaterThan(0);
    }
    expect(g.updates).toHaveLength(1);
    expect(g.custody.length).toBeGreaterThan(0);
    expect(g.installations.length).toBeGreaterThan(0);
  });

  it('gives each device the outcome it was built for', async () => {
    const verdict = async (u: string) => (await node.devices.verify(u, defaultPolicy())).evaluation;
    for (const u of demo.passing) expect((await verdict(u)).verdict, u).toBe('PASS');
    const failing = await verdict(demo.failing[0]!);
    expect(failing.verdict).toBe('FAIL');
    expect(failing.findings.map((f) => f.code)).toContain('SIGNER_REVOKED');
    for (const u of demo.failing.filter((x) => x !== demo.failing[0])) expect((await verdict(u)).findings.map((f) => f.code), u).toEqual(expect.arrayContaining(['VULNERABLE', 'UPDATE_AVAILABLE']));
    for (const u of demo.recalled) expect((await verdict(u)).findings.map((f) => f.code), u).toContain('RECALLED');
    expect((await verdict(demo.incomplete[0]!)).verdict).toBe('INCOMPLETE');
  });

  it('affectedDevices of the recall returns exactly the devices that contain the lot', async () => {
    const data = await graphql<{ affectedDevices: Array<{ udi: string; installations: Array<{ summary: { site: { name: string } } }> }> }>(
      node.url,
      'query ($l: String) { affectedDevices(lot: $l) { udi installations } }',
      { l: demo.recalledLot },
    );
    const got = data.affectedDevices.map((d) => d.udi).sort();
    // Independently: every device whose assembly lists the lot.
    const assemblies = await node.attestations.search({ predicateType: resolvePredicateType('device-assembly').uri }, 100);
    const expected: string[] = [];
    for (const r of assemblies.records) {
      const st = await node.attestations.statement(r);
      const comps = (st.predicate as { components: Array<{ lot?: string }> }).components;
      if (comps.some((c) => c.lot === demo.recalledLot)) expected.push(st.subject[0]!.digest.udi!);
    }
    expect(got).toEqual(expected.sort());
    expect(got).toEqual([...demo.recalled].sort());
    for (const d of data.affectedDevices) expect(d.installations.at(-1)?.summary.site.name).toMatch(/Hospital/);
  });

  it('affectedDevices by firmware digest finds the devices that run it now, after their updates, and refuses bad arguments', async () => {
    const r = await node.devices.affectedDevices({ firmwareDigest: demo.firmwareDigest });
    expect(r.map((d) => d.udi).sort()).toEqual([...demo.vulnerable].sort());
    const fixed = await node.devices.affectedDevices({ firmwareDigest: demo.fixedFirmwareDigest });
    expect(fixed.map((d) => d.udi).sort()).toEqual([...demo.updated].sort());
    expect(r.length + fixed.length).toBe(24);
    await expect(node.devices.affectedDevices({})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(node.devices.affectedDevices({ firmwareDigest: 'xyz' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('answers device queries over GraphQL with provenance nodes that carry their log entries', async () => {
    const data = await graphql<{ device: { udi: string; provenance: any; verify: { verdict: string; firmware: { running: string[]; history: Array<{ by: string; fromVersion: string; version: string }> } } } }>(
      node.url,
      'query ($u: String!) { device(udi: $u) { udi provenance verify { verdict firmware } } }',
      { u: `https://id.gs1.org/01/09506000134352/21/${demo.passing[0]!.split('(21)')[1]}` },
    );
    expect(data.device.verify.verdict).toBe('PASS');
    expect(data.device.verify.firmware.running).toContain(demo.fixedFirmwareDigest);
    expect(data.device.verify.firmware.history.map((h) => [h.fromVersion, h.version])).toEqual([['2.4.1', '2.4.2']]);
    const comp = data.device.provenance.components[0];
    expect(comp.attestations[0]).toMatchObject({ signer: expect.any(String), logIndex: expect.any(Number), integratedTime: expect.any(Number) });
    const outcome = async (u: string) => (await graphql<{ device: { verify: { outcome: string; recalls: Array<{ id: string; action: string }> } } }>(node.url, 'query ($u: String!) { device(udi: $u) { verify { outcome recalls { id action } } } }', { u })).device.verify;
    expect(await outcome(demo.recalled[0]!)).toMatchObject({ outcome: 'RECALLED', recalls: [{ id: 'RC-2026-07', action: expect.stringMatching(/Remove affected pumps/) }] });
    expect(await outcome('(01)09506000134352(21)NEVER-SEEN')).toMatchObject({ outcome: 'UNKNOWN', recalls: [] });
    expect((await outcome(demo.incomplete[0]!)).outcome).toBe('INCOMPLETE');
    await expect(graphql(node.url, '{ device(udi: "(01)123") { udi } }')).rejects.toMatchObject({ code: 'UDI_BAD_GTIN' });
    await expect(graphql(node.url, '{ device(udi: "(01)09506000134352(21)X") { verify(policy: {name: "x", steps: {bogus: {}}}) { verdict } } }')).rejects.toMatchObject({ code: 'POLICY_INVALID' });
  });
});
