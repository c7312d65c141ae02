/**
 * A CLI command: its options (node:util parseArgs shapes) and what it runs. Exit codes: 0 ok, 1 failure,
 * 2 usage, 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  help: string;
  default?: string | boolean;
}

export type ParsedArgs = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Printed after the options in --help. */
  notes?: string;
  /** The words after `--` are the command's positionals, passed untouched (not parsed as its flags). */
  passThrough?: boolean;
  /** Returns the exit code. `args` has the defaults filled in; `given` holds only the flags typed. */
  run(args: ParsedArgs, positionals: string[], given: ParsedArgs): Promise<number>;
}

/** Thrown for bad command-line usage: printed with the command's help, exit code 2. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A model folder without a usable tokenizer: no tokenizer files, or files loadModel could not resolve. */
export function noTokenizerError(dir: string, hint = ''): UsageError {
  const files = ['tokenizer.json', 'vocab.txt'].filter((f) => existsSync(join(dir, f)));
  const what = files.length
    ? `has ${files.join(' and ')} but its special tokens could not be resolved (see the ADVTRAIN_TOKENIZER_UNRESOLVED warning)`
    : 'has no tokenizer files (tokenizer.json or vocab.txt)';
  return new UsageError(`${dir} ${what}${hint}`);
}

export function helpText(cmd: Command): string {
  const lines = [`${cmd.summary}`, '', `usage: ${cmd.usage}`, '', 'options:'];
  const entries = Object.entries(cmd.options);
  const width = Math.max(...entries.map(([k, o]) => k.length + (o.type === 'string' ? 6 : 0)), 6);
  for (const [k, o] of entries) {
    const flag = `--${k}${o.type === 'string' ? ' VALUE' : ''}`;
    lines.push(`  ${flag.padEnd(width + 4)}${o.help}${o.default !== undefined ? ` (default: ${String(o.default)})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(width + 4)}show this help`);
  if (cmd.notes) lines.push('', cmd.notes);
  return lines.join('\n');
}

/** What --help of train and pretrain says about stopping a run. */
export const INTERRUPT_NOTES =
  'Ctrl-C (SIGINT) or SIGTERM finishes the running step, saves a checkpoint in --out and exits with 130\n' +
  '(SIGINT) or 143 (SIGTERM); a second signal quits at once. --resume DIR/checkpoint-N continues the run: its\n' +
  'flags are stored in the checkpoint, and flags given again must agree with them (--out, --device, --quiet,\n' +
  '--save-total-limit may change).\n' +
  'exit codes: 0 ok, 1 failure, 2 usage, 130 interrupted (SIGINT), 143 terminated (SIGTERM)';
