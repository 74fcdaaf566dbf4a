/** Devices: provenance, policy verdicts, evidence packages and recall blast radius. */
import { type Evaluation, type Finding, type Policy } from '../../../provenance/policy.js';
import { defaultPolicy, parsePolicy } from '../../../provenance/policy-io.js';
import { ProvenanceError, type InstalledDevice } from '../../../provenance/device.js';
import { outcomeOf, type DeviceOutcome, type RecallNotice } from '../../../provenance/outcome.js';
import { graphView, nodeView } from '../../../provenance/view.js';
import { checkModelGtin, normaliseDeviceUdi } from '../../../udi/udi.js';
import { builder } from '../builder.js';

const VerdictEnum = builder.enumType('Verdict', { values: ['PASS', 'FAIL', 'INCOMPLETE'] as const });

const FindingRef = builder.objectRef<Finding>('Finding').implement({
  description: 'One reason behind a verdict.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Stable code, e.g. SIGNER_REVOKED, RELEASE_MISSING, RECALLED.' }),
    severity: t.exposeString('severity', { description: 'error (FAIL), incomplete (INCOMPLETE), warning or info.' }),
    step: t.exposeString('step'),
    message: t.exposeString('message'),
    entries: t.exposeIntList('entries', { description: 'Log indexes of the entries involved.' }),
  }),
});

const OutcomeEnum = builder.enumType('Outcome', {
  description: 'What the verdict means for the device: UNKNOWN when no entry names it, RECALLED when a counted recall touches it.',
  values: ['PASS', 'FAIL', 'INCOMPLETE', 'RECALLED', 'UNKNOWN'] as const,
});

const RecallRef = builder.objectRef<RecallNotice>('RecallNotice').implement({
  fields: (t) => ({
    id: t.exposeString('id'),
    title: t.exposeString('title'),
    action: t.string({ nullable: true, resolve: (r) => r.action ?? null }),
    entries: t.exposeIntList('entries'),
  }),
});

const EvaluationRef = builder.objectRef<Evaluation & DeviceOutcome>('Evaluation').implement({
  description: "The server's own evaluation, for information; a client that must not trust the server verifies `evidence` with the same policy instead.",
  fields: (t) => ({
    outcome: t.field({ type: OutcomeEnum, resolve: (e) => e.outcome }),
    recalls: t.field({ type: [RecallRef], resolve: (e) => e.recalls }),
    verdict: t.field({ type: VerdictEnum, resolve: (e) => e.verdict }),
    policy: t.exposeString('policy', { description: 'Name of the policy applied.' }),
    evaluatedAt: t.expose('evaluatedAt', { type: 'EpochSeconds' }),
    findings: t.field({ type: [FindingRef], resolve: (e) => e.findings }),
    firmware: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The firmware the device runs now ({running: [sha256…], history: [{firmware, from, fromVersion, to, version, updatedAt, by, logIndex}]}), after its counted firmware updates.',
      resolve: (e) => e.firmware ?? null,
    }),
  }),
});

interface DeviceModel {
  udi: string;
}

const policyOf = (p: unknown): Policy => (p === null || p === undefined ? defaultPolicy() : parsePolicy(p));

const DeviceRef = builder.objectRef<DeviceModel>('Device').implement({
  description: 'A device, identified by GTIN and serial.',
  fields: (t) => ({
    udi: t.exposeString('udi', { description: 'Canonical "(01)<GTIN>(21)<serial>".' }),
    provenance: t.field({
      type: 'JSON',
      description: 'The provenance graph as the server sees it (unverified): assembly, components, firmware (build, SBOM, tests), release, custody, installation, advisories. Clients that must not trust the server draw the tree from verified `evidence` instead, as the web page does.',
      resolve: async (d, _a, { devices }) => {
        const { graph, evaluation } = await devices.verify(d.udi, defaultPolicy());
        return graphView(graph, evaluation);
      },
    }),
    verify: t.field({
      type: EvaluationRef,
      description: 'Evaluates a policy (JSON, see attestations/policy.schema.json; default: the release policy).',
      args: { policy: t.arg({ type: 'JSON' }) },
      resolve: async (d, { policy }, { devices }) => {
        const { graph, evaluation } = await devices.verify(d.udi, policyOf(policy));
        return { ...evaluation, ...outcomeOf(graph, evaluation) };
      },
    }),
    evidence: t.field({
      type: 'JSON',
      description: 'An evidence package that `pedigree verify-evidence` checks offline. `fromSize`: add a consistency proof from a checkpoint you trust.',
      args: { policy: t.arg({ type: 'JSON' }), fromSize: t.arg.int() },
      resolve: (d, { policy, fromSize }, { devices }) => devices.evidence(d.udi, policyOf(policy), fromSize ?? undefined),
    }),
  }),
});

