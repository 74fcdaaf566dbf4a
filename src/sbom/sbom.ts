/**
 * Software components: package URLs (purl), version ranges (purl "vers") and the components of
 * CycloneDX (1.4–1.6) and SPDX 2.3 JSON SBOMs. Pure, no Node APIs: the page runs it too.
 *
 * A component is named by its package (the purl without version, qualifiers and subpath,
 * normalised by packageurl-js: "pkg:generic/openssl") and its version. The verifiable index
 * files an SBOM under each package it contains (vindex/keys.ts), so "which firmware contains
 * openssl" is one complete list, whatever the version.
 */
import { PackageURL } from 'packageurl-js';
import semverCompare from 'semver/functions/compare.js';
import semverValid from 'semver/functions/valid.js';
import { PedigreeError } from '../errors.js';

export class SbomError extends PedigreeError<'PURL_INVALID' | 'VERS_INVALID'> {
  override readonly name = 'SbomError';
}

/** Nodes one SBOM walk visits at most; an SBOM is bounded by the bundle size limit anyway. */
export const MAX_SBOM_COMPONENTS = 200_000;
const MAX_DEPTH = 32;

export interface PackageRef {
  /** "pkg:<type>/<namespace>/<name>", normalised. */
  readonly package: string;
  readonly version?: string;
  /** The whole normalised purl. */
  readonly purl: string;
}

