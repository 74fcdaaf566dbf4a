/**
 * The `pedigree` command line. Exit codes: 0 success, 3 error (bad usage, unreadable input,
 * unreachable server). Commands that verify document their own 1 and 2.
 */
import { Command, CommanderError, Option } from 'commander';
import { initCommand } from './init.js';
import { serveCommand } from './serve.js';
import { CliError, EXIT_ERROR } from './util.js';

export function buildProgram(): Command {
  const program = new Command('pedigree')
    .description('Pedigree: a transparency ledger for medical-device supply chains.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (s, write) => write(s) });

  const dataOption = () =>
    new Option('--data <dir>', 'ledger data directory').env('PEDIGREE_DATA').default('./data');

  program
    .command('init')
    .description('create a new ledger: data directory, log signing key (Ed25519) and administrator key (P-256)')
    .addOption(dataOption())
    .option('--origin <name>', 'log origin (checkpoint name), a schema-less URL such as example.org/log', 'pedigree.local/log')
    .option('--json', 'machine-readable output')
    .action(initCommand);

  program
    .command('serve')
    .description('run the ledger: GraphQL at /graphql, C2SP tiles at /checkpoint and /tile/, health at /healthz')
    .addOption(dataOption())
    .addOption(new Option('--port <n>', 'TCP port').env('PORT').default('8080'))
    .option('--host <addr>', 'address to listen on (0.0.0.0 to serve the local network)', '127.0.0.1')
    .option('--demo', 'initialise the data directory if needed')
    .option('--max-body <bytes>', 'largest HTTP request body accepted', String(16 * 1024 * 1024))
    .option('--max-bundle <bytes>', 'largest attestation bundle accepted', String(12 * 1024 * 1024))
    .action(serveCommand);

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_ERROR;
    if (e instanceof CliError) {
      process.stderr.write(`pedigree: ${e.message}\n`);
      return e.exitCode;
    }
    const code = (e as { code?: unknown }).code;
    process.stderr.write(`pedigree: ${(e as Error).message ?? String(e)}${typeof code === 'string' ? ` (${code})` : ''}\n`);
    return EXIT_ERROR;
  }
}
