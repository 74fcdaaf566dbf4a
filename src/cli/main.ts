/**
 * The `pedigree` command line. Exit codes: 0 success, 3 error (bad usage, unreadable input,
 * unreachable server). Commands that verify document their own 1 and 2.
 */
import { useNativeCrypto } from '../crypto/node.js';
import { Command, CommanderError, Help, Option } from 'commander';
import { CliError, EXIT_ERROR, fileErrorMessage, jsonRequested, parseServerUrl, printJsonError, terminalSafe } from './util.js';

/**
 * A command's action, loaded when the command runs: `pedigree --help` and light commands
 * never load the server, GraphQL or the verifier they do not use.
 */
function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): (...args: unknown[]) => Promise<void> {
  return async (...args) => (((await load())[name]) as unknown as (...a: unknown[]) => Promise<void>)(...args);
}

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
    .action(lazy(() => import('./init.js'), 'initCommand'));

  program
    .command('serve')
    .description('run the ledger: GraphQL at /graphql, C2SP checkpoint and tiles at /checkpoint and /tile/, statements for index monitors at /vindex/payloads/, health at /healthz')
    .addOption(dataOption())
    .addOption(new Option('--port <n>', 'TCP port').env('PORT').default('8080'))
    .option('--advertise-url <url>', 'with --store: where the other servers on the same database reach this one when it writes (default: the address it listens on)')
    .addOption(new Option('--store <url>', 'keep the log in PostgreSQL (postgres://user@host/database[?schema=name]; the password from PGPASSWORD or ~/.pgpass) instead of DATA/db').env('PEDIGREE_STORE'))
    .option('--host <addr>', 'address to listen on (0.0.0.0 to serve the local network)', '127.0.0.1')
    .option('--demo', 'initialise the data directory if needed and load the demo supply chain into an empty log')
    .option('--max-body <bytes>', 'largest HTTP request body accepted', String(16 * 1024 * 1024))
    .option('--max-bundle <bytes>', 'largest attestation bundle accepted', String(12 * 1024 * 1024))
    .option('--witness <vkey@url>', 'a witness to cosign each checkpoint: its cosignature key, "@", its URL (repeatable)', collect, [])
    .option('--witness-quorum <k>', 'serve a checkpoint (and build evidence on it) only once this many witnesses cosigned it (default: all)')
    .option('--cors-origin <origin>', 'a web origin (https://host[:port]) whose pages may call the GraphQL API from a browser, without credentials (repeatable; default: none)', collect, [])
    .option('--max-connections <n>', 'open connections held at most', '512')
    .option('--request-timeout <seconds>', 'how long a client may take to send a whole request (headers within 30 s)', '120')
    .option('--rate-limit <n>', 'GraphQL requests per second one client address may make on average (0: no limit)', '50')
    .option('--rate-burst <n>', 'GraphQL requests one client address may make at once', '200')
    .option('--json', 'machine-readable output: one JSON line once listening (progress on stderr)')
    .action(lazy(() => import('./serve.js'), 'serveCommand'));

  program
    .command('audit')
    .description("check a stopped ledger's data directory against itself: entries, tree, tiles, checkpoint, records, bundles and the verifiable index; names the first inconsistency (exit 0 consistent, 1 inconsistent, 3 error)")
    .addOption(dataOption())
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./audit.js'), 'auditCommand'));

  program
    .command('export-tiles')
    .description('write a stopped ledger (or one on PostgreSQL, while it serves) out as static files for a CDN or object store, laid out as `pedigree serve` answers them: checkpoint, tile/<L>/<N>[.p/<W>], tile/entries/…, vindex/payloads/… and trusted_root.json (docs/static-tiles.md)')
    .addOption(dataOption())
    .addOption(new Option('--store <url>', 'read the log from PostgreSQL (as serve --store), beside its running servers').env('PEDIGREE_STORE'))
    .requiredOption('--out <dir>', 'the directory to write (absent or empty, or with --incremental an earlier export of this log)')
    .option('--incremental', 'update an export of this log in --out: write only new tiles, then the checkpoint last; refuses another log\'s export or a checkpoint this log is not consistent with')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./export.js'), 'exportTilesCommand'));

  program
    .command('backup')
    .description('copy a consistent ledger into a new directory, while it serves (through DATA/backup.sock) or stopped: its database at one instant between commits, ledger.json and, unless --without-keys, the secret keys log.key and admin.key (mode 0600); prints the tree size and root (docs/backup.md)')
    .addOption(dataOption())
    .requiredOption('--out <dir>', 'the backup directory to create (absent or empty)')
    .option('--without-keys', 'leave out log.key and admin.key (restoring then needs --keys)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./backup.js'), 'backupCommand'));

  program
    .command('restore')
    .description('restore a backup into a new data directory, audit it as `pedigree audit` does and only then put it in place; prints the tree size and root (exit 0 restored, 1 the copy is inconsistent and nothing was restored, 3 error)')
    .requiredOption('--from <dir>', 'the backup directory (from pedigree backup)')
    .addOption(dataOption())
    .option('--keys <dir>', 'for a backup made with --without-keys: the directory holding log.key (and admin.key)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./backup.js'), 'restoreCommand'));

  const serverOption = () => new Option('--server <url>', 'ledger URL').env('PEDIGREE_SERVER').default('http://127.0.0.1:8080').argParser(parseServerUrl);

  program
    .command('rotate-log-key')
    .description("replace a STOPPED ledger's log key: a new Ed25519 log.key (the old one kept as log.key.retired-<time>), the key history in ledger.json, the current checkpoint signed by both keys; old entries keep their timestamps and log ID, the trusted root lists both keys (docs/keys.md)")
    .addOption(dataOption())
    .addOption(new Option('--store <url>', 'the ledger is on PostgreSQL (as for serve): stop every server on it first, and give each the new data directory').env('PEDIGREE_STORE'))
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./rotate.js'), 'rotateLogKeyCommand'));

  program
    .command('rotate-admin-key')
    .description('hand the administrator over to a new key: an administrator-key statement signed with the current key and logged; from then on only the new key signs registry statements (docs/keys.md)')
    .addOption(serverOption())
    .requiredOption('--admin-key <file>', "the current administrator's private key")
    .requiredOption('--new-key <file>', 'the new administrator private key (P-256, from pedigree keygen)')
    .option('--data <dir>', "also install the new key as the data directory's admin.key/admin.pub (the old one kept as admin.key.retired-<time>)")
    .option('--note <text>', 'free text')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./rotate.js'), 'rotateAdminKeyCommand'));

  program
    .command('keygen')
    .description('create a P-256 signing key: PREFIX.key (private, mode 0600) and PREFIX.pub')
    .requiredOption('--out <prefix>', 'path prefix for the key files')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./keys.js'), 'keygenCommand'));

  const participant = program.command('participant').description('register, revoke and list participants (administrator)');
  participant
    .command('add')
    .description('register a participant (or update one with the same id), signed with the administrator key')
    .addOption(serverOption())
    .requiredOption('--admin-key <file>', "the administrator's private key (DATA/admin.key)")
    .requiredOption('--name <organisation>', 'organisation name')
    .option('--id <id>', 'participant id (default: derived from the name)')
    .requiredOption('--role <role>', 'supplier, manufacturer, builder, qa, distributor, hospital or regulator (repeat or comma-separate)', collect, [])
    .option('--public-key <file>', "the participant's PEM public key (repeatable)", collect, [])
    .option('--identity <subject>', 'a certificate identity: the subject alternative name (an email or URI), exact or with * for any run of characters, e.g. https://github.com/acme/fw/.github/workflows/release.yml@refs/tags/* (repeatable; needs --trust-root)', collect, [])
    .option('--identity-issuer <url>', 'the OIDC issuer the certificates record, e.g. https://token.actions.githubusercontent.com (omit for a CA that records none)')
    .option('--trust-root <name>', 'the registered trust root the identities chain to (pedigree trust-root list)')
    .option('--product <gtin>', 'for a manufacturer: a device model it makes, as a GTIN-14, +<LIC><PCN><U/M> (HIBCC) or =/<PPIC> (ICCBBA) (repeatable)', collect, [])
    .option('--valid-from <time>', 'ISO 8601 start of validity')
    .option('--valid-until <time>', 'ISO 8601 end of validity')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./participant.js'), 'participantAddCommand'));
  participant
    .command('revoke')
    .description('revoke a participant or one of its keys from an effective time; a compromise may name a past time')
    .addOption(serverOption())
    .requiredOption('--admin-key <file>', "the administrator's private key")
    .requiredOption('--id <id>', 'participant id')
    .option('--key-id <hex>', 'revoke only this key')
    .option('--identity-id <hex>', 'revoke only this certificate identity (pedigree participant list shows the IDs)')
    .option('--reason <reason>', 'compromise, superseded, retired or other', 'retired')
    .option('--effective <time>', 'ISO 8601 effective time (default: now)')
    .option('--until <time>', 'ISO 8601 end of a revoked window (needs --effective): what was logged after it counts again')
    .option('--note <text>', 'free text')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./participant.js'), 'participantRevokeCommand'));
  const trustRoot = program.command('trust-root').description('register, revoke and list the trust roots certificate identities chain to (administrator)');
  trustRoot
    .command('add')
    .description('register a trust root under a name: a Sigstore trusted_root.json (a private Sigstore instance), the public-good instance, or an organisation CA chain')
    .addOption(serverOption())
    .requiredOption('--admin-key <file>', "the administrator's private key")
    .requiredOption('--name <name>', 'the name identities use (lowercase letters, digits, hyphens)')
    .option('--trusted-root <file|url>', 'a Sigstore trusted_root.json')
    .option('--sigstore-public-good', "the public-good Sigstore instance's trusted root, shipped with Pedigree")
    .option('--ca-chain <pem>', "an organisation CA's certificates (PEM file, intermediate and root)")
    .option('--note <text>', 'free text')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./trust-root.js'), 'trustRootAddCommand'));
  trustRoot
    .command('revoke')
    .description('revoke a trust root from an effective time (or for a window): nothing signed under it counts then')
    .addOption(serverOption())
    .requiredOption('--admin-key <file>', "the administrator's private key")
    .requiredOption('--name <name>', 'the trust root')
    .option('--reason <reason>', 'compromise, superseded, retired or other', 'retired')
    .option('--effective <time>', 'ISO 8601 effective time (default: now)')
    .option('--until <time>', 'ISO 8601 end of a revoked window (needs --effective)')
    .option('--note <text>', 'free text')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./trust-root.js'), 'trustRootRevokeCommand'));
  trustRoot
    .command('list')
    .description('list the registered trust roots')
    .addOption(serverOption())
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./trust-root.js'), 'trustRootListCommand'));
  participant
    .command('list')
    .description('list participants, their roles and keys')
    .addOption(serverOption())
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./participant.js'), 'participantListCommand'));

  program
    .command('attest')
    .description('sign an in-toto statement with your key, submit it, and write the completed bundle')
    .addOption(serverOption())
    .requiredOption('--key <file>', 'your private key (from pedigree keygen)')
    .requiredOption('--out <file>', 'where to write the completed bundle')
    .option('--type <type>', 'predicate type: a URI or component, firmware, slsa-provenance, cyclonedx, test-result, device-assembly, slsa-vsa, custody-transfer, installation, advisory, spdx, firmware-update, openvex')
    .option('--predicate <file|json>', 'the predicate (JSON file or inline JSON)')
    .option('--statement <file>', 'a whole in-toto statement instead of --type/--predicate/subjects')
    .option('--subject <[name=]alg:value>', 'a subject digest, e.g. fw.bin=sha256:ab12... (repeatable)', collect, [])
    .option('--subject-file <path>', 'a file subject, digested with sha256 (repeatable)', collect, [])
    .option('--udi <udi>', 'a device subject, any GS1 form (repeatable)', collect, [])
    .option('--part-serial <supplier:part:serial>', 'a part serial subject (repeatable)', collect, [])
    .option('--lot <supplier:part:lot>', 'a lot subject (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./attest.js'), 'attestCommand'));

  program
    .command('submit')
    .description('submit signed bundles (from pedigree attest or any Sigstore signer), up to 100 per request through the batch mutation: the way to upload many; each bundle is answered on its own (exit 0 all in the log, 1 some refused, 3 error)')
    .argument('<bundle...>', 'signed bundle files (JSON)')
    .addOption(serverOption())
    .option('--out-dir <dir>', 'write each completed bundle (with its inclusion proof) here, under its file name')
    .option('--batch-size <n>', 'bundles per request, 1..100', '100')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./submit.js'), 'submitCommand'));

  program
    .command('verify')
    .description(
      'verify a Sigstore bundle offline with @sigstore/verify: this ledger\'s or any Sigstore client\'s (v0.1–v0.3, message signature or DSSE, key or certificate), against the trusted roots you name, the signer you expect and, when given, the artifact (exit 0 valid, 1 invalid, 3 error)',
    )
    .argument('<bundle>', 'bundle file')
    .option('--trusted-root <file|url>', 'a Sigstore trusted_root.json: this ledger\'s, a private Sigstore instance\'s (repeatable)', collect, [])
    .option('--sigstore-public-good', 'also trust the public-good Sigstore instance (its trusted root ships with Pedigree)')
    .option('--public-key <file>', "for a key-signed bundle: the signer's PEM public key (repeatable)", collect, [])
    .option('--certificate-identity <id>', "for a certificate-signed bundle: the signer's identity (the certificate's subject alternative name), exactly")
    .option('--certificate-identity-regexp <pattern>', 'the same as a regular expression, matched against the whole identity, e.g. a workflow path at any ref')
    .option('--certificate-oidc-issuer <url>', "for a certificate-signed bundle: the identity's OIDC issuer, exactly")
    .option('--artifact <file>', 'the artifact in hand: the signed message, or a subject of the statement')
    .option('--digest <sha256:hex>', 'the artifact by its SHA-256, when the file is not at hand (DSSE bundles)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./attest.js'), 'verifyCommand'));

  const verifyDevice = program
    .command('verify-device')
    .description(`release gate: fetch the device's evidence, verify it locally against your policy and apply it (exit ${EXIT_CODES_TEXT})`)
    .addOption(serverOption())
    .requiredOption('--udi <udi>', 'the device you are checking (any UDI form)');
  gateOptions(verifyDevice).action(lazy(() => import('./device.js'), 'verifyDeviceCommand'));

  program
    .command('verify-evidence')
    .description(`verify a saved evidence package offline against your expectations and re-derive the verdict (exit ${EXIT_CODES_TEXT})`)
    .argument('<file>', 'evidence package (from verify-device or verify-firmware --evidence, or the web page)')
    .option('--udi <udi>', 'the device you are checking (any UDI form); evidence about another device is refused')
    .option('--firmware <image>', 'or the firmware image you are checking (hashed here; give --model too); evidence about another image is refused')
    .option('--model <gtin>', 'with --firmware: the device model (GTIN-14) the image is for')
    .requiredOption('--trusted-root <file|url>', "the ledger's trusted_root.json")
    .option('--policy <file>', 'your policy JSON (default: the release policy shipped with pedigree)')
    .option('--trusted-checkpoint <file>', 'the newest checkpoint you have seen (updated with a newer verified one)')
    .option('--max-age <duration>', 'refuse evidence issued longer ago than this (e.g. 10m, 24h, 7d)')
    .option('--witness <vkey>', 'a witness you trust (its cosignature key; repeatable)', collect, [])
    .option('--witnesses-required <k>', 'how many of the --witness keys must have cosigned the checkpoint (default: all of them)')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./device.js'), 'verifyEvidenceCommand'));

  const verifyFirmware = program
    .command('verify-firmware')
    .description(`update gate: hash a firmware image here, fetch its evidence for a device model, verify it locally and apply your policy: released by the model's manufacturer for that model, built by an allowed builder, SBOM, passing tests, not recalled, no unmitigated blocking vulnerability (exit ${EXIT_CODES_TEXT})`)
    .argument('<file>', 'the firmware image you are about to flash (hashed locally; never uploaded)')
    .addOption(serverOption())
    .requiredOption('--model <gtin>', 'the device model it is for, as a GTIN-14 (e.g. 09506000134352)');
  gateOptions(verifyFirmware).action(lazy(() => import('./device.js'), 'verifyFirmwareCommand'));

  program
    .command('affected')
    .description('blast radius: devices containing a lot or part serial, running a firmware image, or running firmware with a software component (purl), and where they are installed')
    .addOption(serverOption())
    .option('--lot <supplier:part:lot>', 'a component lot')
    .option('--part-serial <supplier:part:serial>', 'a part serial')
    .option('--firmware-digest <sha256>', 'a firmware image digest (devices running it now, after firmware updates)')
    .option('--purl <purl>', 'a software component by package URL, with a version (pkg:generic/openssl@3.0.7) or without one (with --range, or for every version)')
    .option('--range <vers>', 'with --purl: a version range in purl vers syntax, e.g. "vers:generic/>=3.0.0|<3.0.8"')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./device.js'), 'affectedCommand'));

  program
    .command('monitor')
    .description('watch the log: verify each checkpoint and prove it consistent with the last one seen (exit 1 on a rewritten, forked or shrunk log); with --audit, also rebuild the verifiable index from every entry and compare it with the root each checkpoint commits')
    .addOption(serverOption())
    .requiredOption('--trusted-root <file|url>', "the ledger's trusted_root.json (pin a file)")
    .option('--state <file>', 'where the last checkpoint seen is kept', 'pedigree-monitor.json')
    .option('--interval <seconds>', 'seconds between checks', '30')
    .option('--once', 'check once and exit')
    .option('--audit', 'read every entry (tiles and /vindex/payloads), rebuild the index with the same map function and alarm on a root that differs, naming the key (resumes where it stopped)')
    .option('--json', 'machine-readable output, one JSON object per line per check')
    .action(lazy(() => import('./monitor.js'), 'monitorCommand'));

  registerWitnessCommands(program);
  // Repeatable options start from []: help says nothing of that default.
  for (const c of commandsOf(program)) c.configureHelp({ optionDescription: describeOption });

  return program;
}

