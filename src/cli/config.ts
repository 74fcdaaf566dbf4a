/**
 * The settings file: every option a command takes, by its flag's name without the dashes, in a
 * JSON file named by `--config FILE` or PEDIGREE_CONFIG. Top-level entries apply to every command
 * that has the option; an object under a command's name ("serve", "verify-device",
 * "participant add", "witness serve") applies to that command only and wins over the top level.
 * A flag given on the command line wins over the environment, which wins over the file, which
 * wins over the built-in default:
 *
 *   { "data": "/var/lib/pedigree",
 *     "server": "https://ledger.example.org",
 *     "serve": { "port": 8080, "host": "127.0.0.1", "rate-limit": 50, "witness": ["…@https://…"] },
 *     "verify-device": { "trusted-root": "/etc/pedigree/trusted_root.json" } }
 *
 * Anything the file names that no command takes is an error naming it, so a typo never passes
 * silently.
 */
import { readFileSync } from 'node:fs';
import type { Command, Option } from 'commander';
import { CliError, whyUnreadable } from './util.js';

export const CONFIG_ENV = 'PEDIGREE_CONFIG';

/** A command's name as a settings file names it: its path below the program ("participant add"). */
export function commandPath(c: Command): string {
  const names: string[] = [];
  for (let at: Command | null = c; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

const flagName = (o: Option) => (o.long ?? '').replace(/^--/, '');
const isRepeatable = (o: Option) => Array.isArray(o.defaultValue);

function readSettings(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`--config: cannot read ${file}: ${whyUnreadable(e)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--config: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`--config: ${file} must hold a JSON object of settings`);
  return value as Record<string, unknown>;
}

/** The value a setting gives an option, in the form the option's parser takes; throws a CliError naming it. */
function optionValue(o: Option, v: unknown, where: string): unknown {
  const name = flagName(o);
  if (o.isBoolean()) {
    if (typeof v !== 'boolean') throw new CliError(`${where}: "${name}" is a switch: true or false`);
    return v;
  }
  const scalar = (x: unknown) => {
    if (typeof x === 'string') return x;
    if (typeof x === 'number' && Number.isFinite(x)) return String(x);
    throw new CliError(`${where}: "${name}" must be ${isRepeatable(o) ? 'a list of texts or numbers' : 'a text or a number'}`);
  };
  if (isRepeatable(o)) {
    if (!Array.isArray(v)) throw new CliError(`${where}: "${name}" can be given several times: write a list, such as ["…"]`);
    return v.map(scalar);
  }
  return scalar(v);
}

/**
 * Applies the settings file to the command about to run, before the arguments are parsed: its
 * values take the "config" source, which the environment and the command line then override.
 * Checks the whole file against every command.
 */
export function applySettings(program: Command, action: Command, file: string): void {
  const settings = readSettings(file);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  const commands = new Map(all(program).slice(1).map((c) => [commandPath(c), c]));
  const everyOption = new Set(all(program).flatMap((c) => c.options.map(flagName)));
  for (const [key, v] of Object.entries(settings)) {
    const section = commands.get(key);
    if (section && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const known = new Set(section.options.map(flagName));
      for (const k of Object.keys(v)) {
        if (!known.has(k)) throw new CliError(`--config: ${file}: "${key}" takes no setting "${k}"; it takes ${[...known].filter((n) => n !== 'config').join(', ') || 'none'}`);
      }
    } else if (!everyOption.has(key) || key === 'config') {
      throw new CliError(`--config: ${file}: "${key}" is neither an option nor a command (settings are named like the flags, without the dashes: "data", "server", "port", …; a command's own settings go under its name, such as "serve")`);
    }
  }
  const own = settings[commandPath(action)];
  const scoped = typeof own === 'object' && own !== null && !Array.isArray(own) ? (own as Record<string, unknown>) : {};
  for (const o of action.options) {
    const name = flagName(o);
    if (name === 'config') continue;
    const where = `--config: ${file}`;
    if (name in scoped) action.setOptionValueWithSource(o.attributeName(), optionValue(o, scoped[name], where), 'config');
    else if (name in settings && !commands.has(name)) action.setOptionValueWithSource(o.attributeName(), optionValue(o, settings[name], where), 'config');
  }
}
