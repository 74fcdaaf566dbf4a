import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openLedger } from '../app.js';
import { adminKeyPath, initDataDir, isInitialised } from '../config/datadir.js';
import { loadDemo, type DemoSummary } from '../demo/demo.js';
import { readPrivateKey } from '../keys.js';
import { bindServer, type BoundServer } from '../server/http.js';
import { WEB_DIST } from '../server/static.js';
import { CliError, parsePort, parsePositive } from './util.js';
import { parseCosignatureVerifierKey } from '../log/cosignature.js';
import { Cosigning } from '../witness/cosigning.js';
import { createPublicKey } from 'node:crypto';
import { verifierKeyString } from '../crypto/node.js';
import { serveBackups } from '../store/backup.js';

export interface ServeOptions {
  data: string;
  /** Where the other servers on the same PostgreSQL database reach this one (default: the address it listens on). */
  advertiseUrl?: string;
  /** A PostgreSQL URL: the log lives there instead of in DATA/db. */
  store?: string;
  port: string;
  host: string;
  demo?: boolean;
  maxBody: string;
  maxBundle: string;
  witness?: string[];
  witnessQuorum?: string;
  corsOrigin?: string[];
  maxConnections?: string;
  requestTimeout?: string;
  rateLimit?: string;
  rateBurst?: string;
  /** One JSON line on stdout once listening; everything else on stderr. */
  json?: boolean;
}

/** --cors-origin: exact web origins, "scheme://host[:port]", nothing more. */
export function corsOrigins(values: readonly string[] = []): string[] {
  return values.map((v) => {
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new CliError(`--cors-origin ${JSON.stringify(v.slice(0, 120))} is not an origin such as https://hospital.example`);
    }
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin !== v.replace(/\/$/, '')) throw new CliError(`--cors-origin ${JSON.stringify(v.slice(0, 120))} must be an origin alone (scheme://host[:port]), such as ${u.origin}`);
    return u.origin;
  });
}

/** --witness <vkey>@<url> (repeatable) and --witness-quorum <k>. */
export function witnessPolicy(specs: readonly string[] = [], quorum?: string): { witnesses: Array<{ vkey: string; url: string }>; quorum: number } | undefined {
  if (specs.length === 0) {
    if (quorum !== undefined) throw new CliError('--witness-quorum needs at least one --witness <vkey>@<url>');
    return undefined;
  }
  const witnesses = specs.map((spec) => {
    // The key's base64 part never holds "@"; the URL follows the first "@" after it.
    const at = spec.indexOf('@', spec.lastIndexOf('+'));
    if (at < 0) throw new CliError(`--witness ${JSON.stringify(spec.slice(0, 120))} has no "@<URL>": give the witness's key, "@", and its URL, such as <key>@http://127.0.0.1:8081`);
    const vkey = spec.slice(0, at);
    const url = spec.slice(at + 1);
    try {
      parseCosignatureVerifierKey(vkey);
      const u = new URL(url);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('the URL must be http(s)');
    } catch (e) {
      throw new CliError(`--witness ${JSON.stringify(spec.slice(0, 120))} is not <witness key>@<http(s) URL>: ${(e as Error).message}`);
    }
    return { vkey, url };
  });
  const names = witnesses.map((w) => parseCosignatureVerifierKey(w.vkey).name);
  if (new Set(names).size !== names.length) throw new CliError('the same witness is given twice with --witness; give each witness once');
  const k = quorum === undefined ? witnesses.length : Number(quorum);
  if (!Number.isSafeInteger(k) || k < 1 || k > witnesses.length) throw new CliError(`--witness-quorum must be 1..${witnesses.length}`);
  return { witnesses, quorum: k };
}

