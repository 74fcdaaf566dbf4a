import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openLedger } from '../app.js';
import { adminKeyPath, initDataDir, isInitialised } from '../config/datadir.js';
import { loadDemo, type DemoSummary } from '../demo/demo.js';
import { readPrivateKey } from '../keys.js';
import { startServer } from '../server/http.js';
import { WEB_DIST } from '../server/static.js';
import { parsePort, parsePositive } from './util.js';

export interface ServeOptions {
  data: string;
  port: string;
  host: string;
  demo?: boolean;
  maxBody: string;
  maxBundle: string;
}

export async function serveCommand(opts: ServeOptions): Promise<void> {
  const dir = resolve(opts.data);
  const port = parsePort(opts.port);
  const maxBodyBytes = parsePositive('--max-body', opts.maxBody);
  if (opts.demo && !(await isInitialised(dir))) {
    await initDataDir(dir);
    process.stdout.write(`Initialised a new ledger in ${dir}\n`);
  }
  const { ledger, attestations, devices } = await openLedger(dir, { maxBundleBytes: parsePositive('--max-bundle', opts.maxBundle) });
  let demo: DemoSummary | undefined;
  if (opts.demo && ledger.size === 0) {
    process.stdout.write('Loading the demo supply chain (signing it live)...\n');
    try {
      demo = await loadDemo(attestations, await readPrivateKey(adminKeyPath(dir)), dir, (m) => process.stdout.write(`  ${m}\n`));
    } catch (e) {
      await ledger.close();
      throw e;
    }
    process.stdout.write(`Loaded ${demo.entries} demo attestations; demo participant keys are in ${demo.keysDir}\n`);
  }
  let running;
  try {
    running = await startServer({ ledger, attestations, devices, port, host: opts.host, maxBodyBytes });
  } catch (e) {
    await ledger.close();
    throw e;
  }
  const base = opts.host === '0.0.0.0' || opts.host === '::' ? `http://localhost:${new URL(running.url).port}` : running.url;
  process.stdout.write(
    [
      `Pedigree ledger ${ledger.origin} serving ${ledger.size} entries`,
      existsSync(join(WEB_DIST, 'index.html')) ? `  web page:    ${base}/` : '  web page:    not built (run "npm run build:web" once; npm start does it for you)',
      `  GraphQL:     ${base}/graphql`,
      `  checkpoint:  ${base}/checkpoint`,
      `  tiles:       ${base}/tile/<L>/<N>`,
      `  trust root:  ${base}/trusted_root.json`,
      `  health:      ${base}/healthz`,
      ...(demo
        ? [
            'Devices to try (UDI):',
            `  passes:      ${demo.passing[0]}`,
            `  fails:       ${demo.failing[0]} (display attested with a compromised supplier key)`,
            `  recalled:    ${demo.recalled[0]} (valve lot ${demo.recalledLot})`,
            `  incomplete:  ${demo.incomplete[0]} (no release decision yet)`,
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
      process.stdout.write('Stopping...\n');
      void running.close().then(() => ledger.close()).then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
