import './style.css';
import { gql, GqlError, subscribe } from './gql.js';
import { PLAIN } from './plain.js';
import { verifyEvidenceInBrowser, type BrowserResult } from './verify.js';

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
const views = ['device', 'recall', 'log', 'participants'] as const;
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
  void check(udiInput.value);
});

const DEVICE_QUERY = `query ($u: String!) { device(udi: $u) { udi provenance evidence } }`;

async function check(raw: string): Promise<void> {
  const out = $('#result');
  const text = raw.trim();
  if (!text) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, 'Scan or type a UDI first.'));
    return;
  }
  out.replaceChildren(el('p', { class: 'working' }, 'Fetching the evidence and verifying it in this browser…'));
  try {
    const [{ device }, root] = await Promise.all([
      gql<{ device: { udi: string; provenance: any; evidence: any } }>(DEVICE_QUERY, { u: text }),
      fetch('/trusted_root.json').then((r) => r.json()),
    ]);
    const result = await verifyEvidenceInBrowser(device.evidence, root, pins, async (fromSize, toSize) =>
      (await gql<{ consistencyProof: { hashes: string[] } }>('query ($f: Int!, $t: Int!) { consistencyProof(fromSize: $f, toSize: $t) { hashes } }', { f: fromSize, t: toSize })).consistencyProof,
    );
    renderTrust(result);
    out.replaceChildren(...renderDevice(device.udi, device.provenance, device.evidence, result));
    $('#result h2')?.focus();
  } catch (e) {
    const msg = e instanceof GqlError ? (e.code.startsWith('UDI_') ? `That is not a valid UDI: ${e.message}` : e.message) : `Something went wrong: ${(e as Error).message}`;
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, msg));
  }
}

function renderTrust(r: BrowserResult): void {
  const t = $('#trust');
  const fp = r.logKeyFingerprint.slice(0, 16).replace(/(....)/g, '$1 ').trim();
  if (r.pin === 'changed') {
    t.className = 'trust alarm';
    t.replaceChildren(el('strong', {}, 'Warning: the ledger’s signing key has changed since this browser first saw it. '), `Now ${fp}… Do not rely on these results; contact the ledger operator.`);
  } else {
    t.className = 'trust';
    t.replaceChildren(`Log ${r.origin} · key ${fp}… ${r.pin === 'first-use' ? '(pinned now, first use)' : '(pinned)'}`);
  }
}

const BANNER: Record<string, [string, string]> = {
  PASS: ['pass', 'PASS — provenance verified, cleared for use'],
  FAIL: ['fail', 'FAIL — do not deploy'],
  INCOMPLETE: ['incomplete', 'INCOMPLETE — provenance is not complete; do not deploy yet'],
};

