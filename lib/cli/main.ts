#!/usr/bin/env -S MALLOC_ARENA_MAX=1 node
// One malloc arena (set before Node starts: it cannot be changed later): the compute thread's own arena
// would hand its emptied 64 MB heaps back and page-fault them in again every step (docs/performance.md).
/** The `advtrain` command line. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdvtrainError } from '../errors.js';
import { packageVersion } from '../paths.js';
import { type Command, helpText, type ParsedArgs, UsageError } from './command.js';
import { demo } from './demo.js';
import { doctor } from './doctor.js';
import { evaluate } from './eval.js';
import { figures } from './figures.js';
import { launch } from './launch.js';
import { predict } from './predict.js';
import { pretrain } from './pretrain.js';
import { robustness } from './robustness.js';
import { train } from './train.js';

const commands: Command[] = [demo, train, evaluate, predict, pretrain, robustness, figures, launch, doctor];

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'usage: advtrain <command> [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width + 2)}${c.summary}`),
    '',
    'advtrain <command> --help shows the options of a command; advtrain --version prints the version.',
    'exit codes: 0 ok, 1 failure, 2 usage, 130 interrupted (SIGINT), 143 terminated (SIGTERM)',
  ].join('\n');
}

/**
 * `--lr -1` as `--lr=-1`: parseArgs takes a value starting with '-' for an option and calls the flag
 * ambiguous; a negative number after a value flag is that flag's value (its range check then speaks).
 */
function joinNegativeValues(args: string[], options: Command['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    if (name && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(topHelp());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(packageVersion);
    return 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`advtrain: unknown command '${name}'\n\n${topHelp()}`);
    return 2;
  }
  // `launch ... -- advtrain train --epochs 1`: what follows `--` belongs to the worker command.
  const dashes = cmd.passThrough ? rest.indexOf('--') : -1;
  const own = dashes >= 0 ? rest.slice(0, dashes) : rest;
  const passed = dashes >= 0 ? rest.slice(dashes + 1) : [];
  if (own.includes('--help') || own.includes('-h')) {
    console.log(helpText(cmd));
    return 0;
  }
  let parsed: { values: ParsedArgs; positionals: string[] };
  try {
    const options = Object.fromEntries(
      Object.entries(cmd.options).map(([k, o]) => [k, Object.fromEntries(Object.entries({ type: o.type, multiple: o.multiple, short: o.short }).filter(([, v]) => v !== undefined))]),
    );
    parsed = parseArgs({ args: joinNegativeValues(own, cmd.options), options: options as never, allowPositionals: true, strict: true }) as { values: ParsedArgs; positionals: string[] };
  } catch (err) {
    console.error(`advtrain ${cmd.name}: ${(err as Error).message}\n\n${helpText(cmd)}`);
    return 2;
  }
  if (parsed.positionals.length) {
    const hint = cmd.passThrough ? '; the command to run goes after --' : '';
    console.error(`advtrain ${cmd.name}: unexpected argument '${parsed.positionals[0]}' (every value follows its --flag${hint})\n\n${helpText(cmd)}`);
    return 2;
  }
  try {
    // Defaults are filled in here, so that a command knows which flags were typed (`given`).
    const defaults = Object.fromEntries(Object.entries(cmd.options).flatMap(([k, o]) => (o.default === undefined ? [] : [[k, o.default]])));
    return await cmd.run({ ...defaults, ...parsed.values }, passed, parsed.values);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`advtrain ${cmd.name}: ${err.message}\n\n${helpText(cmd)}`);
      return 2;
    }
    if (err instanceof AdvtrainError) {
      console.error(`advtrain ${cmd.name}: ${err.message} [${err.code}]`);
      return 1;
    }
    console.error(`advtrain ${cmd.name}: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

// Runs only as the entry point (`advtrain ...` or `node dist/lib/cli/main.js ...`), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
