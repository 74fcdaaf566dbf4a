/**
 * Loads the demo supply chain (attestations/demo/supply-chain.json) into an empty ledger,
 * signing every attestation live with keys generated for the demo participants. The keys are
 * written to DATA/demo-keys (private keys 0600) so the CLI can be tried with them.
 *
 * Outcomes by design: firmware 2.4.1 bundles OpenSSL 3.0.7, which a regulator's advisory names
 * (CVE-2023-0286, high); the manufacturer's VEX says 2.4.1 is affected and 2.4.2 fixes it, and its
 * bootloader, which also links OpenSSL 3.0.7, is not affected. Devices updated to 2.4.2 (some by
 * their hospital, some by the manufacturer's service) PASS; those still on 2.4.1 FAIL with
 * "update available"; one has a display attested with a supplier key that was later revoked as
 * compromised from before that attestation (FAIL); three contain a recalled valve lot
 * (RECALLED); one has no release decision yet (INCOMPLETE).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PARTICIPANT_URI, REVOCATION_URI, resolvePredicateType, type Role } from '../attest/predicates.js';
import type { AttestationService } from '../attest/service.js';
import { signStatement, statement } from '../attest/sign.js';
import type { Subject } from '../attest/statement.js';
import { generateKey, writePrivateKey, writePublicKey } from '../keys.js';
import { keyIdOf, spkiPem } from '../trust/keys.js';

interface DemoSpec {
  gtin: string;
  model: string;
  devices: number;
  participants: Array<{ id: string; organisation: string; roles: Role[] }>;
  components: Array<{ componentType: string; partNumber: string; supplier: string; serialised?: boolean; lots?: string[] }>;
  firmware: { name: string; version: string; fixedVersion: string; bootloader: { name: string; version: string } };
  vulnerability: { id: string; aliases: string[]; severity: string; title: string; package: string; vulnerable: string; fixed: string; range: string };
  hospitals: Array<{ participant: string; site: Record<string, string> }>;
  scenarios: { revokedSupplierDevice: number; recalledLot: string; recalledDevices: number[]; unreleasedDevice: number; updatedByHospital: number[]; updatedByManufacturer: number[] };
}

export interface DemoSummary {
  readonly entries: number;
  readonly passing: string[];
  readonly failing: string[];
  readonly recalled: string[];
  readonly incomplete: string[];
  readonly recalledLot: string;
  /** The firmware the devices were assembled with (2.4.1, vulnerable). */
  readonly firmwareDigest: string;
  /** The image that fixes it (2.4.2), and both images as files to try the update gate on. */
  readonly fixedFirmwareDigest: string;
  readonly firmwareFiles: { readonly vulnerable: string; readonly fixed: string };
  readonly model: string;
  /** The vulnerable component and the devices that run it (still on 2.4.1). */
  readonly purl: string;
  readonly range: string;
  readonly vulnerable: string[];
  readonly updated: string[];
  readonly keysDir: string;
}

const SPEC_URL = new URL('../../attestations/demo/supply-chain.json', import.meta.url);
const type = (name: string) => resolvePredicateType(name).uri;

