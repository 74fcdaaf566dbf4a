/**
 * `pedigree witness`: run a C2SP tlog-witness (https://c2sp.org/tlog-witness) that cosigns the
 * checkpoints of the logs it follows.
 *
 * A witness directory holds witness.json (name and followed logs), witness.key (the witness's
 * Ed25519 key, PKCS#8 PEM, mode 0600) and state.json (the latest checkpoint cosigned per log,
 * mode 0600; losing it would let a log fork past the witness, so back it up with the key).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ed25519Raw } from '../crypto/node.js';
import { generateKey, KeyFileError, readPrivateKey, writePrivateKey } from '../keys.js';
import { cosignatureKeyId, cosignatureVerifierKey } from '../log/cosignature.js';
import { parseVerifierKey, toHex } from '../log/index.js';
import { startWitnessServer } from '../witness/http.js';
import { Witness, WitnessError, writeFileAtomic, type WitnessLogConfig } from '../witness/witness.js';
import { CliError, parsePort, printJson, terminalSafe } from './util.js';

interface WitnessConfig {
  version: 1;
  name: string;
  logs: WitnessLogConfig[];
}

const paths = (dir: string) => ({ config: join(dir, 'witness.json'), key: join(dir, 'witness.key'), state: join(dir, 'state.json') });

async function readConfig(dir: string): Promise<WitnessConfig> {
  const file = paths(dir).config;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CliError(`${dir} is not a witness directory (no witness.json); create one with: pedigree witness init --dir ${dir} --name <name>`);
  }
  try {
    const c = JSON.parse(text) as WitnessConfig;
    if (c.version !== 1 || typeof c.name !== 'string' || !Array.isArray(c.logs) || !c.logs.every((l) => typeof l?.origin === 'string' && typeof l?.vkey === 'string' && (l.audit === undefined || typeof l.audit === 'string'))) throw new Error();
    return c;
  } catch {
    throw new CliError(`${file} is not a valid witness configuration`);
  }
}

export async function initCommand(opts: { dir: string; name: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.dir);
  const { privateKey } = generateKey('ed25519');
  try {
    cosignatureKeyId(opts.name, ed25519Raw(privateKey));
  } catch {
    throw new CliError(`--name must be non-empty with no spaces or "+", e.g. witness.example.org/w1; got "${opts.name}"`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = paths(dir);
  if (existsSync(p.config)) throw new CliError(`${p.config} already exists; ${dir} is a witness directory already`);
  try {
    await writePrivateKey(p.key, privateKey);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${p.key} already exists; refusing to overwrite a witness key`);
    throw e;
  }
  const config: WitnessConfig = { version: 1, name: opts.name, logs: [] };
  await writeFileAtomic(p.config, `${JSON.stringify(config, null, 2)}\n`, 0o644);
  const vkey = cosignatureVerifierKey(opts.name, ed25519Raw(privateKey));
  if (opts.json) return printJson({ dir, name: opts.name, vkey });
  process.stdout.write(
    [
      `Created witness ${opts.name} in ${dir} (key ${p.key}, mode 0600)`,
      'Its verifier key (give it to the logs and to the clients that count on this witness):',
      vkey,
      `Next: pedigree witness add-log --dir ${opts.dir} --vkey <the log's verifier key>`,
      '',
    ].join('\n'),
  );
}

export async function addLogCommand(opts: { dir: string; vkey: string; origin?: string; audit?: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.dir);
  const config = await readConfig(dir);
  let key;
  try {
    key = parseVerifierKey(opts.vkey);
  } catch (e) {
    throw new CliError(`--vkey: ${(e as Error).message} (a log verifier key looks like example.org/log+1a2b3c4d+AU...; pedigree init prints it)`);
  }
  const origin = opts.origin ?? key.name;
  if (origin.length === 0 || /[\u0000-\u001f\u007f]/u.test(origin)) throw new CliError('--origin must be one non-empty line');
  const vkey = opts.vkey.trim();
  if (opts.audit !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(opts.audit);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new CliError(`--audit must be the ledger's http(s) URL, such as http://127.0.0.1:8080; got ${JSON.stringify(opts.audit.slice(0, 100))}`);
  }
  if (config.logs.some((l) => l.origin === origin && l.vkey === vkey)) throw new CliError(`the witness already follows ${origin} with that key`);
  config.logs.push({ origin, vkey, ...(opts.audit !== undefined && { audit: opts.audit }) });
  await writeFileAtomic(paths(dir).config, `${JSON.stringify(config, null, 2)}\n`, 0o644);
  if (opts.json) return printJson({ dir, origin, vkey, keyId: toHex(key.keyId) });
  process.stdout.write(
    `Witness ${config.name} now follows ${origin} (log key ${key.name}+${toHex(key.keyId)})${opts.audit ? `, auditing its index from ${opts.audit}` : ''}; restart "pedigree witness serve" to apply.\n`,
  );
}

export async function serveCommand(opts: { dir: string; port: string; host: string; json?: boolean }): Promise<void> {
  const dir = resolve(opts.dir);
  const port = parsePort(opts.port);
  const config = await readConfig(dir);
  if (config.logs.length === 0) throw new CliError(`the witness follows no log yet; add one with: pedigree witness add-log --dir ${opts.dir} --vkey <log verifier key>`);
  const p = paths(dir);
  let privateKey;
  try {
    privateKey = await readPrivateKey(p.key);
  } catch (e) {
    if (e instanceof KeyFileError) throw new CliError(e.message);
    throw e;
  }
  let witness: Witness;
  try {
    witness = await Witness.open({
      name: config.name,
      privateKey,
      logs: config.logs,
      statePath: p.state,
      onRefused: (e) => process.stderr.write(`${new Date().toISOString()} REFUSED ${terminalSafe(e.origin)}: ${terminalSafe(e.reason)}\n`),
    });
  } catch (e) {
    if (e instanceof WitnessError) throw new CliError(e.message);
    throw e;
  }
  let running;
  try {
    running = await startWitnessServer({ witness, port, host: opts.host, logError: (m, e) => process.stderr.write(`${m}: ${String((e as Error)?.message ?? e)}\n`) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`cannot listen on ${opts.host}:${port}: the address is already in use (another witness or server?); pick another --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new CliError(`cannot listen on ${opts.host}:${port} (${code})`);
    throw e;
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ listening: running.url, name: config.name, vkey: witness.vkey, follows: witness.origins, audits: config.logs.filter((l) => l.audit).map((l) => ({ origin: l.origin, ledger: l.audit })) })}\n`);
  else {
    process.stdout.write(`witness ${config.name} listening on ${running.url}\n`);
    process.stdout.write(`  verifier key: ${witness.vkey}\n  follows: ${witness.origins.join(', ')}\n${config.logs.filter((l) => l.audit).map((l) => `  audits the index of ${l.origin} from ${l.audit}\n`).join('')}`);
  }
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      (opts.json ? process.stderr : process.stdout).write('Stopping...\n');
      void running.close().then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
