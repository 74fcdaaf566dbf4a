import './style.css';
import { gql, GqlError, subscribe } from './gql.js';
import { PLAIN } from './plain.js';
import { fromBase64, fromHex, sha256, toHex } from '../../src/log/index.js';
import type { AttNode } from '../../src/provenance/graph.js';
import { countedReleasers, type Outcome } from '../../src/provenance/outcome.js';
import { policyDigest, shippedReleasePolicy } from '../../src/provenance/release-policy.js';
import { checkModelGtin, normaliseDeviceUdi } from '../../src/udi/udi.js';
import { PLAIN_WORDS, type EvidenceErrorCode } from '../../src/verify/errors.js';
import type { VerifiedDevice, VerifiedFirmware } from '../../src/verify/evidence.js';
import type { VerifyRequest } from './verify-worker.js';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;
const GS = '\u001d';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string | null | undefined>): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return e;
}

const time = (secs: number) => new Date(secs * 1000).toLocaleString();

function download(name: string, value: unknown): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const pins = {
  get: (k: string) => {
    try {
      return localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set: (k: string, v: string) => {
    try {
      localStorage.setItem(k, v);
    } catch {
      // private mode: nothing is remembered between visits
    }
  },
};

// ---------- navigation ----------
const views = ['device', 'firmware', 'recall', 'log', 'participants'] as const;
type View = (typeof views)[number];
function show(view: View): void {
  for (const v of views) {
    $(`#view-${v}`).hidden = v !== view;
    const b = $(`nav button[data-view="${v}"]`);
    if (v === view) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (view === 'log') startLog();
  if (view === 'participants') void loadParticipants();
}
for (const b of document.querySelectorAll<HTMLButtonElement>('nav button')) b.addEventListener('click', () => show(b.dataset.view as View));

// ---------- device lookup ----------
const udiInput = $<HTMLInputElement>('#udi');
// Keyboard-wedge scanners send the GS1 separator as Ctrl+] (or F8 on some models); keep it.
udiInput.addEventListener('keydown', (e) => {
  if ((e.ctrlKey && (e.key === ']' || e.code === 'BracketRight')) || e.key === 'F8') {
    e.preventDefault();
    const { selectionStart: s, selectionEnd: t, value } = udiInput;
    udiInput.value = value.slice(0, s ?? value.length) + GS + value.slice(t ?? value.length);
  }
});
$<HTMLFormElement>('#lookup').addEventListener('submit', (e) => {
  e.preventDefault();
  void check(udiInput.value, 'push');
});

/**
 * The policy this page judges devices by: the release policy shipped inside the page, never
 * one the server sends. Shown by name and digest on every result.
 */
const PAGE_POLICY = shippedReleasePolicy();
const PAGE_POLICY_DIGEST = policyDigest(PAGE_POLICY);

/** The newest checkpoint this browser has verified from a log, kept between visits. */
const seenKey = (origin: string) => `pedigree:checkpoint:${origin}`;
function newestSeen(origin: string): { size: number; root: Uint8Array; origin: string } | undefined {
  try {
    const v = JSON.parse(pins.get(seenKey(origin)) ?? 'null') as { size?: unknown; root?: unknown } | null;
    if (!v || typeof v.size !== 'number' || typeof v.root !== 'string') return undefined;
    return { size: v.size, root: fromHex(v.root), origin };
  } catch {
    return undefined;
  }
}

/**
 * Trust on first use of the ledger itself: the first trusted root this browser sees must name
 * exactly one log, and that log (origin and key) is pinned. From then on only the pinned log is
 * trusted — whatever else a server's trusted root lists — and a different one is an alarm.
 */
interface Pin {
  readonly origin: string;
  readonly fingerprint: string;
  readonly pin: 'first-use' | 'match' | 'changed' | 'invalid';
  /** A trusted root naming the pinned log only. */
  readonly root: unknown;
}
const PIN_KEY = 'pedigree:trusted-log';
function pinnedLog(served: unknown): Pin {
  const tlogs = (served as { tlogs?: unknown } | null)?.tlogs;
  const one = Array.isArray(tlogs) && tlogs.length === 1 ? (tlogs[0] as { baseUrl?: unknown; publicKey?: { rawBytes?: unknown } }) : undefined;
  const describe = (t: { baseUrl?: unknown; publicKey?: { rawBytes?: unknown } }) => {
    try {
      return { origin: String(t.baseUrl).replace(/^https?:\/\//, ''), fingerprint: toHex(sha256(fromBase64(String(t.publicKey?.rawBytes)))) };
    } catch {
      return undefined;
    }
  };
  let pinned: { baseUrl?: unknown; publicKey?: { rawBytes?: unknown } } | undefined;
  try {
    pinned = JSON.parse(pins.get(PIN_KEY) ?? 'null') ?? undefined;
  } catch {
    pinned = undefined;
  }
  const mine = pinned && describe(pinned);
  if (pinned && mine) {
    const theirs = one && describe(one);
    const same = theirs !== undefined && theirs.origin === mine.origin && theirs.fingerprint === mine.fingerprint;
    return { ...mine, pin: same ? 'match' : 'changed', root: { tlogs: [pinned] } };
  }
  const first = one && describe(one);
  if (!one || !first) return { origin: '', fingerprint: '', pin: 'invalid', root: { tlogs: [] } };
  pins.set(PIN_KEY, JSON.stringify(one));
  return { ...first, pin: 'first-use', root: { tlogs: [one] } };
}

/**
 * Witnesses this browser requires, pinned like the ledger: set once from the page address
 * (`?witness=<verifier key>` repeated, `&witnesses-required=<k>`, default all), then kept. A
 * checkpoint fewer of them cosigned is NOT VERIFIED (WITNESS_MISSING).
 */
const WITNESS_KEY = 'pedigree:witnesses';
function pinnedWitnesses(): { keys: string[]; required: number } | undefined {
  const params = new URLSearchParams(location.search);
  const given = [...new Set(params.getAll('witness').filter((k) => k.length > 0 && k.length < 400))];
  if (given.length > 0) {
    const k = Number(params.get('witnesses-required') ?? given.length);
    const required = Number.isSafeInteger(k) && k >= 1 && k <= given.length ? k : given.length;
    pins.set(WITNESS_KEY, JSON.stringify({ keys: given, required }));
  }
  try {
    const w = JSON.parse(pins.get(WITNESS_KEY) ?? 'null') as { keys?: unknown; required?: unknown } | null;
    if (w && Array.isArray(w.keys) && w.keys.every((k) => typeof k === 'string') && typeof w.required === 'number') return { keys: w.keys as string[], required: w.required };
  } catch {
    // unreadable: require none
  }
  return undefined;
}

// Pin witnesses given in the address now, before navigation rewrites it.
pinnedWitnesses();

/** Evidence older than this is refused: a server cannot keep serving a package from before a recall. */
const PAGE_MAX_AGE_SECONDS = 30 * 60;

let current = '';

type VerifyAnswer<R = VerifiedDevice> = { ok: true; result: R } | { ok: false; code?: string; message: string };

/** The verifier in a worker, so a large package never freezes the page. */
function verifyOffThread<R = VerifiedDevice>(request: VerifyRequest): Promise<VerifyAnswer<R>> {
  return new Promise((resolve) => {
    const worker = new Worker(new URL('./verify-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<VerifyAnswer<R>>) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => {
      worker.terminate();
      resolve({ ok: false, message: e.message || 'the verifier stopped' });
    };
    worker.postMessage(request);
  });
}

/**
 * Asks for evidence with a consistency proof from the newest checkpoint seen. A ledger now
 * smaller than what this browser saw cannot prove consistency from it; its evidence is fetched
 * without the proof, and the verifier says what happened.
 */
async function askEvidence<T>(ask: (fromSize: number | null) => Promise<T>, seen: { size: number } | undefined): Promise<T> {
  return ask(seen?.size ?? null).catch((e: unknown) => {
    if (seen && e instanceof GqlError && e.code === 'INVALID_ARGUMENT') return ask(null);
    throw e;
  });
}

/** The server's own words are not shown, only its error code: they are as unverified as anything else it says. */
const errorCode = (e: unknown) => (e instanceof GqlError ? e.code.replace(/[^A-Z0-9_]/g, '').slice(0, 40) : 'UNREACHABLE') || 'ERROR';

async function check(raw: string, history: 'push' | 'replace' | 'none'): Promise<void> {
  const out = $('#result');
  const text = raw.trim();
  if (!text) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Scan or type a UDI first.'));
    return;
  }
  let udi: string;
  try {
    udi = normaliseDeviceUdi(text);
  } catch (e) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, `That is not a device UDI: ${(e as Error).message}`));
    return;
  }
  // The address bar follows the device shown, so links, reload and back/forward work.
  const url = `${location.pathname}?udi=${encodeURIComponent(udi)}`;
  if (history === 'push' && current !== udi) window.history.pushState({ udi }, '', url);
  else if (history !== 'none') window.history.replaceState({ udi }, '', url);
  current = udi;
  udiInput.value = udi;
  out.replaceChildren(el('p', { class: 'working' }, 'Fetching the evidence and verifying it in this browser…'));
  const verified = await verifyFromLedger<VerifiedDevice>({
    out,
    thing: 'device',
    ask: (f) => gql<{ device: { evidence: unknown } | null }>('query ($u: String!, $p: JSON, $f: Int) { device(udi: $u) { evidence(policy: $p, fromSize: $f) } }', { u: udi, p: PAGE_POLICY, f }).then((d) => d.device?.evidence),
    request: (evidence, root, expect) => ({ evidence, root, expect: { udi, ...expect } }),
    working: (evidence) => {
      const count = Array.isArray((evidence as { bundles?: unknown } | null)?.bundles) ? (evidence as { bundles: unknown[] }).bundles.length : 0;
      return `Verifying ${count} signed entries in this browser…`;
    },
    refuse: (reasons) => out.replaceChildren(...notVerified(udi, reasons)),
    stillWanted: () => current === udi, // another device may have been asked for meanwhile
  });
  if (!verified) return;
  out.replaceChildren(...renderVerified(verified.result, verified.evidence));
  $('#result h2')?.focus();
}

/**
 * The one way this page takes an answer from the ledger: its trusted root, pinned (a changed or
 * ambiguous key is refused), the evidence asked for with a consistency proof from the newest
 * checkpoint this browser verified, the shared verifier run in the worker with the page's
 * policy, clock, maximum age and pinned witnesses, and the newest checkpoint moved forward.
 * Undefined when it refused (and said why in `out`), or when the answer is no longer wanted.
 */
async function verifyFromLedger<R extends VerifiedDevice | VerifiedFirmware>(o: {
  out: HTMLElement;
  thing: string;
  ask: (fromSize: number | null) => Promise<unknown>;
  request: (evidence: unknown, root: unknown, expect: { policy: typeof PAGE_POLICY; now: number; maxAgeSeconds: number; newestSeen?: { size: number; root: Uint8Array; origin: string }; witnesses?: { keys: string[]; required: number } }) => VerifyRequest;
  working: (evidence: unknown) => string;
  refuse: (reasons: string[]) => void;
  stillWanted?: () => boolean;
}): Promise<{ result: R; evidence: unknown } | undefined> {
  const refuse = (reasons: string[]) => {
    o.refuse(reasons);
    o.out.querySelector<HTMLElement>('h2')?.focus();
    return undefined;
  };
  let root: unknown;
  try {
    root = await fetch('/trusted_root.json', { cache: 'no-cache' }).then((r) => r.json());
  } catch {
    o.out.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'The ledger cannot be reached.'));
    return undefined;
  }
  const pin = pinnedLog(root);
  renderTrust(pin);
  const seen = newestSeen(pin.origin);
  let evidence: unknown;
  try {
    evidence = await askEvidence(o.ask, seen);
  } catch (e) {
    return refuse([`The ledger gave no evidence for this ${o.thing} (${errorCode(e)}).`]);
  }
  if (pin.pin === 'changed' || pin.pin === 'invalid') return refuse([pin.pin === 'changed' ? 'The ledger’s signing key is not the one this browser trusted before. Someone may be impersonating the ledger.' : 'The server does not name exactly one ledger key to trust.']);
  o.out.replaceChildren(el('p', { class: 'working', role: 'status' }, o.working(evidence)));
  const witnesses = pinnedWitnesses();
  const answer = await verifyOffThread<R>(o.request(evidence, pin.root, { policy: PAGE_POLICY, now: Math.floor(Date.now() / 1000), maxAgeSeconds: PAGE_MAX_AGE_SECONDS, ...(seen && { newestSeen: seen }), ...(witnesses && { witnesses }) }));
  if (o.stillWanted && !o.stillWanted()) return undefined;
  if (!answer.ok) {
    const code = answer.code as EvidenceErrorCode | undefined;
    return refuse(code && code in PLAIN_WORDS ? [PLAIN_WORDS[code], `${answer.message} (${code})`] : [`The evidence could not be read: ${answer.message}`]);
  }
  const result = answer.result;
  if (!seen || result.checkpoint.size >= seen.size) pins.set(seenKey(pin.origin), JSON.stringify({ size: result.checkpoint.size, root: result.checkpoint.root }));
  return { result, evidence };
}