const commandsOf = (c: Command): Command[] => [c, ...c.commands.flatMap(commandsOf)];

function describeOption(this: Help, option: Option): string {
  const empty = Array.isArray(option.defaultValue) && option.defaultValue.length === 0;
  return Help.prototype.optionDescription.call(this, empty ? Object.assign(Object.create(Object.getPrototypeOf(option) as object) as Option, option, { defaultValue: undefined }) : option);
}

/** `pedigree witness …`: the witness's commands, loaded like the others when one runs. */
function registerWitnessCommands(program: Command): void {
  const witness = program
    .command('witness')
    .description('run a C2SP tlog-witness that cosigns the checkpoints of the logs it follows (c2sp.org/tlog-witness)');
  witness
    .command('init')
    .description('create a witness directory: witness.json and an Ed25519 key witness.key (mode 0600); prints the verifier key')
    .requiredOption('--dir <dir>', 'witness directory (created if needed)')
    .requiredOption('--name <name>', 'witness name, a schema-less URL such as witness.example.org/w1')
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./witness.js'), 'initCommand'));
  witness
    .command('add-log')
    .description('follow a log: trust its checkpoint key (repeat with another --vkey to trust several keys); takes effect when serve starts')
    .requiredOption('--dir <dir>', 'witness directory')
    .requiredOption('--vkey <vkey>', "the log's signed-note verifier key, <name>+<hex key ID>+<base64> (pedigree init prints it)")
    .option('--origin <origin>', "the log's checkpoint origin line (default: the key's name)")
    .option('--audit <url>', "the ledger's URL: before cosigning, rebuild its verifiable index from its entries and refuse a checkpoint whose index root differs")
    .option('--json', 'machine-readable output')
    .action(lazy(() => import('./witness.js'), 'addLogCommand'));
  witness
    .command('serve')
    .description('serve POST /add-checkpoint and GET /<sha256(origin) hex>/checkpoint')
    .requiredOption('--dir <dir>', 'witness directory')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8081')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--json', 'machine-readable output: one JSON line once listening')
    .action(lazy(() => import('./witness.js'), 'serveCommand'));
}