export async function loadDemo(attestations: AttestationService, adminKey: KeyObject, dataDir: string, log: (m: string) => void = () => undefined): Promise<DemoSummary> {
  const spec = JSON.parse(await readFile(SPEC_URL, 'utf8')) as DemoSpec;
  const keysDir = join(dataDir, 'demo-keys');
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  let entries = 0;
  const submit = async (st: Record<string, unknown>, key: KeyObject) => {
    const r = await attestations.submit(await signStatement(st, key));
    entries++;
    return r.record;
  };
  const keys = new Map<string, KeyObject>();
  const newKey = async (id: string, suffix = '') => {
    const k = generateKey('p256');
    await writePrivateKey(join(keysDir, `${id}${suffix}.key`), k.privateKey).catch(() => undefined);
    await writePublicKey(join(keysDir, `${id}${suffix}.pub`), k.publicKey).catch(() => undefined);
    return k.privateKey;
  };
  const register = (p: DemoSpec['participants'][number], pems: string[]) => {
    // A re-registration names the registration it replaces (see attestations/README.md).
    const replaces = attestations.registry.get(p.id)?.registration;
    const products = p.roles.includes('manufacturer') ? { products: [spec.gtin] } : {};
    const predicate = { id: p.id, organisation: p.organisation, roles: p.roles, publicKeys: pems, ...products, issuedAt: new Date().toISOString(), ...(replaces && { replaces }) };
    return submit(statement([{ name: `participant:${p.id}`, digest: { participant: p.id } }], PARTICIPANT_URI, predicate), adminKey);
  };

  log('registering participants');
  for (const p of spec.participants) {
    const k = await newKey(p.id);
    keys.set(p.id, k);
    await register(p, [spkiPem(k)]);
  }
  const key = (id: string) => keys.get(id)!;
  const serial = (n: number) => `IP-${String(n).padStart(6, '0')}`;
  const udi = (n: number) => `(01)${spec.gtin}(21)${serial(n)}`;
  const all = Array.from({ length: spec.devices }, (_, i) => i + 1);
  const partSerial = (c: DemoSpec['components'][number], n: number) => `${c.supplier}:${c.partNumber}:${c.partNumber}-${String(n).padStart(5, '0')}`;
  const lotOf = (c: DemoSpec['components'][number], n: number) => {
    const lots = c.lots ?? [];
    const lot = c.componentType === 'valve' && spec.scenarios.recalledDevices.includes(n) ? spec.scenarios.recalledLot : lots[0]!;
    return `${c.supplier}:${c.partNumber}:${lot}`;
  };

  log('attesting components');
  const bad = spec.scenarios.revokedSupplierDevice;
  const display = spec.components.find((c) => c.componentType === 'display')!;
  for (const c of spec.components) {
    const predicate = (extra: Record<string, unknown>) => ({ partNumber: c.partNumber, componentType: c.componentType, ...extra });
    if (c.serialised) {
      const devices = c === display ? all.filter((n) => n < bad) : all;
      for (let i = 0; i < devices.length; i += 8) {
        const batch = devices.slice(i, i + 8);
        const subjects: Subject[] = batch.map((n) => ({ name: `${c.partNumber} for ${serial(n)}`, digest: { partSerial: partSerial(c, n) } }));
        await submit(statement(subjects, type('component'), predicate({ serials: batch.map((n) => partSerial(c, n).split(':')[2]) })), key(c.supplier));
      }
    } else {
      for (const lot of c.lots ?? []) {
        await submit(statement([{ name: `${c.partNumber} lot ${lot}`, digest: { lot: `${c.supplier}:${c.partNumber}:${lot}` } }], type('component'), predicate({ lot })), key(c.supplier));
      }
    }
  }

  // DisplayTech's key is compromised: a display attested with it after the compromise must not
  // count. Wait for the next second so that time separates the good attestations from the bad.
  const second = Math.floor(Date.now() / 1000);
  while (Math.floor(Date.now() / 1000) === second) await new Promise((r) => setTimeout(r, 50));
  const rogue = await submit(
    statement([{ name: `${display.partNumber} for ${serial(bad)}`, digest: { partSerial: partSerial(display, bad) } }], type('component'), { partNumber: display.partNumber, componentType: 'display', serials: [partSerial(display, bad).split(':')[2]] }),
    key('displaytech'),
  );
  const oldKey = key('displaytech');
  const fresh = await newKey('displaytech', '-2');
  const dt = spec.participants.find((p) => p.id === 'displaytech')!;
  await register(dt, [spkiPem(fresh)]);
  await submit(
    statement([{ name: 'participant:displaytech', digest: { participant: 'displaytech' } }], REVOCATION_URI, {
      participantId: 'displaytech',
      keyId: keyIdOf(oldKey),
      issuedAt: new Date().toISOString(),
      reason: 'compromise',
      effectiveTime: new Date(rogue.integratedTime * 1000).toISOString(),
      note: 'Signing key leaked; attestations from this time on are not trustworthy',
    }),
    adminKey,
  );
  keys.set('displaytech', fresh);
  const later = all.filter((n) => n > bad);
  for (let i = 0; i < later.length; i += 8) {
    const batch = later.slice(i, i + 8);
    await submit(statement(batch.map((n) => ({ digest: { partSerial: partSerial(display, n) } })), type('component'), { partNumber: display.partNumber, componentType: 'display' }), fresh);
  }

  log('recording firmware, build provenance, SBOMs, tests and VEX');
  const fwDir = join(dataDir, 'demo-firmware');
  await mkdir(fwDir, { recursive: true });
  const v = spec.vulnerability;
  const release = async (name: string, version: string, openssl: string, sbom: 'cyclonedx' | 'spdx') => {
    const image = Buffer.from(`${name}-${version} demo image (OpenSSL ${openssl})\n`);
    const digest = createHash('sha256').update(image).digest('hex');
    const file = join(fwDir, `${name}-${version}.bin`);
    await writeFile(file, image);
    const subject = [{ name: `${name}-${version}.bin`, digest: { sha256: digest } }];
    await submit(statement(subject, type('firmware'), { name, version, gtins: [spec.gtin], releasedAt: new Date().toISOString() }), key('infusion-corp'));
    await submit(
      statement(subject, type('slsa-provenance'), {
        buildDefinition: { buildType: 'https://pedigree.dev/buildtypes/firmware-make/v1', externalParameters: { repository: `git+https://git.infusion.example/${name}`, ref: `refs/tags/v${version}` } },
        runDetails: { builder: { id: 'https://build.infusion.example/builders/firmware' }, metadata: { invocationId: `build-${name}-${version}` } },
      }),
      key('infusion-ci'),
    );
    const libs = [
      { name: 'freertos-kernel', version: '10.6.2', purl: 'pkg:github/freertos/freertos-kernel@V10.6.2' },
      { name: 'lwip', version: '2.2.0', purl: 'pkg:generic/lwip@2.2.0' },
      { name: 'openssl', version: openssl, purl: `${v.package}@${openssl}` },
    ];
    const bom =
      sbom === 'cyclonedx'
        ? { bomFormat: 'CycloneDX', specVersion: '1.6', version: 1, metadata: { component: { type: 'firmware', name, version } }, components: libs.map((l) => ({ type: 'library', ...l })) }
        : {
            spdxVersion: 'SPDX-2.3',
            dataLicense: 'CC0-1.0',
            SPDXID: 'SPDXRef-DOCUMENT',
            name: `${name}-${version}`,
            documentNamespace: `https://infusion.example/spdx/${name}-${version}`,
            documentDescribes: ['SPDXRef-image'],
            packages: [
              { SPDXID: 'SPDXRef-image', name, versionInfo: version },
              ...libs.map((l, i) => ({ SPDXID: `SPDXRef-lib-${i}`, name: l.name, versionInfo: l.version, externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: l.purl }] })),
            ],
          };
    await submit(statement(subject, type(sbom), bom), key('infusion-corp'));
    await submit(statement(subject, type('test-result'), { result: 'PASSED', configuration: [{ name: 'iec62304-verification-suite' }], passedTests: ['occlusion-alarm', 'dose-accuracy', 'watchdog'], warnedTests: [], failedTests: [] }), key('qa-lab'));
    return { digest, file, subject };
  };
  const vex = (subject: Subject[], status: string, extra: Record<string, unknown>) =>
    submit(
      statement(subject, type('openvex'), {
        '@context': 'https://openvex.dev/ns/v0.2.0',
        '@id': `https://infusion.example/vex/${subject[0]!.name}`,
        author: 'Infusion Corp product security',
        timestamp: new Date().toISOString(),
        version: 1,
        statements: [{ vulnerability: { name: v.id, aliases: v.aliases }, subcomponents: [{ '@id': `${v.package}@${status === 'fixed' ? v.fixed : v.vulnerable}` }], status, ...extra }],
      }),
      key('infusion-corp'),
    );
  const main = await release(spec.firmware.name, spec.firmware.version, v.vulnerable, 'cyclonedx');
  const fixed = await release(spec.firmware.name, spec.firmware.fixedVersion, v.fixed, 'cyclonedx');
  const boot = await release(spec.firmware.bootloader.name, spec.firmware.bootloader.version, v.vulnerable, 'spdx');
  const fw = main.digest;

  log('recording the vulnerability and the manufacturer\'s VEX');
  await submit(
    statement([{ name: v.id, digest: { vulnerability: v.id } }], type('advisory'), {
      id: v.id,
      kind: 'vulnerability',
      severity: v.severity,
      title: v.title,
      issuedAt: new Date().toISOString(),
      vulnerability: { id: v.id, aliases: v.aliases },
      affects: { components: [{ purl: v.package, range: v.range }] },
      action: `Update to firmware built with OpenSSL ${v.fixed} or later`,
    }),
    key('health-cert'),
  );
  await vex(main.subject, 'affected', { action_statement: `Update to ${spec.firmware.name} ${spec.firmware.fixedVersion}` });
  await vex(fixed.subject, 'fixed', {});
  await vex(boot.subject, 'not_affected', { justification: 'vulnerable_code_not_in_execute_path', impact_statement: 'The bootloader uses OpenSSL only for SHA-256; it never parses X.509 certificates' });

  log('assembling, releasing, shipping and installing devices');
  for (const n of all) {
    const components = spec.components.map((c) =>
      c.serialised
        ? { componentType: c.componentType, partNumber: c.partNumber, supplier: c.supplier, partSerial: partSerial(c, n) }
        : { componentType: c.componentType, partNumber: c.partNumber, supplier: c.supplier, lot: lotOf(c, n) },
    );
    const subject = [{ name: `${spec.model} ${serial(n)}`, digest: { udi: udi(n) } }];
    await submit(statement(subject, type('device-assembly'), { model: spec.model, assembledAt: new Date().toISOString(), site: 'Plant 2', components, firmware: [{ name: spec.firmware.name, version: spec.firmware.version, digest: { sha256: fw } }, { name: spec.firmware.bootloader.name, version: spec.firmware.bootloader.version, digest: { sha256: boot.digest } }] }), key('infusion-corp'));
    if (n !== spec.scenarios.unreleasedDevice) {
      await submit(statement(subject, type('slsa-vsa'), { verifier: { id: 'https://infusion.example/release-gate' }, timeVerified: new Date().toISOString(), resourceUri: `udi:${udi(n)}`, policy: { uri: 'https://infusion.example/policies/release.json' }, verificationResult: 'PASSED', verifiedLevels: ['SLSA_BUILD_LEVEL_2'] }), key('infusion-corp'));
      const h = spec.hospitals[n % spec.hospitals.length]!;
      await submit(statement(subject, type('custody-transfer'), { from: 'infusion-corp', to: 'medidist', transferredAt: new Date().toISOString(), location: 'Plant 2 dispatch' }), key('infusion-corp'));
      await submit(statement(subject, type('custody-transfer'), { from: 'medidist', to: h.participant, transferredAt: new Date().toISOString(), location: h.site.city! }), key('medidist'));
      await submit(statement(subject, type('installation'), { site: h.site, installedAt: new Date().toISOString(), assetTag: `${h.participant.toUpperCase()}-${String(n).padStart(4, '0')}` }), key(h.participant));
    }
  }

  log('recording the recall');
  const recalledLot = `valveco:VALVE-7:${spec.scenarios.recalledLot}`;
  await submit(
    statement([{ name: `VALVE-7 lot ${spec.scenarios.recalledLot}`, digest: { lot: recalledLot } }], type('advisory'), {
      id: 'RC-2026-07',
      kind: 'recall',
      severity: 'high',
      title: 'VALVE-7 seal may degrade and allow free flow',
      issuedAt: new Date().toISOString(),
      affects: { lots: [recalledLot] },
      action: 'Remove affected pumps from service and replace the valve assembly',
    }),
    key('valveco'),
  );

  log('updating firmware in the field');
  const { updatedByHospital, updatedByManufacturer } = spec.scenarios;
  for (const n of [...updatedByHospital, ...updatedByManufacturer].sort((a, b) => a - b)) {
    const by = updatedByHospital.includes(n) ? spec.hospitals[n % spec.hospitals.length]!.participant : 'infusion-corp';
    await submit(
      statement([{ name: `${spec.model} ${serial(n)}`, digest: { udi: udi(n) } }], type('firmware-update'), {
        firmware: spec.firmware.name,
        from: { version: spec.firmware.version, digest: { sha256: fw } },
        to: { version: spec.firmware.fixedVersion, digest: { sha256: fixed.digest } },
        updatedAt: new Date().toISOString(),
        method: by === 'infusion-corp' ? 'Infusion Corp field service' : 'biomedical engineering, USB service port',
      }),
      key(by),
    );
  }

  const updated = new Set([...updatedByHospital, ...updatedByManufacturer]);
  const special = new Set([bad, spec.scenarios.unreleasedDevice, ...spec.scenarios.recalledDevices]);
  return {
    entries,
    passing: all.filter((n) => !special.has(n) && updated.has(n)).map(udi),
    failing: all.filter((n) => n === bad || (!special.has(n) && !updated.has(n))).map(udi),
    recalled: spec.scenarios.recalledDevices.map(udi),
    incomplete: [udi(spec.scenarios.unreleasedDevice)],
    recalledLot,
    firmwareDigest: fw,
    fixedFirmwareDigest: fixed.digest,
    firmwareFiles: { vulnerable: main.file, fixed: fixed.file },
    model: spec.gtin,
    purl: `${v.package}@${v.vulnerable}`,
    range: v.range,
    vulnerable: all.filter((n) => !updated.has(n)).map(udi),
    updated: [...updated].sort((a, b) => a - b).map(udi),
    keysDir,
  };
}