window.addEventListener('popstate', (e) => {
  const udi = (e.state as { udi?: string } | null)?.udi ?? new URLSearchParams(location.search).get('udi');
  if (udi) void check(udi, 'none');
  else {
    current = '';
    udiInput.value = '';
    $('#result').replaceChildren();
  }
});

function renderTrust(p: { origin: string; fingerprint: string; pin: string }): void {
  const t = $('#trust');
  const fp = p.fingerprint.slice(0, 16).replace(/(....)/g, '$1 ').trim();
  if (p.pin === 'changed') {
    t.className = 'trust alarm';
    t.replaceChildren(el('strong', {}, 'Warning: the ledger’s signing key has changed since this browser first saw it. '), `This browser trusts ${p.origin}, key ${fp}…; the server now presents another. Do not rely on these results; contact the ledger operator.`);
  } else {
    t.className = 'trust';
    const w = pinnedWitnesses();
    t.replaceChildren(`Ledger ${p.origin} · key ${fp}… ${p.pin === 'first-use' ? '(pinned now, first use)' : '(pinned)'}${w ? ` · ${w.required} of ${w.keys.length} witness${w.keys.length === 1 ? '' : 'es'} required` : ''}`);
  }
}

/** Nothing from the server is shown: no tree, no findings, no download. */
function notVerified(udi: string, reasons: string[], what: { action: string; thing: string } = { action: 'do not deploy', thing: 'device' }): Node[] {
  return [
    el('section', { class: 'banner unverified', role: 'alert', 'aria-label': 'Verdict' },
      el('h2', { tabindex: '-1' }, el('span', { class: 'icon', 'aria-hidden': 'true' }, '✗'), ` NOT VERIFIED — ${what.action}`),
      el('p', { class: 'udi' }, udi),
      el('p', {}, `This browser could not confirm the ledger’s evidence for this ${what.thing}, so nothing the server said is shown.`),
    ),
    el('div', { class: 'problems' }, el('h3', {}, 'Why'), el('ul', {}, ...reasons.map((r) => el('li', {}, r)))),
  ];
}