/** A repeatable option's values, in order. */
const collect = (v: string, prev: string[]) => [...prev, v];

/** The options both gates (verify-device, verify-firmware) take. */
function gateOptions(c: Command): Command {
  return c
    .option('--policy <file>', 'your policy JSON (default: the release policy shipped with pedigree, attestations/policies/release.json)')
    .option('--evidence <out>', 'also write the evidence package here, once it has verified')
    .option('--trusted-root <file|url>', "the ledger's trusted root (pin a file; without it the server's own is used, with a warning)")
    .option('--trusted-checkpoint <file>', 'the newest checkpoint you have seen: the evidence must be at or beyond it and prove the log consistent with it; a newer verified one replaces it in the file')
    .option('--max-age <duration>', 'refuse evidence issued longer ago than this (e.g. 10m, 24h, 7d; "none" to accept any age)', '1h')
    .option('--witness <vkey>', 'a witness you trust (its cosignature key, as "pedigree witness init" prints; repeatable)', collect, [])
    .option('--witnesses-required <k>', 'how many of the --witness keys must have cosigned the checkpoint (default: all of them)')
    .option('--json', 'machine-readable output');
}

const EXIT_CODES_TEXT = '0 PASS, 1 FAIL, 2 INCOMPLETE, 3 error, 4 RECALLED, 5 UNKNOWN, 6 NOT VERIFIED';