function renderDevice(udi: string, g: any, evidence: any, r: BrowserResult): Node[] {
  const nodes: Node[] = [];
  const verdict = r.verified && r.evaluation ? r.evaluation.verdict : 'UNVERIFIED';
  const [cls, label] = BANNER[verdict] ?? ['unverified', 'NOT VERIFIED — the evidence did not check out in this browser'];
  nodes.push(el('section', { class: `banner ${cls}`, role: 'status', 'aria-label': 'Verdict' }, el('h2', { tabindex: '-1' }, label), el('p', { class: 'udi' }, udi)));
  if (!r.verified) {
    nodes.push(el('div', { class: 'problems', role: 'alert' }, el('h3', {}, 'Why it is not verified'), el('ul', {}, ...r.problems.map((p) => el('li', {}, p)))));
  }
  const checks = el('details', { class: 'checks' }, el('summary', {}, r.verified ? `Verified in this browser: ${r.checks.length} checks passed` : `${r.checks.filter((c) => !c.ok).length} checks failed in this browser`), el('ul', {}, ...r.checks.map((c) => el('li', { class: c.ok ? 'ok' : 'bad' }, `${c.ok ? '✓' : '✗'} ${c.label}`))));
  nodes.push(checks);
  const findings = (r.verified && r.evaluation ? r.evaluation.findings : evidence.verdict?.findings) ?? [];
  if (findings.length > 0) {
    nodes.push(
      el('section', { class: 'findings' }, el('h3', {}, 'Findings'), el('ul', {}, ...findings.map((f: any) =>
        el('li', { class: `finding ${f.severity}` }, el('strong', {}, PLAIN[f.code] ?? f.code), el('span', { class: 'code' }, ` ${f.code}`), el('p', {}, f.message)),
      ))),
    );
  }
  const bundles = new Map<number, any>((evidence.bundles ?? []).map((b: any) => [Number(b.verificationMaterial.tlogEntries[0].logIndex), b]));
  const entry = (n: any, title: string) => {
    const b = bundles.get(n.logIndex);
    const s = Object.entries(n.summary ?? {}).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${k}: ${typeof v === 'object' ? Object.values(v as object).join(', ') : v}`);
    return el('details', { class: 'node' },
      el('summary', {}, el('span', { class: 'title' }, title), el('span', { class: 'meta' }, ` ${n.signer ?? 'unknown signer'} · ${time(n.integratedTime)} · entry #${n.logIndex}`)),
      el('ul', { class: 'facts' }, ...s.map((x) => el('li', {}, x)), el('li', {}, `predicate type: ${n.predicateType}`), el('li', {}, `key: ${n.keyId.slice(0, 16)}…`)),
      b ? button('Download bundle', () => download(`entry-${n.logIndex}.sigstore.json`, b)) : null,
    );
  };
  const group = (title: string, items: any[], name: (n: any) => string) =>
    el('details', { class: 'group', open: '' }, el('summary', {}, `${title} (${items.length})`), items.length ? el('div', {}, ...items.map((n) => entry(n, name(n)))) : el('p', { class: 'none' }, 'none'));
  const tree = el('section', { class: 'tree' }, el('h3', {}, 'Provenance'));
  tree.append(group('Assembly', g.assemblies, (n) => `Assembled: ${n.summary.model ?? ''}`));
  tree.append(el('details', { class: 'group', open: '' }, el('summary', {}, `Components (${g.components.length})`),
    ...g.components.map((c: any) => el('details', { class: 'component' },
      el('summary', {}, `${c.componentType} · ${c.partSerial ?? c.lot} · supplier ${c.supplier ?? '?'} ${c.attestations.length ? '' : '— no attestation'}`),
      ...c.attestations.map((n: any) => entry(n, `Supplier attestation: ${n.summary.partNumber}`)),
      ...c.tests.map((n: any) => entry(n, `Test: ${n.summary.result}`)),
      ...c.advisories.map((n: any) => entry(n, `${n.summary.kind === 'recall' ? 'RECALL' : 'Advisory'}: ${n.summary.title}`)),
    ))));
  tree.append(el('details', { class: 'group', open: '' }, el('summary', {}, `Firmware (${g.firmware.length})`),
    ...g.firmware.map((f: any) => el('details', { class: 'component', open: '' },
      el('summary', {}, `${f.name} ${f.version ?? ''} · sha256 ${f.sha256.slice(0, 12)}…`),
      ...f.images.map((n: any) => entry(n, 'Firmware release')),
      ...f.builds.map((n: any) => entry(n, 'Build provenance (SLSA)')),
      ...f.sboms.map((n: any) => entry(n, `SBOM (CycloneDX, ${n.summary.components} components)`)),
      ...f.tests.map((n: any) => entry(n, `Test result: ${n.summary.result}`)),
      ...f.advisories.map((n: any) => entry(n, `${n.summary.kind === 'recall' ? 'RECALL' : 'Advisory'}: ${n.summary.title}`)),
    ))));
  tree.append(group('Release decision', g.releases, (n) => `Release: ${n.summary.verificationResult}`));
  tree.append(group('Custody', g.custody, (n) => `Custody: ${n.summary.from} → ${n.summary.to}`));
  tree.append(group('Installation', g.installations, (n) => `Installed: ${n.summary.site?.name ?? ''}`));
  const recalls = [...g.advisories, ...g.components.flatMap((c: any) => c.advisories), ...g.firmware.flatMap((f: any) => f.advisories)];
  tree.append(group('Recalls and advisories', recalls, (n) => `${n.summary.kind === 'recall' ? 'RECALL' : 'Advisory'} ${n.summary.id}: ${n.summary.title}`));
  nodes.push(tree);
  nodes.push(el('p', {}, button('Download evidence package', () => download(`${udi.replace(/[^A-Za-z0-9-]+/g, '_')}.evidence.json`, evidence)), ' Verify it later, offline, with ', el('code', {}, 'pedigree verify-evidence FILE --trusted-root trusted_root.json'), '.'));
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
          void check(codes[0].rawValue);
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
  const value = $<HTMLInputElement>('#recall-value').value.trim();
  const out = $('#recall-result');
  out.replaceChildren(el('p', { class: 'working' }, 'Searching…'));
  try {
    const { affectedDevices } = await gql<{ affectedDevices: Array<{ udi: string; installations: any[] }> }>(`query ($v: String) { affectedDevices(${kind}: $v) { udi installations } }`, { v: value });
    const rows = affectedDevices.map((d) => {
      const inst = d.installations[d.installations.length - 1]?.summary;
      const link = button(d.udi, () => {
        show('device');
        udiInput.value = d.udi;
        void check(d.udi);
      });
      link.className = 'link';
      return el('tr', {}, el('td', {}, link), el('td', {}, inst?.site?.name ?? 'not installed'), el('td', {}, inst?.site?.department ?? ''), el('td', {}, inst?.installedAt ? new Date(inst.installedAt).toLocaleDateString() : ''));
    });
    out.replaceChildren(
      el('p', { role: 'status' }, `${affectedDevices.length} device(s) contain it.`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Device'), el('th', { scope: 'col' }, 'Site'), el('th', { scope: 'col' }, 'Department'), el('th', { scope: 'col' }, 'Installed'))), el('tbody', {}, ...rows)),
    );
  } catch (err) {
    out.replaceChildren(el('p', { class: 'error', role: 'alert' }, (err as Error).message));
  }
});

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
if (fromUrl) {
  udiInput.value = fromUrl;
  void check(fromUrl);
}
