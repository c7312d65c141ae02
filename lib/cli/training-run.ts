/** What `train` and `pretrain` share: the optimiser and output flags, and Ctrl-C/SIGTERM handling around fit(). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdvtrainError } from '../errors.js';
import { prepareRunDir } from '../io/output-dir.js';
import type { TrainingConfig } from '../train/config.js';
import type { MethodConfig } from '../train/methods.js';
import { checkpointRunSettings } from '../train/trainer.js';
import { type OptionSpec, type ParsedArgs, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';

/** The trainer settings of --lr, --weight-decay, --warmup-ratio, --max-grad-norm, --seed, --precision, --keep-padding, --no-step-copy (checked before any work). */
export function trainingConfigFromArgs(args: ParsedArgs, method: MethodConfig, defaultLr: number): TrainingConfig {
  return {
    method,
    optimizer: { name: 'adamw', lr: numberFlag(args, 'lr', defaultLr, { min: 0 }), weightDecay: numberFlag(args, 'weight-decay', 0.01, { min: 0 }) },
    scheduler: { name: 'linear', warmupRatio: numberFlag(args, 'warmup-ratio', 0.06, { min: 0, max: 1 }) },
    maxGradNorm: numberFlag(args, 'max-grad-norm', 1, { min: 0 }),
    seed: numberFlag(args, 'seed', 42, { int: true, min: 0 }),
    precision: precisionFlag(args),
    skipPadding: args['keep-padding'] !== true,
    atomicSteps: args['no-step-copy'] !== true,
  };
}

/** --keep-padding: the Trainer's skipPadding false (every token through every layer, as transformers). */
export const keepPaddingOption: OptionSpec = { type: 'boolean', help: 'run padding positions through every layer, as transformers does (default: the layers skip them; same losses, fewer FLOPs)' };

/** --no-step-copy: the Trainer's atomicSteps false (FreeAT's steps of several updates keep no copy to roll back to). */
export const noStepCopyOption: OptionSpec = {
  type: 'boolean',
  help: "freeat: keep no copy of the weights and optimizer state per step (3x the parameters' memory); a replay that fails or turns non-finite then keeps the earlier replays' updates",
};

/** --precision: exactly 'fp32' or 'bf16' (fp16 is not implemented; a typo must not train in fp32). */
export function precisionFlag(args: ParsedArgs): 'fp32' | 'bf16' {
  const p = args.precision ?? 'fp32';
  if (p !== 'fp32' && p !== 'bf16') throw new UsageError(`--precision must be 'fp32' or 'bf16', got '${String(p)}'`);
  return p;
}

/** The output flags of train and pretrain. */
export const runDirOptions: Record<string, OptionSpec> = {
  overwrite: { type: 'boolean', help: "clear a previous run's model, checkpoints and metrics.jsonl from --out (else such a folder is refused)" },
  'save-total-limit': { type: 'string', help: 'keep only the newest N checkpoints' },
};

/** Refuses a reused --out (unless --overwrite or --resume), creates it and checks it is writable, before any work. */
export function prepareOut(args: ParsedArgs, out: string): void {
  try {
    prepareRunDir(out, { overwrite: args.overwrite === true, resume: typeof args.resume === 'string', names: { overwrite: '--overwrite', resume: '--resume DIR/checkpoint-N' } });
  } catch (err) {
    if (err instanceof AdvtrainError && err.code === 'ERR_INVALID_ARG') throw new UsageError(`--out ${err.message}`);
    throw err;
  }
}

/** Flags a resumed run may change: where and how it reports, not what it computes. */
const RESUME_FREE = new Set(['resume', 'overwrite', 'out', 'quiet', 'device', 'save-total-limit']);
/** Flags naming files or folders: stored absolute, so that a resume from another working folder finds them. */
const PATH_FLAGS = new Set(['train', 'dev', 'model', 'tokenizer', 'out', 'corpus']);

const absolute = (flag: string, v: ParsedArgs[string]) => (!PATH_FLAGS.has(flag) ? v : Array.isArray(v) ? v.map((p) => resolve(p)) : typeof v === 'string' ? resolve(v) : v);

