/**
 * Release policies and their evaluation. Evaluation is pure and synchronous: the graph, the
 * policy, the time and what is known of each signing key go in; a verdict and findings come out.
 * No I/O, so the web page runs the same code (policy-io.ts loads and validates policies).
 */
import { resolvePredicateType, type Role } from '../attest/predicates.js';
import { bySignedOrder } from '../attest/order.js';
import { advisoryNotAuthorised, custodyChain, deviceNotOwned, namespaceOf, ownsNamespace, type AdvisoryTarget } from '../trust/authority.js';
import type { SignerInfo } from '../trust/registry.js';
import { componentsOf, vexStatements, vulnerabilityIds, type AttNode, type DeviceGraph, type FirmwareGraph, type FirmwareNode, type UpdatePredicate } from './graph.js';
import { advisoryComponents, byPackage, matching } from '../sbom/sbom.js';
import { productOfDeviceKey } from '../udi/udi.js';

export type StepName = 'assembly' | 'component' | 'firmware' | 'build' | 'sbom' | 'test' | 'release' | 'custody' | 'installation' | 'update' | 'vex';
export const STEPS: readonly StepName[] = ['assembly', 'component', 'firmware', 'build', 'sbom', 'test', 'release', 'custody', 'installation', 'update', 'vex'];
const STEP_TYPE: Record<StepName, string> = {
  assembly: 'device-assembly',
  component: 'component',
  firmware: 'firmware',
  build: 'slsa-provenance',
  sbom: 'cyclonedx',
  test: 'test-result',
  release: 'slsa-vsa',
  custody: 'custody-transfer',
  installation: 'installation',
  update: 'firmware-update',
  vex: 'openvex',
};

