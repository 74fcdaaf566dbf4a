import { resolve } from 'node:path';
import { openLedger } from '../app.js';
import { initDataDir, isInitialised } from '../config/datadir.js';
import { startServer } from '../server/http.js';
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
      `  GraphQL:     ${base}/graphql`,
      `  checkpoint:  ${base}/checkpoint`,
      `  tiles:       ${base}/tile/<L>/<N>`,
      `  trust root:  ${base}/trusted_root.json`,
      `  health:      ${base}/healthz`,
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