/** What train and pretrain store in every checkpoint (FitOptions.runSettings): the command and its flags, defaults included. */
export function runSettingsOf(command: string, args: ParsedArgs): Record<string, unknown> {
  const flags = Object.entries(args).filter(([k, v]) => v !== undefined && k !== 'resume' && k !== 'overwrite');
  return { cli: { command, args: Object.fromEntries(flags.map(([k, v]) => [k, absolute(k, v)])) } };
}

/** Two values of a flag agree: the same files, the same number ('1e-3' and '0.001'), or the same text. */
function sameValue(flag: string, a: ParsedArgs[string], b: ParsedArgs[string]): boolean {
  const [x, y] = [absolute(flag, a), absolute(flag, b)];
  if (typeof x === 'string' && typeof y === 'string' && x.trim() !== '' && y.trim() !== '' && Number.isFinite(Number(x)) && Number.isFinite(Number(y))) return Number(x) === Number(y);
  return JSON.stringify(x) === JSON.stringify(y);
}

const shown = (v: ParsedArgs[string]) => (v === true ? '' : ` ${Array.isArray(v) ? v.join(' ') : String(v)}`);

/**
 * The flags of a run: with --resume DIR, those stored in the checkpoint (runSettingsOf), where each flag
 * typed again must agree with the stored value (a UsageError naming it, stored and given) unless it only
 * says where or how to report (RESUME_FREE). A checkpoint without stored flags (written through the API
 * or by an older advtrain) resumes with the flags as typed.
 */
export function resumeArgs(command: string, args: ParsedArgs, given: ParsedArgs): ParsedArgs {
  const dir = given.resume;
  if (typeof dir !== 'string') return args;
  if (!existsSync(dir)) throw new UsageError(`--resume: no such folder ${dir}`);
  const { file, settings } = checkpointRunSettings(dir);
  const cli = settings?.cli as { command?: unknown; args?: unknown } | undefined;
  if (typeof cli?.args !== 'object' || cli.args === null || Array.isArray(cli.args)) return args;
  if (cli.command !== command) throw new UsageError(`--resume ${dir} is a checkpoint of 'advtrain ${String(cli.command)}', not of '${command}'`);
  const stored = cli.args as ParsedArgs;
  for (const [flag, value] of Object.entries(given)) {
    if (RESUME_FREE.has(flag) || value === undefined || sameValue(flag, stored[flag], value)) continue;
    const had = stored[flag] === undefined ? `it had no --${flag}` : `it had --${flag}${shown(stored[flag])}`;
    throw new UsageError(`--${flag}${shown(value)} disagrees with the run being resumed (${had}, stored in ${file}); leave --${flag} out to use the stored value, or start a new run`);
  }
  return { ...args, ...stored, ...given };
}

/** Exit codes of a run stopped by a signal: 128 + the signal number. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Ctrl-C (SIGINT) or SIGTERM finishes the running step and lets fit() write a checkpoint; a second
 * signal quits at once. `exitCode` is 130 or 143 once a signal came. Call `release()` when training is over.
 */
export function interruptOnSignals(): { signal: AbortSignal; readonly exitCode: number; release(): void } {
  const abort = new AbortController();
  let exitCode = 0;
  const handlers = (Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]).map((sig) => {
    const handler = () => {
      if (abort.signal.aborted) process.exit(SIGNAL_EXIT[sig]);
      exitCode = SIGNAL_EXIT[sig];
      process.stderr.write(`\n${sig}: finishing the current step and saving a checkpoint (${sig === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to quit at once)\n`);
      abort.abort();
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  return {
    signal: abort.signal,
    get exitCode() {
      return exitCode;
    },
    release: () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

/** Says where the interrupted run's checkpoint is; the command then exits with `code` (130 or 143). */
export function reportInterrupted(out: string, step: number, code: number): number {
  console.error(`interrupted at step ${step}: checkpoint saved in ${join(out, `checkpoint-${step}`)}; resume with --resume ${join(out, `checkpoint-${step}`)} (the run's other flags are stored in it)`);
  return code;
}