export interface StepRule {
  readonly required?: boolean;
  readonly roles?: readonly Role[];
  readonly participants?: readonly string[];
  readonly threshold?: number;
  readonly maxAgeDays?: number;
  /** Build step only: the SLSA builder ids (runDetails.builder.id) whose builds count. */
  readonly builders?: readonly string[];
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface Policy {
  readonly name: string;
  readonly description?: string;
  readonly steps: Partial<Record<StepName, StepRule>>;
  readonly requirePassingTests?: boolean;
  readonly requireSupplierMatch?: boolean;
  readonly advisories?: { readonly block?: readonly Severity[]; readonly recallsBlock?: boolean };
  /**
   * Vulnerabilities of the firmware's components: those of a `block` severity (default high,
   * critical) that the manufacturer has not stated `not_affected` or `fixed` for fail the device
   * (`unmitigated: "fail"`, the default) or warn (`"warn"`).
   */
  readonly vulnerabilities?: { readonly block?: readonly Severity[]; readonly unmitigated?: 'fail' | 'warn' };
}

export type Verdict = 'PASS' | 'FAIL' | 'INCOMPLETE';
export type FindingSeverity = 'error' | 'incomplete' | 'warning' | 'info';

export type FindingCode =
  | 'ASSEMBLY_MISSING'
  | 'COMPONENT_UNATTESTED'
  | 'FIRMWARE_UNATTESTED'
  | 'BUILD_MISSING'
  | 'SBOM_MISSING'
  | 'TEST_MISSING'
  | 'RELEASE_MISSING'
  | 'CUSTODY_MISSING'
  | 'INSTALLATION_MISSING'
  | 'THRESHOLD_NOT_MET'
  | 'SIGNER_UNKNOWN'
  | 'SIGNER_REVOKED'
  | 'SIGNER_NOT_ALLOWED'
  | 'EVIDENCE_TOO_OLD'
  | 'COMPONENT_SUPPLIER_MISMATCH'
  | 'TEST_FAILED'
  | 'RELEASE_FAILED'
  | 'RECALLED'
  | 'ADVISORY_BLOCKING'
  | 'ADVISORY_NOTICE'
  | 'ADVISORY_NOT_AUTHORISED'
  | 'ADVISORY_WITHDRAWN'
  | 'FIRMWARE_NOT_RELEASED'
  | 'FIRMWARE_UPDATE_MISMATCH'
  | 'VULNERABLE'
  | 'VULNERABILITY_NOT_AFFECTED'
  | 'VULNERABILITY_FIXED'
  | 'UPDATE_AVAILABLE';

export interface Finding {
  readonly code: FindingCode;
  readonly severity: FindingSeverity;
  readonly step: StepName | 'advisory' | 'vulnerability';
  readonly message: string;
  /** Log indexes of the entries involved. */
  readonly entries: number[];
}

/** A counted firmware update of the device. */
export interface FirmwareChange {
  readonly logIndex: number;
  readonly firmware: string;
  readonly from: string;
  readonly to: string;
  /** The version updated from, as the image's release names it (or the update record does). */
  readonly fromVersion?: string;
  readonly version?: string;
  readonly updatedAt?: string;
  readonly by: string;
}

export interface Evaluation {
  readonly verdict: Verdict;
  readonly findings: Finding[];
  /** The firmware the device runs now (sha256 per image, after counted updates) and how it got there. */
  readonly firmware?: { readonly running: string[]; readonly history: FirmwareChange[] };
  readonly policy: string;
  /** Seconds since the epoch at which the policy was evaluated. */
  readonly evaluatedAt: number;
}

export type { SignerInfo };

export interface EvaluationContext {
  /** Seconds since the epoch. */
  readonly now: number;
  readonly signer: (keyId: string) => SignerInfo | undefined;
}

const DAY = 86_400;

/**
 * Whether a revocation covers an entry. A compromise covers everything integrated from its
 * effective time on. A routine one (a key retired by a new registration, a superseded or retired
 * key) takes effect after its own entry: what was logged before it, in the same second too,
 * stays valid.
 */
export function revokedAt(rev: { effectiveTime: number; reason: string; logIndex: number; until?: number }, n: { integratedTime: number; logIndex: number; signedAt?: number }): boolean {
  // A certificate used earlier than it was logged (its own Rekor entry shows when) is revoked
  // when either time is covered: a window it was used in counts, though it ended before logging.
  if (n.signedAt !== undefined && n.signedAt < n.integratedTime && rev.effectiveTime <= n.signedAt && (rev.until === undefined || n.signedAt < rev.until)) return true;
  // A revoked window ends: what was integrated after it counts again.
  if (rev.until !== undefined && n.integratedTime >= rev.until) return false;
  if (rev.reason === 'compromise') return rev.effectiveTime <= n.integratedTime;
  return rev.effectiveTime < n.integratedTime || (rev.effectiveTime === n.integratedTime && n.logIndex > rev.logIndex);
}

export function evaluate(graph: DeviceGraph, policy: Policy, ctx: EvaluationContext): Evaluation {
  const g = graph;
  const j = judgement(policy, ctx);
  const { add, judge, missing, rule } = j;
  const ownsDevice = (info: SignerInfo) => deviceNotOwned(info, g.udi);

  const assemblies = judge('assembly', g.assembly ? [g.assembly] : [], `device ${g.udi}`, ownsDevice);
  if (!g.assembly) {
    if (rule('assembly').required !== false) add('ASSEMBLY_MISSING', 'incomplete', 'assembly', `device ${g.udi}: no assembly record, so its components and firmware are unknown`);
  }
  /** The device's manufacturer: whoever signed the assembly record that counts. */
  const manufacturer = assemblies[0] ? ctx.signer(assemblies[0].keyId)?.participant : undefined;
  const model = productOfDeviceKey(g.udi);
  // Custody and installation follow the device from its manufacturer (authority rule 5).
  const chain = custodyChain(manufacturer, g.custody);

  // The firmware it runs now: its assembly's, changed by each firmware update that counts.
  const running = runningFirmware();

  // An assembly that lists no components or no firmware cannot satisfy steps that require them.
  if (g.assembly && assemblies.length > 0) {
    if (rule('component').required && g.components.length === 0) add('COMPONENT_UNATTESTED', 'incomplete', 'component', `device ${g.udi}: the assembly record lists no components`, [g.assembly]);
    for (const [step, code] of [['firmware', 'FIRMWARE_UNATTESTED'], ['build', 'BUILD_MISSING'], ['sbom', 'SBOM_MISSING'], ['test', 'TEST_MISSING']] as const) {
      if (rule(step).required && running.images.length === 0) add(code, 'incomplete', step, `device ${g.udi}: the assembly record lists no firmware, so there is no ${step} evidence`, [g.assembly]);
    }
  }

  for (const c of g.components) {
    const what = `component ${c.componentType} ${c.partSerial ?? c.lot ?? ''}`.trim();
    const id = c.partSerial ?? c.lot;
    const owner = ({ participant }: SignerInfo) => (id === undefined || ownsNamespace(participant, id) ? undefined : `${participant} does not own ${id} (its supplier is ${namespaceOf(id)})`);
    const valid = judge('component', c.attestations, what, owner);
    missing('component', 'COMPONENT_UNATTESTED', what, c.attestations, valid);
    if (policy.requireSupplierMatch !== false && c.supplier !== undefined) {
      const wrong = valid.filter((n) => ctx.signer(n.keyId)!.participant !== c.supplier);
      if (wrong.length > 0 && wrong.length === valid.length) {
        add('COMPONENT_SUPPLIER_MISMATCH', 'error', 'component', `${what}: the assembly names supplier ${c.supplier} but it was attested by ${ctx.signer(wrong[0]!.keyId)!.participant}`, wrong);
      }
    }
    j.checkTests(c.tests, what, manufacturer);
  }

  const advisories: AdvisoryTouch[] = [];
  for (const f of running.images) j.checkFirmware(f, model, manufacturer, g.available, advisories);
  j.checkTests(g.tests, `device ${g.udi}`, manufacturer);

  const releases = judge('release', g.releases, `device ${g.udi} release`, ownsDevice);
  missing('release', 'RELEASE_MISSING', `device ${g.udi} release decision`, g.releases, releases);
  const latestRelease = releases[releases.length - 1];
  if (latestRelease && (latestRelease.statement.predicate as { verificationResult?: string }).verificationResult === 'FAILED') {
    add('RELEASE_FAILED', 'error', 'release', `device ${g.udi}: the latest release decision is FAILED`, [latestRelease]);
  }
  const inChain = new Set(chain.counted.map((n) => n.logIndex));
  missing('custody', 'CUSTODY_MISSING', `device ${g.udi} custody`, g.custody, judge('custody', g.custody, `device ${g.udi} custody`, (info, n) => (inChain.has(n.logIndex) ? undefined : `${info.participant} does not hold the device to transfer it`)));
  missing('installation', 'INSTALLATION_MISSING', `device ${g.udi} installation`, g.installations, judge('installation', g.installations, `device ${g.udi} installation`, (info) => (info.participant === chain.holder ? undefined : `${info.participant} does not hold the device (${chain.holder ?? 'no one known'} does)`)));

  // Advisories and recalls touching the device, its components or its firmware.
  for (const n of g.advisories) advisories.push({ node: n, on: `device ${g.udi}`, target: { manufacturer, owners: [] } });
  for (const c of g.components) {
    const id = c.partSerial ?? c.lot;
    for (const n of c.advisories) advisories.push({ node: n, on: `component ${id}`, target: { manufacturer, owners: id === undefined ? [] : [namespaceOf(id)] } });
  }
  j.checkAdvisories(advisories);
  return { ...j.result(), firmware: { running: running.images.map((f) => f.sha256), history: running.history } };

  function runningFirmware(): { images: FirmwareNode[]; history: FirmwareChange[] } {
    // One slot per image the assembly lists, in its order (two may share a name).
    const slots = g.firmware.filter((f) => f.fitted === 'assembly');
    const byDigest = new Map(g.firmware.map((f) => [f.sha256, f]));
    const history: FirmwareChange[] = [];
    // Who may say what a device runs: its manufacturer (its service), or whoever held the device
    // when the update was made, by signed order of the custody transfers that count.
    const holderAt = (u: AttNode) => {
      let holder = manufacturer;
      for (const t of chain.counted) if (bySignedOrder(t, u) < 0) holder = String(t.statement.predicate.to);
      return holder;
    };
    const counted = judge('update', g.updates, `device ${g.udi} firmware update`, (info, u) => {
      const holder = holderAt(u);
      return info.participant === manufacturer || info.participant === holder ? undefined : `${info.participant} neither made the device nor held it then (${holder ?? 'no one known'} did)`;
    });
    for (const u of counted) {
      const p = u.statement.predicate as UpdatePredicate;
      const name = String(p.firmware ?? '');
      const from = p.from?.digest?.sha256 ?? '';
      const to = p.to?.digest?.sha256 ?? '';
      const at = slots.findIndex((f) => f.name === name && f.sha256 === from);
      const target = byDigest.get(to);
      if (at < 0 || !target) {
        const now = slots.filter((f) => f.name === name);
        add('FIRMWARE_UPDATE_MISMATCH', 'warning', 'update', `device ${g.udi}: entry ${u.logIndex} updates ${name} from sha256 ${from.slice(0, 12)}…, but the device ${now.length ? `runs ${now.map((f) => `sha256 ${f.sha256.slice(0, 12)}…`).join(' and ')}` : `has no firmware named ${name}`}; not applied`, [u]);
        continue;
      }
      const fromVersion = slots[at]!.version ?? p.from?.version;
      slots[at] = { ...target, name };
      history.push({ logIndex: u.logIndex, firmware: name, from, to, ...(fromVersion !== undefined && { fromVersion }), ...(p.to?.version !== undefined && { version: p.to.version }), ...(p.updatedAt !== undefined && { updatedAt: p.updatedAt }), by: ctx.signer(u.keyId)!.participant });
    }
    return { images: slots, history };
  }
}

/** Where an advisory touches and who may speak about that (authority.ts rule 3). */
interface AdvisoryTouch {
  readonly node: AttNode;
  readonly on: string;
  readonly target: AdvisoryTarget;
}

export interface FirmwareEvaluationContext extends EvaluationContext {
  /** The participant registered as the manufacturer of the model (from the registry). */
  readonly manufacturer: string | undefined;
}

/**
 * The update gate: whether a firmware image may be flashed onto devices of `model` (GTIN-14):
 * released by the model's manufacturer for that model, built by an allowed builder, with an
 * SBOM and passing tests, not recalled, and no unmitigated blocking vulnerability.
 */
export function evaluateFirmware(graph: FirmwareGraph, model: string, policy: Policy, ctx: FirmwareEvaluationContext): Evaluation {
  const j = judgement(policy, ctx);
  const advisories: AdvisoryTouch[] = [];
  if (ctx.manufacturer === undefined) j.add('FIRMWARE_NOT_RELEASED', 'incomplete', 'firmware', `no registered participant makes model ${model}, so no one can release firmware for it`);
  j.checkFirmware(graph.firmware, model, ctx.manufacturer, graph.available, advisories);
  // Released, but by others only (for their own models): not an image for this model, whatever comes later.
  const f = graph.firmware;
  const others = f.images.filter((n) => ctx.signer(n.keyId) !== undefined && ctx.signer(n.keyId)!.participant !== ctx.manufacturer);
  if (ctx.manufacturer !== undefined && others.length > 0 && others.length === f.images.length) {
    const who = [...new Set(others.map((n) => ctx.signer(n.keyId)!.participant))].join(', ');
    j.add('FIRMWARE_NOT_RELEASED', 'error', 'firmware', `firmware sha256 ${f.sha256.slice(0, 12)}… was released by ${who}, not by ${ctx.manufacturer}, who makes model ${model}`, others);
  }
  j.checkAdvisories(advisories);
  return j.result();
}

/** The verdict machinery both evaluations share: counting signers, findings and advisories. */
function judgement(policy: Policy, ctx: EvaluationContext) {
  const findings: Finding[] = [];
  const add = (code: FindingCode, severity: FindingSeverity, step: Finding['step'], message: string, entries: AttNode[] = []) =>
    findings.push({ code, severity, step, message, entries: entries.map((n) => n.logIndex) });
  const rule = (s: StepName): StepRule => policy.steps[s] ?? {};
  const reported = new Set<string>();

  /**
   * The nodes that count for a step: known, unrevoked, allowed and fresh signers. `authority`
   * adds a rule of authority.ts: the reason a signer may not speak about this thing, if any.
   */
  const judge = (step: StepName, nodes: readonly AttNode[], what: string, authority?: (signer: SignerInfo, node: AttNode) => string | undefined): AttNode[] => {
    const r = rule(step);
    const roles = r.roles ?? resolvePredicateType(STEP_TYPE[step]).roles;
    const valid: AttNode[] = [];
    for (const n of nodes) {
      const once = (code: FindingCode, severity: FindingSeverity, message: string) => {
        const key = `${code}/${n.logIndex}`;
        if (!reported.has(key)) add(code, severity, step, message, [n]);
        reported.add(key);
      };
      const info = ctx.signer(n.keyId);
      if (!info) {
        once('SIGNER_UNKNOWN', 'error', `${what}: entry ${n.logIndex} is signed by a key no registered participant holds`);
        continue;
      }
      // Someone who may not speak for this step is not counted, and cannot fail the device by
      // speaking: the finding is a warning, and the step stands or is missing without it.
      if ((r.participants && !r.participants.includes(info.participant)) || !info.roles.some((x) => roles.includes(x))) {
        once('SIGNER_NOT_ALLOWED', 'warning', `${what}: ${info.participant} (${info.roles.join(', ')}) may not sign the ${step} step under this policy; not counted`);
        continue;
      }
      const refused = authority?.(info, n);
      if (refused) {
        once('SIGNER_NOT_ALLOWED', 'warning', `${what}: entry ${n.logIndex}: ${refused}; not counted`);
        continue;
      }
      const rev = info.revocations.find((x) => revokedAt(x, n));
      if (rev) {
        once('SIGNER_REVOKED', 'error', `${what}: entry ${n.logIndex} was signed by ${info.participant} after its key was revoked (${rev.reason}, effective ${new Date(rev.effectiveTime * 1000).toISOString()})`);
        continue;
      }
      if (r.maxAgeDays !== undefined && ctx.now - n.integratedTime > r.maxAgeDays * DAY) {
        once('EVIDENCE_TOO_OLD', 'error', `${what}: entry ${n.logIndex} is older than ${r.maxAgeDays} days`);
        continue;
      }
      valid.push(n);
    }
    const threshold = r.threshold ?? 1;
    const signers = new Set(valid.map((n) => ctx.signer(n.keyId)!.participant));
    if (valid.length > 0 && signers.size < threshold) {
      add('THRESHOLD_NOT_MET', 'incomplete', step, `${what}: ${signers.size} of ${threshold} required signers`, valid);
    }
    return valid;
  };

  const missing = (step: StepName, code: FindingCode, what: string, nodes: readonly AttNode[], valid: readonly AttNode[]) => {
    if (rule(step).required && valid.length === 0) add(code, 'incomplete', step, `${what}: ${nodes.length === 0 ? 'no attestation' : 'no attestation that counts'}`);
  };

  /**
   * A manufacturer speaks for its own devices and their firmware: where it is allowed a step only
   * as a manufacturer, another manufacturer's statement does not count (authority rule 4).
   */
  const otherMaker = (step: StepName, manufacturer: string | undefined) => {
    const roles = rule(step).roles ?? resolvePredicateType(STEP_TYPE[step]).roles;
    return (info: SignerInfo): string | undefined => {
      const as = info.roles.filter((x) => roles.includes(x));
      return as.length === 1 && as[0] === 'manufacturer' && info.participant !== manufacturer ? `${info.participant} is another manufacturer, not the one of this device or model` : undefined;
    };
  };

  const checkTests = (nodes: readonly AttNode[], what: string, manufacturer: string | undefined): AttNode[] => {
    const valid = judge('test', nodes, `${what} tests`, otherMaker('test', manufacturer));
    if (policy.requirePassingTests !== false) {
      const failed = valid.filter((n) => (n.statement.predicate as { result?: string }).result === 'FAILED');
      if (failed.length > 0) add('TEST_FAILED', 'error', 'test', `${what}: a test run FAILED`, failed);
    }
    return valid;
  };

  const releasedFor = (n: AttNode, model: string | undefined) => {
    const gtins = (n.statement.predicate as { gtins?: unknown }).gtins;
    return model !== undefined && Array.isArray(gtins) && gtins.includes(model);
  };
  /** The release attestations of an image that count: by the model's manufacturer (authority rule 4). */
  const releases = (f: FirmwareNode, what: string, manufacturer: string | undefined) =>
    judge('firmware', f.images, what, ({ participant }) => (participant === manufacturer ? undefined : `${participant} is not the ${manufacturer === undefined ? 'model' : 'device'}'s manufacturer`));
  const label = (f: FirmwareNode) => `firmware ${f.name}${f.version ? ` ${f.version}` : ''} (sha256 ${f.sha256.slice(0, 12)}…)`;

  /** Every check on one firmware image; its advisories are collected for checkAdvisories. */
  const checkFirmware = (f: FirmwareNode, model: string | undefined, manufacturer: string | undefined, available: readonly FirmwareNode[], advisories: AdvisoryTouch[]) => {
    const what = label(f);
    const images = releases(f, what, manufacturer);
    missing('firmware', 'FIRMWARE_UNATTESTED', what, f.images, images);
    if (images.length > 0 && !images.some((n) => releasedFor(n, model))) {
      add('FIRMWARE_NOT_RELEASED', 'error', 'firmware', `${what}: released by ${manufacturer} but not for model ${model ?? '(unknown)'}`, images);
    }
    const builders = rule('build').builders;
    const builds = judge('build', f.builds, `${what} build provenance`, otherMaker('build', manufacturer));
    const allowedBuilds = builders
      ? builds.filter((n) => {
          const id = (n.statement.predicate as { runDetails?: { builder?: { id?: unknown } } }).runDetails?.builder?.id;
          if (typeof id === 'string' && builders.includes(id)) return true;
          add('SIGNER_NOT_ALLOWED', 'warning', 'build', `${what} build provenance: entry ${n.logIndex} was built by ${typeof id === 'string' ? id : 'an unnamed builder'}, not a builder this policy allows; not counted`, [n]);
          return false;
        })
      : builds;
    missing('build', 'BUILD_MISSING', `${what} build provenance`, f.builds, allowedBuilds);
    // Who may describe what is in the image: its manufacturer, or a builder whose counted build made it.
    const builtBy = new Set(allowedBuilds.map((n) => ctx.signer(n.keyId)!.participant));
    const sboms = judge('sbom', f.sboms, `${what} SBOM`, (info) => otherMaker('sbom', manufacturer)(info) ?? (info.participant === manufacturer || builtBy.has(info.participant) ? undefined : `${info.participant} neither makes this device nor built this image`));
    missing('sbom', 'SBOM_MISSING', `${what} SBOM`, f.sboms, sboms);
    const tests = checkTests(f.tests, what, manufacturer);
    missing('test', 'TEST_MISSING', `${what} tests`, f.tests, tests);
    for (const n of f.advisories) advisories.push({ node: n, on: `firmware ${f.name}`, target: { manufacturer, owners: [] } });
    checkVulnerabilities(f, what, sboms, model, manufacturer, available);
  };

  /** The latest counted VEX statement of the manufacturer on one of `ids` for image `f`. */
  const vexStatus = (f: FirmwareNode, ids: readonly string[], manufacturer: string | undefined): { status: string; node: AttNode; statement: Record<string, unknown> } | undefined => {
    const docs = judge('vex', f.vex, `${label(f)} VEX`, ({ participant }) => (participant === manufacturer ? undefined : `${participant} is not the manufacturer`));
    let out: { status: string; node: AttNode; statement: Record<string, unknown> } | undefined;
    for (const n of [...docs].sort(bySignedOrder)) for (const st of vexStatements(n, ids)) out = { status: String(st.status), node: n, statement: st };
    return out;
  };

  const checkVulnerabilities = (f: FirmwareNode, what: string, sboms: readonly AttNode[], model: string | undefined, manufacturer: string | undefined, available: readonly FirmwareNode[]) => {
    const components = byPackage(sboms.flatMap(componentsOf));
    const block = new Set(policy.vulnerabilities?.block ?? ['high', 'critical']);
    const latest = new Map<string, AttNode>();
    for (const n of [...f.vulnerabilities].sort(bySignedOrder)) {
      const info = ctx.signer(n.keyId);
      const p = n.statement.predicate as { id?: string; severity?: Severity; title?: string };
      const name = `vulnerability ${vulnerabilityIds(n)[0] ?? p.id} (${p.severity})`;
      if (!info || info.revocations.some((x) => revokedAt(x, n))) {
        add('ADVISORY_NOTICE', 'warning', 'vulnerability', `${name} in ${what}, but its signer is ${info ? 'revoked' : 'unknown'}; not counted`, [n]);
        continue;
      }
      const why = advisoryNotAuthorised(info, { manufacturer, owners: [] });
      if (why) {
        add('ADVISORY_NOT_AUTHORISED', 'warning', 'vulnerability', `${name} in ${what}, but ${why}; not counted`, [n]);
        continue;
      }
      latest.set(`${info.participant}\u0000${p.id ?? n.logIndex}`, n);
    }
    for (const n of [...latest.values()].sort((a, b) => a.logIndex - b.logIndex)) {
      const p = n.statement.predicate as { id?: string; severity?: Severity; title?: string; status?: string; affects?: { firmwareDigests?: unknown } };
      const ids = vulnerabilityIds(n);
      const name = `${ids[0] ?? p.id} (${p.severity}) "${p.title ?? ''}"`;
      const direct = Array.isArray(p.affects?.firmwareDigests) && p.affects.firmwareDigests.includes(f.sha256);
      const hits = matching(advisoryComponents(n.statement.predicate), components);
      if (!direct && hits.length === 0) continue; // only through an SBOM that does not count
      const where = hits.length ? ` (${hits.slice(0, 3).map((c) => c.purl).join(', ')}${hits.length > 3 ? ', …' : ''})` : '';
      if (p.status === 'withdrawn') {
        add('ADVISORY_WITHDRAWN', 'info', 'vulnerability', `${name} in ${what}${where}; withdrawn by its signer`, [n]);
        continue;
      }
      const vex = vexStatus(f, ids, manufacturer);
      if (vex?.status === 'not_affected') {
        add('VULNERABILITY_NOT_AFFECTED', 'info', 'vulnerability', `${name} in ${what}${where}: not affected, says ${manufacturer} (${String(vex.statement.justification ?? vex.statement.impact_statement ?? '')})`, [n, vex.node]);
        continue;
      }
      if (vex?.status === 'fixed') {
        add('VULNERABILITY_FIXED', 'info', 'vulnerability', `${name}: fixed in ${what}, says ${manufacturer}`, [n, vex.node]);
        continue;
      }
      // An image the manufacturer released for this model whose VEX says it fixes this.
      const fix = available.find((a) => vexStatus(a, ids, manufacturer)?.status === 'fixed' && releases(a, label(a), manufacturer).some((r) => releasedFor(r, model)));
      const status = vex ? `${manufacturer} says ${vex.status.replace('_', ' ')}${vex.statement.action_statement ? `: ${String(vex.statement.action_statement)}` : ''}` : `no statement from ${manufacturer ?? 'the manufacturer'}`;
      const update = fix ? `; update available: ${fix.name}${fix.version ? ` ${fix.version}` : ''} (sha256 ${fix.sha256.slice(0, 12)}…)` : '';
      const blocking = p.severity !== undefined && block.has(p.severity);
      // The SBOMs that list it name the image: a finding about one image never marks another.
      const listing = sboms.filter((b) => hits.some((h) => componentsOf(b).includes(h)));
      add('VULNERABLE', blocking && policy.vulnerabilities?.unmitigated !== 'warn' ? 'error' : 'warning', 'vulnerability', `${name} in ${what}${where}: ${status}${update}`, [n, ...listing, ...(vex ? [vex.node] : [])]);
      if (fix) add('UPDATE_AVAILABLE', 'info', 'vulnerability', `update available: ${fix.name}${fix.version ? ` ${fix.version}` : ''} (sha256 ${fix.sha256}) fixes ${ids[0] ?? p.id}`, [...fix.images, ...fix.vex]);
    }
  };

  /**
   * Each advisory counts only from a signer with authority over something it touches
   * (authority.ts), and only in its latest version: an advisory's signer updates or withdraws it
   * by issuing the same id with a later issuedAt (order.ts).
   */
  const checkAdvisories = (touches: readonly AdvisoryTouch[]) => {
    const block = new Set(policy.advisories?.block ?? ['high', 'critical']);
    const recallsBlock = policy.advisories?.recallsBlock ?? true;
    const advisories = new Map<number, { node: AttNode; on: string[]; targets: AdvisoryTarget[] }>();
    for (const t of touches) {
      const a = advisories.get(t.node.logIndex) ?? { node: t.node, on: [], targets: [] };
      a.on.push(t.on);
      a.targets.push(t.target);
      advisories.set(t.node.logIndex, a);
    }
    const latest = new Map<string, { node: AttNode; on: string[] }>();
    for (const { node, on, targets } of [...advisories.values()].sort((a, b) => bySignedOrder(a.node, b.node))) {
      const info = ctx.signer(node.keyId);
      const rev = info?.revocations.find((x) => revokedAt(x, node));
      const p = node.statement.predicate as { id?: string; kind?: string; severity?: Severity; title?: string };
      const label = `${p.kind === 'recall' ? 'recall' : 'advisory'} ${p.id ?? node.logIndex} (${p.severity}) "${p.title ?? ''}" affects ${on.join(', ')}`;
      if (!info || rev) {
        add('ADVISORY_NOTICE', 'warning', 'advisory', `${label}, but its signer is ${info ? 'revoked' : 'unknown'}; not counted`, [node]);
        continue;
      }
      const reasons = targets.map((t) => advisoryNotAuthorised(info, t));
      if (reasons.every((r) => r !== undefined)) {
        add('ADVISORY_NOT_AUTHORISED', 'warning', 'advisory', `${label}, but ${reasons[0]}; not counted`, [node]);
        continue;
      }
      // Later versions (signed order) of the same advisory replace earlier ones.
      latest.set(`${info.participant}\u0000${p.id ?? node.logIndex}`, { node, on });
    }
    for (const { node, on } of [...latest.values()].sort((a, b) => a.node.logIndex - b.node.logIndex)) {
      const p = node.statement.predicate as { id?: string; kind?: string; severity?: Severity; title?: string; status?: string };
      const label = `${p.kind === 'recall' ? 'recall' : 'advisory'} ${p.id ?? node.logIndex} (${p.severity}) "${p.title ?? ''}" affects ${on.join(', ')}`;
      if (p.status === 'withdrawn') add('ADVISORY_WITHDRAWN', 'info', 'advisory', `${label}; withdrawn by its signer`, [node]);
      else if (p.kind === 'recall' && recallsBlock) add('RECALLED', 'error', 'advisory', label, [node]);
      else if (p.severity && block.has(p.severity)) add('ADVISORY_BLOCKING', 'error', 'advisory', label, [node]);
      else add('ADVISORY_NOTICE', 'warning', 'advisory', label, [node]);
    }
  };

  const result = (): Evaluation => {
    const verdict: Verdict = findings.some((f) => f.severity === 'error') ? 'FAIL' : findings.some((f) => f.severity === 'incomplete') ? 'INCOMPLETE' : 'PASS';
    return { verdict, findings, policy: policy.name, evaluatedAt: ctx.now };
  };

  return { add, judge, missing, rule, checkTests, checkFirmware, checkAdvisories, result };
}