/** The settings file named on the command line (--config FILE or --config=FILE) or in PEDIGREE_CONFIG. */
function configFile(argv: readonly string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    if (argv[i] === '--') break;
    if (argv[i] === '--config') return argv[i + 1];
    if (argv[i]!.startsWith('--config=')) return argv[i]!.slice('--config='.length);
  }
  return process.env.PEDIGREE_CONFIG || undefined;
}

/** The command the arguments run: the longest chain of command names they start with. */
function commandFor(program: Command, args: readonly string[]): Command | undefined {
  let at: Command = program;
  for (const a of args) {
    const next = at.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!next) break;
    at = next;
  }
  return at === program ? undefined : at;
}

export async function main(argv: string[]): Promise<number> {
  useNativeCrypto();
  // A reader that stops early (`| head`) closes the pipe: stop quietly, keeping the exit code.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
  const program = buildProgram();
  // With --json every error is one JSON object on stdout, those found while parsing too.
  const json = jsonRequested(argv.slice(2));
  // Usage errors (a missing or unknown option) exit 3 from every command, never a verdict's code.
  for (const c of commandsOf(program)) {
    c.exitOverride();
    if (json) c.configureOutput({ outputError: () => undefined, writeErr: () => true });
    // Every command reads a settings file (config.ts): flags win over the environment, which wins over the file.
    if (c !== program && c.commands.length === 0) c.addOption(new Option('--config <file>', 'a settings file (JSON) giving any of these options by name; flags and environment win over it').env('PEDIGREE_CONFIG'));
  }
  const fail = (code: string, message: string, exitCode: number, details: Record<string, unknown> = {}, named = true): number => {
    // Messages may carry a server's words: printed without terminal control sequences.
    if (json) printJsonError(code, message, details);
    else process.stderr.write(`pedigree: ${terminalSafe(message)}${named ? ` (${terminalSafe(code)})` : ''}\n`);
    return exitCode;
  };
  try {
    // Set before parsing, so that required options can come from the file and the environment
    // and the command line still win (commander ranks default < config < env < cli).
    const settings = configFile(argv);
    if (settings !== undefined) {
      const target = commandFor(program, argv.slice(2));
      if (target) (await import('./config.js')).applySettings(program, target, settings);
    }
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0;
      // Commander has printed it (without --json).
      return json ? fail('USAGE', e.message.replace(/^error: /, ''), EXIT_ERROR) : EXIT_ERROR;
    }
    if (e instanceof CliError) return fail(e.code, e.message, e.exitCode, e.details, false);
    const file = fileErrorMessage(e);
    if (file) return fail('FILE_ERROR', file, EXIT_ERROR, {}, false);
    const code = (e as { code?: unknown }).code;
    return fail(typeof code === 'string' ? code.slice(0, 60) : 'ERROR', String((e as Error).message ?? e), EXIT_ERROR, {}, typeof code === 'string');
  }
}
