/**
 * What a verdict means for the person holding the device. Besides PASS, FAIL and INCOMPLETE:
 * UNKNOWN when nothing in the ledger names the device at all (a mistyped serial, a label from
 * another system, a counterfeit), and RECALLED when a counted recall touches it, named at the
 * top with the recall's own action text. Pure; the server, the CLI and the page share it.
 */
import type { AttNode, DeviceGraph, FirmwareGraph } from './graph.js';
import type { Evaluation } from './policy.js';

export type Outcome = 'PASS' | 'FAIL' | 'INCOMPLETE' | 'RECALLED' | 'UNKNOWN';

export interface RecallNotice {
  readonly id: string;
  readonly title: string;
  readonly action?: string;
  readonly entries: number[];
}

export interface DeviceOutcome {
  readonly outcome: Outcome;
  /** The counted recalls, when the outcome is RECALLED. */
  readonly recalls: RecallNotice[];
}

/** True when no entry at all names the device. */
export function isUnknown(g: DeviceGraph): boolean {
  return g.assemblies.length === 0 && g.releases.length === 0 && g.custody.length === 0 && g.installations.length === 0 && g.tests.length === 0 && g.advisories.length === 0;
}

export function outcomeOf(g: DeviceGraph, e: Evaluation): DeviceOutcome {
  if (isUnknown(g)) return { outcome: 'UNKNOWN', recalls: [] };
  return withRecalls([...g.advisories, ...g.components.flatMap((c) => c.advisories), ...g.firmware.flatMap((f) => f.advisories)], e);
}

/** A firmware image is UNKNOWN when nothing in the ledger names it (a flipped byte, an image from elsewhere). */
export function firmwareOutcomeOf(g: FirmwareGraph, e: Evaluation): DeviceOutcome {
  const f = g.firmware;
  if ([f.images, f.builds, f.sboms, f.tests, f.advisories, f.vex].every((l) => l.length === 0)) return { outcome: 'UNKNOWN', recalls: [] };
  return withRecalls(f.advisories, e);
}

function withRecalls(advisories: readonly AttNode[], e: Evaluation): DeviceOutcome {
  const nodes = new Map(advisories.map((n) => [n.logIndex, n]));
  const recalls = e.findings
    .filter((f) => f.code === 'RECALLED')
    .map((f) => {
      const p = (nodes.get(f.entries[0]!)?.statement.predicate ?? {}) as { id?: string; title?: string; action?: string };
      return { id: p.id ?? String(f.entries[0]), title: p.title ?? f.message, ...(p.action !== undefined && { action: p.action }), entries: f.entries };
    });
  if (recalls.length > 0) return { outcome: 'RECALLED', recalls };
  return { outcome: e.verdict, recalls: [] };
}

/** Who released the image for the model, as the verdict counts it: not those whose release a firmware finding names. */
export function countedReleasers(g: FirmwareGraph, e: Evaluation): string[] {
  const notCounted = new Set(e.findings.filter((x) => x.step === 'firmware').flatMap((x) => x.entries));
  return [...new Set(g.firmware.images.filter((n) => !notCounted.has(n.logIndex)).map((n) => n.signer ?? '?'))];
}