const BANNER: Record<Outcome, [string, string, string]> = {
  PASS: ['pass', '✓', 'PASS — provenance verified, cleared for use'],
  FAIL: ['fail', '✗', 'FAIL — do not deploy'],
  INCOMPLETE: ['incomplete', '⚠', 'INCOMPLETE — provenance is not complete; do not deploy yet'],
  RECALLED: ['fail', '✗', 'RECALLED — do not use'],
  UNKNOWN: ['unknown', '?', 'UNKNOWN — this ledger has no record of this device; check the label'],
};

type Row = { status: 'problem' | 'ok' | 'missing' | 'none'; title: string; detail: string; nodes: AttNode[] };

function renderVerified(r: VerifiedDevice, evidence: unknown): Node[] {
  const [cls, icon, label] = BANNER[r.outcome];
  const nodes: Node[] = [];
  const banner = el('section', { class: `banner ${cls}`, role: 'status', 'aria-label': 'Verdict' }, el('h2', { tabindex: '-1' }, el('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ` ${label}`), el('p', { class: 'udi' }, r.udi));
  for (const rc of r.recalls) banner.append(el('p', { class: 'recall' }, el('strong', {}, `Recall ${rc.id}: ${rc.title}`), rc.action ? el('span', {}, ` — ${rc.action}`) : null));
  nodes.push(banner);

  // The device card: what the device is, and what it was checked against.
  const g = r.graph;
  const assembly = g.assembly?.statement.predicate as { model?: string } | undefined;
  const serial = r.udi.replace(/^.*(\(21\)|\/)/, '');
  nodes.push(el('dl', { class: 'card' },
    el('dt', {}, 'Model'), el('dd', {}, assembly?.model ?? 'not known'),
    el('dt', {}, 'Manufacturer'), el('dd', {}, g.assembly?.signer ?? 'not known'),
    el('dt', {}, 'Serial'), el('dd', {}, serial),
    el('dt', {}, 'Checked'), el('dd', {}, new Date().toLocaleString()),
    el('dt', {}, 'Against'), el('dd', {}, `ledger ${r.checkpoint.origin}, checkpoint ${r.checkpoint.size}`),
    el('dt', {}, 'Policy'), el('dd', {}, `${r.policy.name} `, el('span', { class: 'code' }, `sha256 ${PAGE_POLICY_DIGEST.slice(0, 12)}…`)),
  ));
  if (r.outcome === 'UNKNOWN') return nodes;

  const findings = r.evaluation.findings;
  if (findings.length > 0) {
    nodes.push(el('section', { class: 'findings' }, el('h3', {}, 'What was found'), el('ul', {}, ...findings.map((f) =>
      el('li', { class: `finding ${f.severity}` }, el('span', { class: 'icon', 'aria-hidden': 'true' }, f.severity === 'error' ? '✗' : f.severity === 'incomplete' || f.severity === 'warning' ? '⚠' : 'i'), ' ', el('strong', {}, PLAIN[f.code] ?? f.code),
        el('details', { class: 'more' }, el('summary', {}, 'details'), el('p', {}, f.message), el('p', { class: 'code' }, `${f.code}${f.entries.length ? ` · entries ${f.entries.join(', ')}` : ''}`)))))));
  }

  // The tree, from the verified bundles only; each row with its own status, problems first.
  const bad = new Set(findings.filter((f) => f.severity === 'error' || f.severity === 'incomplete').flatMap((f) => f.entries));
  const status = (ns: AttNode[], required = true): Row['status'] => (ns.some((n) => bad.has(n.logIndex)) ? 'problem' : ns.length === 0 ? (required ? 'missing' : 'none') : 'ok');
  const rows: Row[] = [];
  for (const c of g.components) {
    const ns = [...c.attestations, ...c.tests, ...c.advisories];
    rows.push({ status: status(ns), title: `${c.componentType}`, detail: `${c.partSerial ?? c.lot ?? ''} · supplier ${c.supplier ?? 'not named'}${c.attestations.length ? ` · attested by ${c.attestations.map((n) => n.signer ?? '?').join(', ')}` : ' · no supplier attestation'}`, nodes: ns });
  }
  const running = new Set(r.evaluation.firmware?.running ?? []);
  for (const f of g.firmware.filter((x) => running.has(x.sha256))) {
    // Its own entries decide its status; a vulnerability advisory may touch other images too.
    const own = [...f.images, ...f.builds, ...f.sboms, ...f.tests, ...f.advisories, ...f.vex];
    const ns = [...own, ...f.vulnerabilities];
    rows.push({ status: status(own), title: `firmware ${f.name} ${f.version ?? ''}`, detail: `built ${f.builds.length ? 'by an attested build' : '— no build provenance'} · SBOM ${f.sboms.length ? 'present' : 'missing'} · tests ${f.tests.map((n) => (n.statement.predicate as { result?: string }).result).join(', ') || 'none'} · ${f.vulnerabilities.length ? `known vulnerabilities: ${[...new Set(f.vulnerabilities.map((n) => String((n.statement.predicate as { vulnerability?: { id?: string } }).vulnerability?.id ?? '?')))].join(', ')} (see above)` : 'no known vulnerabilities'}`, nodes: ns });
  }
  const history = r.evaluation.firmware?.history ?? [];
  if (history.length) rows.push({ status: 'ok', title: 'firmware updates', detail: history.map((h) => `${h.firmware} ${h.fromVersion ?? h.from.slice(0, 12)} → ${h.version ?? h.to.slice(0, 12)} by ${h.by}${h.updatedAt ? ` on ${new Date(h.updatedAt).toLocaleDateString()}` : ''}`).join('; '), nodes: g.updates.filter((n) => history.some((h) => h.logIndex === n.logIndex)) });
  const latest = (ns: AttNode[]) => (ns.length ? [ns[ns.length - 1]!] : []);
  rows.push({ status: status(latest(g.releases)), title: 'release decision', detail: g.releases.length ? `${(g.releases[g.releases.length - 1]!.statement.predicate as { verificationResult?: string }).verificationResult} by ${g.releases[g.releases.length - 1]!.signer}` : 'none yet', nodes: g.releases });
  rows.push({ status: status(g.custody, false), title: 'custody', detail: g.custody.map((n) => `${(n.statement.predicate as { from?: string }).from} → ${(n.statement.predicate as { to?: string }).to}`).join(', ') || 'no records', nodes: g.custody });
  rows.push({ status: status(g.installations, false), title: 'installation', detail: g.installations.map((n) => String((n.statement.predicate as { site?: { name?: string } }).site?.name ?? '')).join(', ') || 'not installed', nodes: g.installations });
  if (g.advisories.length) rows.push({ status: status(g.advisories), title: 'device advisories', detail: g.advisories.map((n) => String((n.statement.predicate as { title?: string }).title ?? '')).join('; '), nodes: g.advisories });
  const order = { problem: 0, missing: 1, ok: 2, none: 3 } as const;
  rows.sort((a, b) => order[a.status] - order[b.status]);
  const ICON = { problem: '✗', missing: '⚠', ok: '✓', none: '–' } as const;
  const WORD = { problem: 'problem', missing: 'missing', ok: 'verified', none: 'no records' } as const;
  nodes.push(el('section', { class: 'tree' }, el('h3', {}, 'Provenance (verified in this browser)'), el('ul', { class: 'rows' }, ...rows.map((row) =>
    el('li', { class: `row-${row.status}` },
      el('span', { class: 'icon', 'aria-hidden': 'true' }, ICON[row.status]), ' ',
      el('strong', {}, row.title), el('span', { class: 'state' }, ` ${WORD[row.status]}`), el('p', { class: 'detail' }, row.detail),
      row.nodes.length ? el('details', { class: 'more' }, el('summary', {}, 'details'), el('ul', { class: 'facts' }, ...row.nodes.map((n) => el('li', {}, `entry ${n.logIndex} · ${n.predicateType.replace(/^https:\/\/[^/]+\//, '')} · ${n.signer ?? 'unregistered key'} · key ${n.keyId.slice(0, 16)}… · logged ${time(n.integratedTime)}`)))) : null,
    )))));
  nodes.push(el('details', { class: 'checks' }, el('summary', {}, `Verified in this browser: ${r.bundles} signed entries against checkpoint ${r.checkpoint.size}`), el('ul', {},
    el('li', {}, `the checkpoint and the evidence package are signed by the pinned ledger key`),
    el('li', {}, `${r.bundles} inclusion proofs lead to the checkpoint root; every entry timestamp is signed by the ledger`),
    el('li', {}, `${r.bundles} DSSE signatures verify with the keys and certificate identities the administrator registered`),
    el('li', {}, `the evidence is about ${r.udi}, the device asked about`),
    el('li', {}, `the verdict was derived here under ${r.policy.name}, as of now`),
  )));
  nodes.push(el('p', {}, button('Download evidence package', () => download(`${r.udi.replace(/[^A-Za-z0-9-]+/g, '_')}.evidence.json`, evidence)), ' Verify it later, offline, with ', el('code', {}, 'pedigree verify-evidence FILE --udi UDI --trusted-root trusted_root.json'), '.'));
  return nodes;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { type: 'button' }, label);
  b.addEventListener('click', onClick);
  return b;
}

// ---------- camera scanning, where the browser offers BarcodeDetector ----------
const BD = (globalThis as unknown as { BarcodeDetector?: new (o: { formats: string[] }) => { detect(v: HTMLVideoElement): Promise<Array<{ rawValue: string }>> } }).BarcodeDetector;
if (BD && navigator.mediaDevices?.getUserMedia) {
  const cam = $<HTMLButtonElement>('#camera');
  cam.hidden = false;
  cam.addEventListener('click', async () => {
    const video = $<HTMLVideoElement>('#preview');
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      const detector = new BD({ formats: ['data_matrix', 'gs1_databar', 'code_128', 'qr_code'] });
      const stop = () => {
        stream.getTracks().forEach((t) => t.stop());
        video.hidden = true;
      };
      const tick = async () => {
        if (video.hidden) return;
        const codes = await detector.detect(video).catch(() => []);
        if (codes[0]) {
          stop();
          udiInput.value = codes[0].rawValue;
          void check(codes[0].rawValue, 'push');
        } else requestAnimationFrame(() => void tick());
      };
      void tick();
    } catch {
      $('#result').replaceChildren(el('p', { class: 'error', role: 'alert' }, 'The camera is not available; scan with a barcode scanner or type the UDI.'));
    }
  });
}

// ---------- recall ----------
$<HTMLFormElement>('#recall-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const kind = $<HTMLSelectElement>('#recall-kind').value;
  if (!['lot', 'partSerial', 'firmwareDigest', 'purl'].includes(kind)) return;
  const value = $<HTMLInputElement>('#recall-value').value.trim();
  const range = $<HTMLInputElement>('#recall-range').value.trim();
  const out = $('#recall-result');
  out.replaceChildren(el('p', { class: 'working' }, 'Searching…'));
  try {
    const { affectedDevices } = await gql<{ affectedDevices: Array<{ udi: string; installations: any[]; firmware: Array<{ name: string; version?: string; components: string[] }> }> }>(
      `query ($v: String, $r: String) { affectedDevices(${kind}: $v, range: $r) { udi installations firmware } }`,
      { v: value, r: kind === 'purl' && range ? range : null },
    );
    const rows = affectedDevices.map((d) => {
      const inst = d.installations[d.installations.length - 1]?.summary;
      const link = button(d.udi, () => {
        show('device');
        void check(d.udi, 'push');
      });
      link.className = 'link';
      const fw = d.firmware.map((f) => `${f.name} ${f.version ?? ''}${f.components.length ? ` (${f.components.join(', ')})` : ''}`).join('; ');
      return el('tr', {}, el('td', {}, link), el('td', {}, inst?.site?.name ?? 'not installed'), el('td', {}, inst?.site?.department ?? ''), el('td', {}, inst?.installedAt ? new Date(inst.installedAt).toLocaleDateString() : ''), el('td', {}, fw));
    });
    out.replaceChildren(
      el('p', { role: 'status' }, `${affectedDevices.length} device(s) contain it.`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Device'), el('th', { scope: 'col' }, 'Site'), el('th', { scope: 'col' }, 'Department'), el('th', { scope: 'col' }, 'Installed'), el('th', { scope: 'col' }, 'Firmware'))), el('tbody', {}, ...rows)),
    );
  } catch (err) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, (err as Error).message));
  }
});