/** A purl, normalised; throws PURL_INVALID with the reason. */
export function parsePurl(text: string): PackageRef {
  if (typeof text !== 'string' || text.length > 2000) throw new SbomError('PURL_INVALID', 'a package URL is a string of at most 2000 characters');
  let p: PackageURL;
  if (/@(?:[?#]|$)/.test(text.trim())) throw new SbomError('PURL_INVALID', `${JSON.stringify(text.slice(0, 100))} has an empty version after "@": give the version, or leave out the "@"`);
  try {
    p = PackageURL.fromString(text.trim());
  } catch (e) {
    throw new SbomError('PURL_INVALID', `not a package URL (pkg:<type>/<namespace>/<name>@<version>): ${(e as Error).message.replace(/^Invalid purl: /, '')}`);
  }
  const pkg = new PackageURL(p.type, p.namespace ?? undefined, p.name, undefined, undefined, undefined).toString();
  return { package: pkg, ...(p.version ? { version: p.version } : {}), purl: p.toString() };
}

/** The same, or undefined for text that is not a purl (an SBOM may carry anything). */
function tryPurl(text: unknown): PackageRef | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return parsePurl(text);
  } catch {
    return undefined;
  }
}

const CYCLONEDX = 'https://cyclonedx.org/bom';
const SPDX = 'https://spdx.dev/Document/v2.3';
export const SBOM_TYPES: readonly string[] = [CYCLONEDX, SPDX];

/**
 * The components an SBOM statement lists, by purl, without repeats. CycloneDX: every component
 * and nested component (not `metadata.component`, the subject itself). SPDX: every package with a
 * purl external reference, except those the document describes (the subject itself).
 * Components without a purl are not named by package and are not listed.
 */
export function sbomComponents(statement: { readonly predicateType: string; readonly predicate: Record<string, unknown> }): PackageRef[] {
  return readSbom(statement).components;
}

/**
 * The same, and whether the SBOM was read whole: false when it nests components deeper than 32
 * levels or lists more than MAX_SBOM_COMPONENTS (ingestion refuses such SBOMs, so that nothing
 * in one can go unread). A purl without a version takes the component's own version field.
 */
export function readSbom(statement: { readonly predicateType: string; readonly predicate: Record<string, unknown> }): { components: PackageRef[]; whole: boolean } {
  // Read once per predicate: ingestion checks it, the index files it and the verdict matches it.
  let read = sbomCache.get(statement.predicate);
  if (!read) sbomCache.set(statement.predicate, (read = walkSbom(statement)));
  return read;
}

const sbomCache = new WeakMap<object, { components: PackageRef[]; whole: boolean }>();

function walkSbom(statement: { readonly predicateType: string; readonly predicate: Record<string, unknown> }): { components: PackageRef[]; whole: boolean } {
  const out = new Map<string, PackageRef>();
  let visited = 0;
  let whole = true;
  const add = (ref: PackageRef | undefined, version: unknown) => {
    if (!ref) return;
    if (ref.version === undefined && typeof version === 'string' && version.length > 0 && version.length <= 200) {
      try {
        const p = PackageURL.fromString(ref.purl);
        ref = { package: ref.package, version, purl: new PackageURL(p.type, p.namespace ?? undefined, p.name, version, p.qualifiers ?? undefined, p.subpath ?? undefined).toString() };
      } catch {
        // keep it without a version
      }
    }
    if (!out.has(ref.purl)) out.set(ref.purl, ref);
  };
  const p = statement.predicate;
  if (statement.predicateType === CYCLONEDX) {
    const walk = (list: unknown, depth: number) => {
      if (!Array.isArray(list)) return;
      if (depth > MAX_DEPTH) {
        whole = false;
        return;
      }
      for (const c of list) {
        if (++visited > MAX_SBOM_COMPONENTS) {
          whole = false;
          return;
        }
        if (typeof c !== 'object' || c === null) continue;
        add(tryPurl((c as { purl?: unknown }).purl), (c as { version?: unknown }).version);
        walk((c as { components?: unknown }).components, depth + 1);
      }
    };
    walk(p.components, 0);
  } else if (statement.predicateType === SPDX) {
    const described = new Set<string>(Array.isArray(p.documentDescribes) ? p.documentDescribes.filter((x): x is string => typeof x === 'string') : []);
    for (const r of Array.isArray(p.relationships) ? (p.relationships as Array<Record<string, unknown>>) : []) {
      if (r?.relationshipType === 'DESCRIBES' && r.spdxElementId === p.SPDXID && typeof r.relatedSpdxElement === 'string') described.add(r.relatedSpdxElement);
    }
    for (const pkg of Array.isArray(p.packages) ? (p.packages as Array<Record<string, unknown>>) : []) {
      if (++visited > MAX_SBOM_COMPONENTS) {
        whole = false;
        break;
      }
      if (typeof pkg !== 'object' || pkg === null || described.has(String(pkg.SPDXID))) continue;
      for (const ref of Array.isArray(pkg.externalRefs) ? (pkg.externalRefs as Array<Record<string, unknown>>) : []) {
        if (ref?.referenceType === 'purl') add(tryPurl(ref.referenceLocator), pkg.versionInfo);
      }
    }
  }
  return { components: [...out.values()], whole };
}

// --- Versions and ranges -------------------------------------------------------------------

/**
 * Compares two versions of a versioning scheme: semver for npm and semver (when both parse),
 * otherwise a natural order that fits most C libraries' and firmware versions: a leading "v" is
 * ignored, numbers compare as numbers and other runs of characters as text ("3.0.10" > "3.0.9",
 * "1.0.0-rc1" < "1.0.0").
 */
export function compareVersions(scheme: string, a: string, b: string): number {
  if ((scheme === 'npm' || scheme === 'semver') && semverValid(a) && semverValid(b)) return semverCompare(a, b);
  // Debian and RPM versions may carry an epoch, "1:2.4-1", which outranks everything after it.
  if (scheme === 'deb' || scheme === 'rpm') {
    const epoch = (v: string) => (/^([0-9]+):/.exec(v)?.[1] ?? '0');
    const ea = BigInt(epoch(a));
    const eb = BigInt(epoch(b));
    if (ea !== eb) return ea < eb ? -1 : 1;
    a = a.replace(/^[0-9]+:/, '');
    b = b.replace(/^[0-9]+:/, '');
  }
  const tokens = (v: string) => v.replace(/^[vV](?=[0-9])/, '').match(/[0-9]+|[A-Za-z]+|[^0-9A-Za-z]+/g) ?? [];
  const ta = tokens(a);
  const tb = tokens(b);
  for (let i = 0; i < Math.max(ta.length, tb.length); i++) {
    const x = ta[i];
    const y = tb[i];
    if (x === y) continue;
    if (x === undefined) return /^[^0-9A-Za-z]/.test(y!) && /^[A-Za-z]/.test(tb[i + 1] ?? '') ? 1 : -1; // "1.0" > "1.0-rc1"
    if (y === undefined) return /^[^0-9A-Za-z]/.test(x) && /^[A-Za-z]/.test(ta[i + 1] ?? '') ? -1 : 1;
    const nx = /^[0-9]+$/.test(x);
    const ny = /^[0-9]+$/.test(y);
    if (nx && ny) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
      continue;
    }
    if (nx !== ny) return nx ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export type Comparator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export interface Vers {
  readonly scheme: string;
  /** Empty for "*" (every version). */
  readonly constraints: ReadonlyArray<{ readonly comparator: Comparator; readonly version: string }>;
  readonly text: string;
}

/** A purl "vers" range such as "vers:generic/>=3.0.0|<3.0.8"; throws VERS_INVALID with the reason. */
export function parseVers(text: string): Vers {
  const bad = (why: string): never => {
    throw new SbomError('VERS_INVALID', `${JSON.stringify(String(text).slice(0, 100))} is not a version range (vers:<scheme>/<constraint>|<constraint>…, e.g. vers:generic/>=3.0.0|<3.0.8): ${why}`);
  };
  if (typeof text !== 'string' || text.length > 1000) bad('too long');
  const compact = text.replace(/\s+/g, '');
  const m = /^vers:([a-z0-9.+-]+)\/(.+)$/.exec(compact);
  if (!m) bad(/^vers:[a-z0-9.+-]+\/$/.test(compact) ? 'it names no versions after the scheme' : 'it must start with vers:<scheme>/');
  const scheme = m![1]!;
  const body = m![2]!;
  if (body === '*') return { scheme, constraints: [], text: `vers:${scheme}/*` };
  const constraints = body.split('|').map((c) => {
    const cm = /^(!=|<=|>=|<|>|=)?(.+)$/.exec(c);
    if (!cm || cm[2]!.length === 0) bad(`empty constraint in "${c}"`);
    let version: string;
    try {
      version = decodeURIComponent(cm![2]!);
    } catch {
      return bad(`bad escape in "${c}"`);
    }
    if (/[|<>=!*]/.test(version)) bad(`"${c}" is not one comparator and a version`);
    return { comparator: (cm![1] ?? '=') as Comparator, version };
  });
  if (constraints.length > 100) bad('more than 100 constraints');
  const sorted = [...constraints].sort((a, b) => compareVersions(scheme, a.version, b.version));
  for (let i = 1; i < sorted.length; i++) if (compareVersions(scheme, sorted[i - 1]!.version, sorted[i]!.version) === 0) bad(`version ${sorted[i]!.version} appears twice`);
  // The vers rules: in version order, a lower bound (> or >=) may only be followed by an upper
  // bound (< or <=) and an upper bound only by a lower one ("=" and "!=" aside), so that every
  // range reads one way.
  const bounds = sorted.filter((c) => c.comparator !== '=' && c.comparator !== '!=');
  for (let i = 1; i < bounds.length; i++) {
    const lower = (c: { comparator: Comparator }) => c.comparator === '>' || c.comparator === '>=';
    if (lower(bounds[i - 1]!) === lower(bounds[i]!)) bad(`"${bounds[i - 1]!.comparator}${bounds[i - 1]!.version}" and "${bounds[i]!.comparator}${bounds[i]!.version}" are both ${lower(bounds[i]!) ? 'lower' : 'upper'} bounds`);
  }
  return { scheme, constraints: sorted, text: `vers:${scheme}/${sorted.map((c) => `${c.comparator === '=' ? '' : c.comparator}${c.version}`).join('|')}` };
}

/** Whether `version` is in the range, by the purl vers algorithm. */
export function inRange(range: Vers, version: string): boolean {
  const cmp = (a: string, b: string) => compareVersions(range.scheme, a, b);
  if (range.constraints.length === 0) return true;
  for (const c of range.constraints) {
    const d = cmp(version, c.version);
    if (d === 0 && (c.comparator === '=' || c.comparator === '<=' || c.comparator === '>=')) return true;
    if (d === 0 && c.comparator === '!=') return false;
  }
  const rest = range.constraints.filter((c) => c.comparator !== '=' && c.comparator !== '!=');
  if (rest.length === 0) return range.constraints.every((c) => c.comparator === '!=');
  const first = rest[0]!;
  const last = rest[rest.length - 1]!;
  if ((first.comparator === '<' || first.comparator === '<=') && cmp(version, first.version) < 0) return true;
  if ((last.comparator === '>' || last.comparator === '>=') && cmp(version, last.version) > 0) return true;
  for (let i = 0; i + 1 < rest.length; i++) {
    const a = rest[i]!;
    const b = rest[i + 1]!;
    if ((a.comparator === '>' || a.comparator === '>=') && (b.comparator === '<' || b.comparator === '<=') && cmp(version, a.version) > 0 && cmp(version, b.version) < 0) return true;
  }
  return false;
}

/** What a question or an advisory names: a package, and a version or a range of them (none: every version). */
export interface ComponentQuery {
  readonly package: string;
  readonly version?: string;
  readonly range?: Vers;
}

/** A purl, with or without a version, and an optional vers range (not both a version and a range). */
export function componentQuery(purl: string, range?: string): ComponentQuery {
  const ref = parsePurl(purl);
  if (range !== undefined && ref.version !== undefined) throw new SbomError('VERS_INVALID', `give a purl with a version (${ref.purl}) or a range, not both`);
  return { package: ref.package, ...(ref.version !== undefined && { version: ref.version }), ...(range !== undefined && { range: parseVers(range) }) };
}

/** Whether a component is what the query names. */
export function matchesComponent(q: ComponentQuery, c: PackageRef): boolean {
  if (c.package !== q.package) return false;
  if (q.version === undefined && q.range === undefined) return true;
  if (c.version === undefined) return false;
  const scheme = q.range?.scheme ?? c.package.slice(4, c.package.indexOf('/'));
  if (q.version !== undefined) return compareVersions(scheme, c.version, q.version) === 0;
  return inRange(q.range!, c.version);
}

const advisoryCache = new WeakMap<object, ComponentQuery[]>();

/**
 * The component queries an advisory's `affects.components` names (unreadable items are skipped;
 * ingestion refuses them). Read once per predicate object.
 */
export function advisoryComponents(predicate: Record<string, unknown>): ComponentQuery[] {
  let cached = advisoryCache.get(predicate);
  if (!cached) advisoryCache.set(predicate, (cached = readAdvisoryComponents(predicate)));
  return cached;
}

function readAdvisoryComponents(predicate: Record<string, unknown>): ComponentQuery[] {
  const list = (predicate.affects as { components?: unknown } | undefined)?.components;
  const out: ComponentQuery[] = [];
  for (const item of Array.isArray(list) ? (list as Array<Record<string, unknown>>) : []) {
    try {
      out.push(componentQuery(String(item?.purl), typeof item?.range === 'string' ? item.range : undefined));
    } catch {
      // not a component query
    }
  }
  return out;
}

/** Components by package, so that matching a query costs the components of that package only. */
export function byPackage(components: readonly PackageRef[]): Map<string, PackageRef[]> {
  const m = new Map<string, PackageRef[]>();
  for (const c of components) (m.get(c.package) ?? m.set(c.package, []).get(c.package)!).push(c);
  return m;
}

/** The components (indexed by `byPackage`) that any of the queries names. */
export function matching(queries: readonly ComponentQuery[], index: ReadonlyMap<string, readonly PackageRef[]>): PackageRef[] {
  const out: PackageRef[] = [];
  for (const q of queries) for (const c of index.get(q.package) ?? []) if (matchesComponent(q, c) && !out.includes(c)) out.push(c);
  return out;
}
