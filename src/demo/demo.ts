/**
 * Loads the demo supply chain (attestations/demo/supply-chain.json) into an empty ledger,
 * signing every attestation live with keys generated for the demo participants. The keys are
 * written to DATA/demo-keys (private keys 0600) so the CLI can be tried with them.
 *
 * Outcomes by design: most devices PASS; one has a display attested with a supplier key that was
 * later revoked as compromised from before that attestation (FAIL); three contain a recalled
 * valve lot (FAIL); one has no release decision yet (INCOMPLETE).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
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
  firmware: { name: string; version: string };
  hospitals: Array<{ participant: string; site: Record<string, string> }>;
  scenarios: { revokedSupplierDevice: number; recalledLot: string; recalledDevices: number[]; unreleasedDevice: number };
}

export interface DemoSummary {
  readonly entries: number;
  readonly passing: string[];
  readonly failing: string[];
  readonly recalled: string[];
  readonly incomplete: string[];
  readonly recalledLot: string;
  readonly firmwareDigest: string;
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

  log('recording firmware, build provenance, SBOM and tests');
  const image = Buffer.from(`${spec.firmware.name}-${spec.firmware.version} demo image`);
  const fw = createHash('sha256').update(image).digest('hex');
  const fwSubject = [{ name: `${spec.firmware.name}-${spec.firmware.version}.bin`, digest: { sha256: fw } }];
  await submit(statement(fwSubject, type('firmware'), { name: spec.firmware.name, version: spec.firmware.version, gtins: [spec.gtin], releasedAt: new Date().toISOString() }), key('infusion-corp'));
  await submit(
    statement(fwSubject, type('slsa-provenance'), {
      buildDefinition: { buildType: 'https://pedigree.dev/buildtypes/firmware-make/v1', externalParameters: { repository: 'git+https://git.infusion.example/infusafe-fw', ref: `refs/tags/v${spec.firmware.version}` } },
      runDetails: { builder: { id: 'https://build.infusion.example/builders/firmware' }, metadata: { invocationId: 'build-8841' } },
    }),
    key('infusion-ci'),
  );
  await submit(
    statement(fwSubject, 'https://cyclonedx.org/bom', {
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      version: 1,
      components: [
        { type: 'library', name: 'freertos-kernel', version: '10.6.2' },
        { type: 'library', name: 'mbedtls', version: '3.6.2' },
        { type: 'library', name: 'lwip', version: '2.2.0' },
      ],
    }),
    key('infusion-corp'),
  );
  await submit(statement(fwSubject, type('test-result'), { result: 'PASSED', configuration: [{ name: 'iec62304-verification-suite' }], passedTests: ['occlusion-alarm', 'dose-accuracy', 'watchdog'], warnedTests: [], failedTests: [] }), key('qa-lab'));

  log('assembling, releasing, shipping and installing devices');
  for (const n of all) {
    const components = spec.components.map((c) =>
      c.serialised
        ? { componentType: c.componentType, partNumber: c.partNumber, supplier: c.supplier, partSerial: partSerial(c, n) }
        : { componentType: c.componentType, partNumber: c.partNumber, supplier: c.supplier, lot: lotOf(c, n) },
    );
    const subject = [{ name: `${spec.model} ${serial(n)}`, digest: { udi: udi(n) } }];
    await submit(statement(subject, type('device-assembly'), { model: spec.model, assembledAt: new Date().toISOString(), site: 'Plant 2', components, firmware: [{ name: spec.firmware.name, version: spec.firmware.version, digest: { sha256: fw } }] }), key('infusion-corp'));
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

  const special = new Set([bad, spec.scenarios.unreleasedDevice, ...spec.scenarios.recalledDevices]);
  return {
    entries,
    passing: all.filter((n) => !special.has(n)).map(udi),
    failing: [udi(bad)],
    recalled: spec.scenarios.recalledDevices.map(udi),
    incomplete: [udi(spec.scenarios.unreleasedDevice)],
    recalledLot,
    firmwareDigest: fw,
    keysDir,
  };
}
