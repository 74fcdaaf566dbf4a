/**
 * Release policies and their evaluation. Evaluation is pure and synchronous: the graph, the
 * policy, the time and what is known of each signing key go in; a verdict and findings come out.
 * No I/O, so the web page runs the same code (policy-io.ts loads and validates policies).
 */
import { resolvePredicateType, type Role } from '../attest/predicates.js';
import { bySignedOrder } from '../attest/order.js';
import { advisoryNotAuthorised, custodyChain, deviceNotOwned, namespaceOf, ownsNamespace, type AdvisoryTarget } from '../trust/authority.js';
import type { SignerInfo } from '../trust/registry.js';
import type { AttNode, DeviceGraph } from './graph.js';

export type StepName = 'assembly' | 'component' | 'firmware' | 'build' | 'sbom' | 'test' | 'release' | 'custody' | 'installation';
export const STEPS: readonly StepName[] = ['assembly', 'component', 'firmware', 'build', 'sbom', 'test', 'release', 'custody', 'installation'];
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
};

export interface StepRule {
  readonly required?: boolean;
  readonly roles?: readonly Role[];
  readonly participants?: readonly string[];
  readonly threshold?: number;
  readonly maxAgeDays?: number;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface Policy {
  readonly name: string;
  readonly description?: string;
  readonly steps: Partial<Record<StepName, StepRule>>;
  readonly requirePassingTests?: boolean;
  readonly requireSupplierMatch?: boolean;
  readonly advisories?: { readonly block?: readonly Severity[]; readonly recallsBlock?: boolean };
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
  | 'ADVISORY_WITHDRAWN';

export interface Finding {
  readonly code: FindingCode;
  readonly severity: FindingSeverity;
  readonly step: StepName | 'advisory';
  readonly message: string;
  /** Log indexes of the entries involved. */
  readonly entries: number[];
}

export interface Evaluation {
  readonly verdict: Verdict;
  readonly findings: Finding[];
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
export function revokedAt(rev: { effectiveTime: number; reason: string; logIndex: number }, n: { integratedTime: number; logIndex: number }): boolean {
  if (rev.reason === 'compromise') return rev.effectiveTime <= n.integratedTime;
  return rev.effectiveTime < n.integratedTime || (rev.effectiveTime === n.integratedTime && n.logIndex > rev.logIndex);
}

export function evaluate(graph: DeviceGraph, policy: Policy, ctx: EvaluationContext): Evaluation {
  const g = graph;
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
  const ownsDevice = (info: SignerInfo) => deviceNotOwned(info, g.udi);

  const assemblies = judge('assembly', g.assembly ? [g.assembly] : [], `device ${g.udi}`, ownsDevice);
  if (!g.assembly) {
    if (rule('assembly').required !== false) add('ASSEMBLY_MISSING', 'incomplete', 'assembly', `device ${g.udi}: no assembly record, so its components and firmware are unknown`);
  }
  /** The device's manufacturer: whoever signed the assembly record that counts. */
  const manufacturer = assemblies[0] ? ctx.signer(assemblies[0].keyId)?.participant : undefined;

  // An assembly that lists no components or no firmware cannot satisfy steps that require them.
  if (g.assembly && assemblies.length > 0) {
    if (rule('component').required && g.components.length === 0) add('COMPONENT_UNATTESTED', 'incomplete', 'component', `device ${g.udi}: the assembly record lists no components`, [g.assembly]);
    for (const [step, code] of [['firmware', 'FIRMWARE_UNATTESTED'], ['build', 'BUILD_MISSING'], ['sbom', 'SBOM_MISSING'], ['test', 'TEST_MISSING']] as const) {
      if (rule(step).required && g.firmware.length === 0) add(code, 'incomplete', step, `device ${g.udi}: the assembly record lists no firmware, so there is no ${step} evidence`, [g.assembly]);
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
    checkTests(c.tests, what);
  }

  for (const f of g.firmware) {
    const what = `firmware ${f.name}${f.version ? ` ${f.version}` : ''} (sha256 ${f.sha256.slice(0, 12)}…)`;
    const images = judge('firmware', f.images, what, ({ participant }) => (participant === manufacturer ? undefined : `${participant} is not the device's manufacturer`));
    missing('firmware', 'FIRMWARE_UNATTESTED', what, f.images, images);
    missing('build', 'BUILD_MISSING', `${what} build provenance`, f.builds, judge('build', f.builds, `${what} build provenance`, otherMaker('build')));
    missing('sbom', 'SBOM_MISSING', `${what} SBOM`, f.sboms, judge('sbom', f.sboms, `${what} SBOM`, (info, n) => otherMaker('sbom')(info, n) ?? firmwareParty(info)));
    const tests = checkTests(f.tests, what);
    missing('test', 'TEST_MISSING', `${what} tests`, f.tests, tests);
  }
  checkTests(g.tests, `device ${g.udi}`);

  const releases = judge('release', g.releases, `device ${g.udi} release`, ownsDevice);
  missing('release', 'RELEASE_MISSING', `device ${g.udi} release decision`, g.releases, releases);
  const latestRelease = releases[releases.length - 1];
  if (latestRelease && (latestRelease.statement.predicate as { verificationResult?: string }).verificationResult === 'FAILED') {
    add('RELEASE_FAILED', 'error', 'release', `device ${g.udi}: the latest release decision is FAILED`, [latestRelease]);
  }
  // Custody and installation follow the device from its manufacturer (authority rule 5).
  const chain = custodyChain(manufacturer, g.custody);
  const inChain = new Set(chain.counted.map((n) => n.logIndex));
  missing('custody', 'CUSTODY_MISSING', `device ${g.udi} custody`, g.custody, judge('custody', g.custody, `device ${g.udi} custody`, (info, n) => (inChain.has(n.logIndex) ? undefined : `${info.participant} does not hold the device to transfer it`)));
  missing('installation', 'INSTALLATION_MISSING', `device ${g.udi} installation`, g.installations, judge('installation', g.installations, `device ${g.udi} installation`, (info) => (info.participant === chain.holder ? undefined : `${info.participant} does not hold the device (${chain.holder ?? 'no one known'} does)`)));

  // Advisories and recalls touching the device, its components or its firmware. Each counts
  // only from a signer with authority over something it touches (authority.ts), and only in
  // its latest version: an advisory's signer updates or withdraws it by issuing the same id
  // with a later issuedAt (order.ts).
  const block = new Set(policy.advisories?.block ?? ['high', 'critical']);
  const recallsBlock = policy.advisories?.recallsBlock ?? true;
  const advisories = new Map<number, { node: AttNode; on: string[]; targets: AdvisoryTarget[] }>();
  const touch = (n: AttNode, on: string, target: AdvisoryTarget) => {
    const a = advisories.get(n.logIndex) ?? { node: n, on: [], targets: [] };
    a.on.push(on);
    a.targets.push(target);
    advisories.set(n.logIndex, a);
  };
  for (const n of g.advisories) touch(n, `device ${g.udi}`, { manufacturer, owners: [] });
  for (const c of g.components) {
    const id = c.partSerial ?? c.lot;
    for (const n of c.advisories) touch(n, `component ${id}`, { manufacturer, owners: id === undefined ? [] : [namespaceOf(id)] });
  }
  for (const f of g.firmware) for (const n of f.advisories) touch(n, `firmware ${f.name}`, { manufacturer, owners: [] });
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

  const verdict: Verdict = findings.some((f) => f.severity === 'error') ? 'FAIL' : findings.some((f) => f.severity === 'incomplete') ? 'INCOMPLETE' : 'PASS';
  return { verdict, findings, policy: policy.name, evaluatedAt: ctx.now };

  /**
   * A manufacturer speaks for its own devices and their firmware: where it is allowed a step only
   * as a manufacturer, another manufacturer's statement does not count (authority rule 4).
   */
  function otherMaker(step: StepName): (info: SignerInfo, node?: AttNode) => string | undefined {
    const roles = rule(step).roles ?? resolvePredicateType(STEP_TYPE[step]).roles;
    return (info) => {
      const as = info.roles.filter((x) => roles.includes(x));
      return as.length === 1 && as[0] === 'manufacturer' && info.participant !== manufacturer ? `${info.participant} is another manufacturer, not this device's` : undefined;
    };
  }

  /** Who may describe a firmware image: its device's manufacturer, or a builder (not a supplier). */
  function firmwareParty(info: SignerInfo): string | undefined {
    return info.participant === manufacturer || info.roles.includes('builder') ? undefined : `${info.participant} neither makes this device nor builds its firmware`;
  }

  function checkTests(nodes: readonly AttNode[], what: string): AttNode[] {
    const valid = judge('test', nodes, `${what} tests`, otherMaker('test'));
    if (policy.requirePassingTests !== false) {
      const failed = valid.filter((n) => (n.statement.predicate as { result?: string }).result === 'FAILED');
      if (failed.length > 0) add('TEST_FAILED', 'error', 'test', `${what}: a test run FAILED`, failed);
    }
    return valid;
  }
}