export async function serveCommand(opts: ServeOptions): Promise<void> {
  const dir = resolve(opts.data);
  const port = parsePort(opts.port);
  const maxBodyBytes = parsePositive('--max-body', opts.maxBody);
  const witnessing = witnessPolicy(opts.witness, opts.witnessQuorum);
  const cors = corsOrigins(opts.corsOrigin);
  const maxConnections = parsePositive('--max-connections', opts.maxConnections ?? '512');
  const requestTimeoutMs = parsePositive('--request-timeout', opts.requestTimeout ?? '120') * 1000;
  const perSecond = opts.rateLimit === '0' ? 0 : parsePositive('--rate-limit', opts.rateLimit ?? '50');
  const rateLimit = { perSecond, burst: parsePositive('--rate-burst', opts.rateBurst ?? '200') };
  // With --json stdout carries only the JSON line; progress goes to stderr.
  const say = (text: string) => (opts.json ? process.stderr : process.stdout).write(text);
  // The port first: a port in use is said before anything is opened or loaded, and a health
  // check waiting for this server gets 503 "starting", never another server's answer.
  let bound: BoundServer;
  try {
    bound = await bindServer({ port, host: opts.host, maxConnections, requestTimeoutMs });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new CliError(`cannot listen on ${opts.host}:${port}: the address is already in use (another pedigree serve, or another program?); stop it or pick another --port`);
    if (code === 'EACCES') throw new CliError(`cannot listen on ${opts.host}:${port}: permission denied (ports below 1024 need privileges; use a reverse proxy, see deploy/)`);
    if (code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${opts.host}:${port}: this machine has no address ${opts.host}`);
    throw e;
  }
  let ledger: Awaited<ReturnType<typeof openLedger>>['ledger'] | undefined;
  let cosigning: Cosigning | undefined;
  let opened: Awaited<ReturnType<typeof openLedger>>;
  let demo: DemoSummary | undefined;
  let shared: import('../server/shared.js').SharedLedger | undefined;
  try {
    if (opts.demo && !(await isInitialised(dir))) {
      await initDataDir(dir);
      say(`Initialised a new ledger in ${dir}\n`);
    }
    if (opts.store !== undefined && !/^postgres(ql)?:\/\//.test(opts.store)) throw new CliError('--store must be a PostgreSQL URL, postgres://user@host/database (or leave it out for the data directory\'s LevelDB)');
    const maxBundleBytes = parsePositive('--max-bundle', opts.maxBundle);
    const limits = { maxBodyBytes, corsOrigins: cors, maxConnections, requestTimeoutMs, rateLimit };
    if (opts.store !== undefined) {
      // On PostgreSQL, several servers may share the database: one writes, the others follow (server/shared.ts).
      if (witnessing) throw new CliError('--witness with --store: witnesses are not yet supported for a ledger on PostgreSQL');
      shared = await (await import('../server/shared.js')).openShared(dir, opts.store, {
        maxBundleBytes,
        serve: (o, forwardWrites) => bound.serve({ ledger: o.ledger, attestations: o.attestations, devices: o.devices, ...limits, ...(forwardWrites && { forwardWrites }) }),
        advertise: () => opts.advertiseUrl ?? bound.url,
        say,
      });
      opened = shared.current();
    } else {
      opened = await openLedger(dir, { maxBundleBytes });
    }
    ledger = opened.ledger;
    if (opts.demo && ledger.size === 0 && shared?.role() !== 'follower') {
      say('Loading the demo supply chain (signing it live)...\n');
      demo = await loadDemo(opened.attestations, await readPrivateKey(adminKeyPath(dir)), dir, (m) => say(`  ${m}\n`));
      say(`Loaded ${demo.entries} demo attestations; demo participant keys are in ${demo.keysDir}\n`);
    }
    cosigning = witnessing && new Cosigning(ledger, { ...witnessing, onShortfall: (m) => process.stderr.write(`pedigree: witnesses: ${m}\n`) });
    if (cosigning) opened.devices.witnessing = cosigning;
    if (!shared) bound.serve({ ledger, attestations: opened.attestations, devices: opened.devices, ...limits });
  } catch (e) {
    cosigning?.close();
    await bound.close();
    if (shared) await shared.stop().catch(() => undefined);
    else await ledger?.close().catch(() => undefined);
    throw e;
  }
  const { attestations, dataDir } = opened;
  const running = bound;
  // Backups while serving: DATA/backup.sock (0600); serving goes on without them if it cannot listen.
  const backups = await (opened.snapshot ? serveBackups(dir, opened.snapshot) : Promise.resolve(undefined)).catch((e: Error) => void process.stderr.write(`pedigree: backups while serving are off: ${e.message}\n`));
  const base = opts.host === '0.0.0.0' || opts.host === '::' ? `http://localhost:${new URL(running.url).port}` : running.url;
  if (opts.json) {
    const logKey = verifierKeyString(ledger.origin, createPublicKey(dataDir.config.logPublicKey));
    process.stdout.write(`${JSON.stringify({ listening: base, origin: ledger.origin, entries: ledger.size, graphql: `${base}/graphql`, checkpoint: `${base}/checkpoint`, trustedRoot: `${base}/trusted_root.json`, health: `${base}/healthz`, logKey, ...(witnessing && { witnesses: witnessing.witnesses.map((w) => w.vkey), witnessQuorum: witnessing.quorum }), ...(demo && { demo: { entries: demo.entries, keysDir: demo.keysDir } }) })}\n`);
  } else process.stdout.write(
    [
      `Pedigree ledger ${ledger.origin} serving ${ledger.size} entries`,
      existsSync(join(WEB_DIST, 'index.html')) ? `  web page:    ${base}/` : '  web page:    not built (run "npm run build:web" once; npm start does it for you)',
      `  GraphQL:     ${base}/graphql`,
      `  checkpoint:  ${base}/checkpoint`,
      `  tiles:       ${base}/tile/<L>/<N>`,
      `  trust root:  ${base}/trusted_root.json`,
      `  health:      ${base}/healthz`,
      `  log key:     ${verifierKeyString(ledger.origin, createPublicKey(dataDir.config.logPublicKey))} (for witnesses: pedigree witness add-log --vkey …)`,
      ...(witnessing ? [`  witnesses:   ${witnessing.witnesses.map((w) => w.vkey.split('+')[0]).join(', ')} (checkpoints served once ${witnessing.quorum} cosigned)`] : []),
      ...(demo
        ? [
            'Devices to try (UDI):',
            `  passes:      ${demo.passing[0]} (firmware updated in the hospital)`,
            `  fails:       ${demo.failing[0]} (display attested with a compromised supplier key)`,
            `  vulnerable:  ${demo.vulnerable.find((u) => !demo!.recalled.includes(u) && !demo!.failing.slice(0, 1).includes(u))} (still on firmware with OpenSSL 3.0.7; update available)`,
            `  recalled:    ${demo.recalled[0]} (valve lot ${demo.recalledLot})`,
            `  incomplete:  ${demo.incomplete[0]} (no release decision yet)`,
            'Firmware to try before flashing (update gate):',
            `  npm run pedigree -- verify-firmware ${demo.firmwareFiles.fixed} --model ${demo.model} --server ${base}`,
            `  npm run pedigree -- verify-firmware ${demo.firmwareFiles.vulnerable} --model ${demo.model} --server ${base}`,
            'Which devices run a vulnerable component:',
            `  npm run pedigree -- affected --purl '${demo.purl}' --server ${base}`,
          ]
        : []),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      say('Stopping...\n');
      cosigning?.close();
      void Promise.all([running.close(), backups?.close()])
        .then(() => (shared ? shared.stop() : ledger!.close()))
        .then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