// ---------- firmware update gate ----------
const FIRMWARE_BANNER: Record<Outcome, [string, string, string]> = {
  PASS: ['pass', '✓', 'PASS — this image may be flashed onto this model'],
  FAIL: ['fail', '✗', 'FAIL — do not flash'],
  INCOMPLETE: ['incomplete', '⚠', 'INCOMPLETE — evidence is missing; do not flash yet'],
  RECALLED: ['fail', '✗', 'RECALLED — do not flash'],
  UNKNOWN: ['unknown', '?', 'UNKNOWN — this ledger has no record of this image (not a released build, or a damaged file); do not flash'],
};
const firmwareForm = $<HTMLFormElement>('#firmware-form');
const firmwareFile = $<HTMLInputElement>('#firmware-file');
// A file dropped anywhere on the section is the image to check.
$('#view-firmware').addEventListener('dragover', (e) => e.preventDefault());
$('#view-firmware').addEventListener('drop', (e) => {
  e.preventDefault();
  if (e.dataTransfer?.files.length) {
    firmwareFile.files = e.dataTransfer.files;
    firmwareForm.requestSubmit();
  }
});
firmwareForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void checkFirmware(firmwareFile.files?.[0], $<HTMLInputElement>('#firmware-model').value.trim());
});

async function checkFirmware(file: File | undefined, model: string): Promise<void> {
  const out = $('#firmware-result');
  const alert = (m: string) => out.replaceChildren(el('p', { class: 'error', role: 'alert' }, m));
  if (!file) return alert('Choose or drop the firmware image first.');
  try {
    checkModelGtin(model);
  } catch (e) {
    return alert(`That is not a device model: ${(e as Error).message}.`);
  }
  out.replaceChildren(el('p', { class: 'working' }, `Hashing ${file.name} in this browser…`));
  const digest = toHex(sha256(new Uint8Array(await file.arrayBuffer())));
  const verified = await verifyFromLedger<VerifiedFirmware>({
    out,
    thing: 'image',
    ask: (f) => gql<{ firmwareImage: { evidence: unknown } | null }>('query ($s: String!, $m: String!, $p: JSON, $f: Int) { firmwareImage(sha256: $s, model: $m) { evidence(policy: $p, fromSize: $f) } }', { s: digest, m: model, p: PAGE_POLICY, f }).then((d) => d.firmwareImage?.evidence),
    request: (evidence, root, expect) => ({ kind: 'firmware', evidence, root, expect: { firmware: { sha256: digest, model }, ...expect } }),
    working: () => 'Verifying the image’s evidence in this browser…',
    refuse: (reasons) => out.replaceChildren(...notVerified(`${file.name} · sha256 ${digest}`, reasons, { action: 'do not flash', thing: 'image' })),
  });
  if (!verified) return;
  const r = verified.result;
  const [cls, icon, label] = FIRMWARE_BANNER[r.outcome];
  const f = r.graph.firmware;
  const nodes: Node[] = [
    el('section', { class: `banner ${cls}`, role: 'status', 'aria-label': 'Verdict' }, el('h2', { tabindex: '-1' }, el('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ` ${label}`), el('p', { class: 'udi' }, `${file.name} · sha256 ${digest}`)),
    el('dl', { class: 'card' },
      el('dt', {}, 'Firmware'), el('dd', {}, r.outcome === 'UNKNOWN' ? 'not known to this ledger' : `${f.name} ${f.version ?? ''}`),
      el('dt', {}, 'Released by'), el('dd', {}, countedReleasers(r.graph, r.evaluation).join(', ') || 'no one, for this model'),
      el('dt', {}, 'Model'), el('dd', {}, model),
      el('dt', {}, 'Against'), el('dd', {}, `ledger ${r.checkpoint.origin}, checkpoint ${r.checkpoint.size}, ${r.bundles} signed entries verified here`),
      el('dt', {}, 'Policy'), el('dd', {}, `${r.policy.name} `, el('span', { class: 'code' }, `sha256 ${PAGE_POLICY_DIGEST.slice(0, 12)}…`)),
    ),
  ];
  for (const rc of r.recalls) nodes.push(el('p', { class: 'recall' }, el('strong', {}, `Recall ${rc.id}: ${rc.title}`), rc.action ? el('span', {}, ` — ${rc.action}`) : null));
  if (r.outcome === 'UNKNOWN') nodes.push(el('p', {}, file.size === 0 ? 'The file is empty.' : 'Nothing in the ledger names this image: it is not a build the manufacturer released, or the file was damaged on its way here.'));
  else if (r.evaluation.findings.length > 0) {
    nodes.push(el('section', { class: 'findings' }, el('h3', {}, 'What was found'), el('ul', {}, ...r.evaluation.findings.map((x) =>
      el('li', { class: `finding ${x.severity}` }, el('span', { class: 'icon', 'aria-hidden': 'true' }, x.severity === 'error' ? '✗' : x.severity === 'incomplete' || x.severity === 'warning' ? '⚠' : 'i'), ' ', el('strong', {}, PLAIN[x.code] ?? x.code), el('p', { class: 'detail' }, x.message))))));
  }
  out.replaceChildren(...nodes);
  $('#firmware-result h2')?.focus();
}

// ---------- log explorer ----------
let stopLive: (() => void) | undefined;
const ENTRY_FIELDS = 'logIndex predicateType signer integratedTime';

function entryRow(a: any): HTMLElement {
  const li = el('li', {}, button(`#${a.logIndex}`, () => void showEntry(a.logIndex)), ` ${a.predicateType.replace(/^https:\/\/[^/]+\//, '')} · ${a.signer} · ${time(a.integratedTime)}`);
  return li;
}

async function showEntry(i: number): Promise<void> {
  const out = $('#entry-detail');
  const { attestation } = await gql<{ attestation: any }>('query ($i: Int!) { attestation(logIndex: $i) { logIndex signer keyId predicateType integratedTime statement bundle } }', { i });
  if (!attestation) return void out.replaceChildren(el('p', {}, `Entry ${i} holds no attestation.`));
  out.replaceChildren(
    el('h3', { tabindex: '-1' }, `Entry #${attestation.logIndex}`),
    el('p', {}, `${attestation.predicateType} · signed by ${attestation.signer} (key ${attestation.keyId.slice(0, 16)}…) · ${time(attestation.integratedTime)}`),
    el('pre', {}, JSON.stringify(attestation.statement, (k, v) => (k === 'components' && Array.isArray(v) && v.length > 20 ? `[${v.length} components]` : v), 2)),
    button('Download bundle', () => download(`entry-${i}.sigstore.json`, attestation.bundle)),
  );
  $('#entry-detail h3')?.focus();
}

async function startLog(): Promise<void> {
  const { checkpoint } = await gql<{ checkpoint: { origin: string; size: number; rootHash: string } }>('{ checkpoint { origin size rootHash } }');
  const cp = $('#checkpoint');
  const renderCp = (c: { size: number; rootHash: string }) => cp.replaceChildren(el('dt', {}, 'Origin'), el('dd', {}, checkpoint.origin), el('dt', {}, 'Entries'), el('dd', { id: 'log-size' }, String(c.size)), el('dt', {}, 'Root hash'), el('dd', { class: 'hash' }, c.rootHash));
  renderCp(checkpoint);
  const n = Math.min(20, checkpoint.size);
  const fields = Array.from({ length: n }, (_, k) => `a${k}: attestation(logIndex: ${checkpoint.size - 1 - k}) { ${ENTRY_FIELDS} }`).join(' ');
  const latest = n ? await gql<Record<string, any>>(`{ ${fields} }`) : {};
  const list = $('#latest');
  list.replaceChildren(...Object.values(latest).filter(Boolean).map(entryRow));
  stopLive?.();
  stopLive = subscribe<{ logGrowth: { checkpoint: { size: number; rootHash: string }; newEntries: any[] } }>(
    `subscription { logGrowth { checkpoint { size rootHash } newEntries { ${ENTRY_FIELDS} } } }`,
    ({ logGrowth }) => {
      renderCp(logGrowth.checkpoint);
      for (const a of logGrowth.newEntries) list.prepend(entryRow(a));
      while (list.children.length > 50) list.lastElementChild?.remove();
    },
  );
}

// ---------- participants ----------
async function loadParticipants(): Promise<void> {
  const { participants } = await gql<{ participants: any[] }>('{ participants { id organisation roles revocation { reason effectiveTime } keys { keyId addedAt revocation { reason effectiveTime } } } }');
  $('#participants').replaceChildren(
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Participant'), el('th', { scope: 'col' }, 'Roles'), el('th', { scope: 'col' }, 'Keys'))),
    el('tbody', {}, ...participants.map((p) => el('tr', { class: p.revocation ? 'revoked' : '' },
      el('td', {}, el('strong', {}, p.id), el('br'), p.organisation, p.revocation ? el('p', { class: 'bad' }, `revoked (${p.revocation.reason}) from ${new Date(p.revocation.effectiveTime).toLocaleString()}`) : null),
      el('td', {}, p.roles.join(', ')),
      el('td', {}, el('ul', {}, ...p.keys.map((k: any) => el('li', { class: k.revocation ? 'bad' : '' }, el('code', {}, `${k.keyId.slice(0, 16)}…`), k.revocation ? ` revoked (${k.revocation.reason}) from ${new Date(k.revocation.effectiveTime).toLocaleString()}` : ' active')))),
    ))),
  );
}

// A UDI in the address (?udi=...) is checked straight away, so links and QR codes work.
const fromUrl = new URLSearchParams(location.search).get('udi');
if (fromUrl) void check(fromUrl, 'replace');
