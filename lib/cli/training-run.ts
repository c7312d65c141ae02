/** What `train` and `pretrain` share: the optimiser flags, and Ctrl-C handling around fit(). */
import { join } from 'node:path';
import type { Model } from '../model/model.js';
import type { MethodConfig } from '../train/methods.js';
import { Trainer, type TrainerCallback } from '../train/trainer.js';
import type { ParsedArgs } from './command.js';
import { numberFlag } from './method-flags.js';

/** A Trainer configured from --lr, --weight-decay, --warmup-ratio, --max-grad-norm, --seed, --precision. */
export function trainerFromArgs(args: ParsedArgs, model: Model, method: MethodConfig, callbacks: TrainerCallback[], defaultLr: number): Trainer {
  return new Trainer({
    model,
    method,
    optimizer: { name: 'adamw', lr: numberFlag(args, 'lr', defaultLr, { min: 0 }), weightDecay: numberFlag(args, 'weight-decay', 0.01, { min: 0 }) },
    scheduler: { name: 'linear', warmupRatio: numberFlag(args, 'warmup-ratio', 0.06, { min: 0, max: 1 }) },
    maxGradNorm: numberFlag(args, 'max-grad-norm', 1, { min: 0 }),
    seed: numberFlag(args, 'seed', 42, { int: true, min: 0 }),
    precision: args.precision === 'bf16' ? 'bf16' : 'fp32',
    callbacks,
  });
}

/**
 * Ctrl-C finishes the running step and lets fit() write a checkpoint; a second Ctrl-C quits at once.
 * Call `release()` when training is over.
 */
export function interruptOnSigint(): { signal: AbortSignal; release(): void } {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupt: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: abort.signal, release: () => process.off('SIGINT', onSigint) };
}

/** Says where the interrupted run's checkpoint is; the command then exits 130. */
export function reportInterrupted(out: string, step: number): number {
  console.error(`interrupted at step ${step}: checkpoint saved in ${join(out, `checkpoint-${step}`)}; resume with --resume`);
  return 130;
}