const Affected = builder.objectRef<InstalledDevice>('AffectedDevice').implement({
  fields: (t) => ({
    udi: t.exposeString('udi'),
    assemblyLogIndex: t.exposeInt('assembly'),
    installations: t.field({ type: 'JSON', description: 'Installation records (site, time, entry), oldest first.', resolve: (d) => d.installations.map(nodeView) }),
    custody: t.field({ type: 'JSON', description: 'Custody transfers, oldest first.', resolve: (d) => d.custody.map(nodeView) }),
    firmware: t.field({
      type: 'JSON',
      description: 'For firmwareDigest and purl questions: the matching images the device runs now ({sha256, name, version, components}), after its counted firmware updates.',
      resolve: (d) => d.firmware ?? [],
    }),
  }),
});

interface FirmwareModel {
  sha256: string;
  model: string;
}

const FirmwareImageRef = builder.objectRef<FirmwareModel>('FirmwareImage').implement({
  description: 'A firmware image (by the SHA-256 of its bytes) considered for a device model (GTIN-14): the update gate.',
  fields: (t) => ({
    sha256: t.exposeString('sha256'),
    model: t.exposeString('model'),
    evidence: t.field({
      type: 'JSON',
      description: 'An evidence package about the image for the model, which `pedigree verify-firmware` and the page verify: its release, build, SBOM, tests, advisories, vulnerabilities, VEX and the images that fix them, with index proofs. `fromSize`: add a consistency proof from a checkpoint you trust.',
      args: { policy: t.arg({ type: 'JSON' }), fromSize: t.arg.int() },
      resolve: (f, { policy, fromSize }, { devices }) => devices.firmwareEvidence(f.sha256, f.model, policyOf(policy), fromSize ?? undefined),
    }),
  }),
});

builder.queryFields((t) => ({
  device: t.field({
    type: DeviceRef,
    description: 'A device by UDI in any form (GS1 human-readable, scanner text or Digital Link; HIBCC; ICCBBA). Errors with a UDI_* code when the UDI is invalid.',
    args: { udi: t.arg.string({ required: true }) },
    resolve: (_r, { udi }) => ({ udi: normaliseDeviceUdi(udi) }),
  }),
  firmwareImage: t.field({
    type: FirmwareImageRef,
    description: 'A firmware image by the SHA-256 (hex) of its bytes, for a device model by GTIN-14.',
    args: { sha256: t.arg.string({ required: true }), model: t.arg.string({ required: true }) },
    resolve: (_r, { sha256, model }) => {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ProvenanceError('INVALID_ARGUMENT', 'sha256 must be 64 lowercase hex digits (the SHA-256 of the image)');
      return { sha256, model: checkModelGtin(model) };
    },
  }),
  affectedDevices: t.field({
    type: [Affected],
    description:
      'Blast radius: every device whose latest assembly contains the lot or part serial, or that runs the firmware image now, or runs firmware whose SBOM lists the component (`purl` with a version, or a package `purl` and a `range` in purl vers syntax such as "vers:generic/>=3.0.0|<3.0.8"); give one of lot, partSerial, firmwareDigest or purl. Images whose manufacturer states not_affected (VEX) for that component are left out. With where each device is installed.',
    args: { lot: t.arg.string(), partSerial: t.arg.string(), firmwareDigest: t.arg.string(), purl: t.arg.string(), range: t.arg.string() },
    resolve: (_r, a, { devices }) =>
      devices.affectedDevices({
        ...(a.lot != null && { lot: a.lot }),
        ...(a.partSerial != null && { partSerial: a.partSerial }),
        ...(a.firmwareDigest != null && { firmwareDigest: a.firmwareDigest }),
        ...(a.purl != null && { purl: a.purl }),
        ...(a.range != null && { range: a.range }),
      }),
  }),
}));
