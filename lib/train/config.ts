/** Trainer configuration: validated once, frozen, saved with every checkpoint. */
import { invalidArg } from '../errors.js';
import { boolean, finiteNumber, integer, knownKeys, object, oneOf } from '../validate.js';
import { type MethodConfig, type ResolvedMethod, resolveMethod } from './methods.js';

export interface OptimizerOptions {
  name: 'adamw' | 'sgd';
  lr: number;
  /** Decoupled (AdamW) or L2 (SGD) weight decay; never on biases and LayerNorm weights. Default 0. */
  weightDecay?: number;
  /** AdamW betas, default [0.9, 0.999]. */
  betas?: [number, number];
  /** AdamW epsilon, default 1e-8. */
  eps?: number;
  /** SGD momentum, default 0. */
  momentum?: number;
  nesterov?: boolean;
}

export interface SchedulerOptions {
  /** transformers' linear / cosine (half cycle) / constant schedules, each with linear warmup. */
  name: 'linear' | 'cosine' | 'constant';
  warmupSteps?: number;
  /** Warmup as a fraction of the total optimizer steps. */
  warmupRatio?: number;
  /** Total optimizer steps; fit() fills it from epochs or maxSteps. */
  totalSteps?: number;
}

/** Everything a Trainer is built from, except the model and callbacks. */
export interface TrainingConfig {
  method?: MethodConfig;
  optimizer: OptimizerOptions;
  scheduler?: SchedulerOptions;
  /** Gradient clipping by total 2-norm; 0 = off. Default 1.0 (as transformers' Trainer). */
  maxGradNorm?: number;
  /** Micro-batches per optimizer step. Default 1. */
  gradientAccumulation?: number;
  /** Seeds libtorch's generators (dropout, random starts) and data shuffling. Default 42. */
  seed?: number;
  /** `'bf16'`: bfloat16 matmuls with fp32 master weights and fp32 norms (CUDA, or a CPU with avx512_bf16 / amx_bf16 on libtorch >= 2: see info().cpuBf16). Default 'fp32'. */
  precision?: 'fp32' | 'bf16';
  /** Consecutive non-finite steps (skipped, weights untouched) before training stops with ERR_NON_FINITE. Default 5. */
  maxNonFiniteSteps?: number;
  /**
   * EarlyRobust's L1 penalty on the model's slimming coefficients (Model.enableSlimming): the gradient of
   * `heads * sum|c_heads| + ffn * sum|c_ffn|` is added once per optimizer update, before clipping, as the
   * official code adds the term to the loss of FreeLB's last pass. The paper uses { heads: 1e-5, ffn: 2e-4 }.
   * Default none.
   */
  slimmingL1?: { heads: number; ffn: number };
  /**
   * Run the token-wise layers (projections, feed-forward, LayerNorm, dropout) on the real tokens of a
   * padded batch only; attention keeps the padded layout. Losses and gradients are those of the padded
   * computation (outputs at padding positions, which no loss reads, become zeros), and the work shrinks
   * with the padding: a batch with a quarter padding skips about a quarter of the step. Taken where
   * nothing reads padding positions: not for extractive QA (its position softmax covers padding, as in
   * transformers), batches with a token label on padding or a row without tokens, or passes that
   * collect hidden states (InfoBERT). DeBERTa-v2's relative attention and ConvLayer run padded. Dropout masks are drawn for the real tokens only, so
   * the draws differ from `skipPadding: false`. Default true.
   */
  skipPadding?: boolean;
  /**
   * For methods that make several optimizer updates in one step (FreeAT: `replays` of them): true keeps a
   * copy of the weights and the optimizer state taken at the start of each step, so a step that fails or
   * turns non-finite is undone as a whole, as every other step is. That copy is three times the parameters
   * under AdamW (1.3 GB for BERT-base). False drops it: each update is then atomic on its own (checked
   * before it touches a weight), a non-finite replay skips its update and ends the step with the earlier
   * replays' updates kept (as the official FreeAT loop, where every replay is an optimizer step), and an
   * error after k updates leaves those k applied, with the count in its message. Default true.
   */
  atomicSteps?: boolean;
}

export interface ResolvedConfig {
  method: ResolvedMethod;
  optimizer: Required<Omit<OptimizerOptions, 'betas'>> & { beta1: number; beta2: number };
  scheduler: { name: SchedulerOptions['name']; warmupSteps?: number; warmupRatio?: number; totalSteps?: number };
  maxGradNorm: number;
  gradientAccumulation: number;
  seed: number;
  precision: 'fp32' | 'bf16';
  maxNonFiniteSteps: number;
  slimmingL1: { heads: number; ffn: number };
  skipPadding: boolean;
  atomicSteps: boolean;
}

export const CONFIG_KEYS = ['method', 'optimizer', 'scheduler', 'maxGradNorm', 'gradientAccumulation', 'seed', 'precision', 'maxNonFiniteSteps', 'slimmingL1', 'skipPadding', 'atomicSteps'] as const;

export function resolveConfig(c: TrainingConfig, model: { task?: string; numLayers?: number } = {}): Readonly<ResolvedConfig> {
  const opt = object('optimizer', c.optimizer);
  knownKeys('optimizer', opt, ['name', 'lr', 'weightDecay', 'betas', 'eps', 'momentum', 'nesterov']);
  const name = oneOf('optimizer.name', opt.name, ['adamw', 'sgd'] as const);
  const betas = opt.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) throw invalidArg('optimizer.betas', 'a pair [beta1, beta2]', betas);
  if (name === 'sgd' && (opt.betas !== undefined || opt.eps !== undefined)) throw invalidArg('optimizer.betas', 'undefined for SGD', opt.betas ?? opt.eps);
  if (name === 'adamw' && (opt.momentum !== undefined || opt.nesterov !== undefined)) throw invalidArg('optimizer.momentum', 'undefined for AdamW', opt.momentum ?? opt.nesterov);
  const sch = object('scheduler', c.scheduler ?? { name: 'constant' });
  knownKeys('scheduler', sch, ['name', 'warmupSteps', 'warmupRatio', 'totalSteps']);
  if (sch.warmupSteps !== undefined && sch.warmupRatio !== undefined) throw invalidArg('scheduler.warmupRatio', 'undefined when warmupSteps is given', sch.warmupRatio);
  const method = resolveMethod(c.method ?? { name: 'vanilla' }, 'method', model);
  const gradientAccumulation = integer('gradientAccumulation', c.gradientAccumulation ?? 1, { min: 1 });
  const l1 = object('slimmingL1', c.slimmingL1 ?? { heads: 0, ffn: 0 });
  knownKeys('slimmingL1', l1, ['heads', 'ffn']);
  return Object.freeze({
    method,
    optimizer: {
      name,
      lr: finiteNumber('optimizer.lr', opt.lr, { above: 0 }),
      weightDecay: finiteNumber('optimizer.weightDecay', opt.weightDecay ?? 0, { min: 0 }),
      beta1: finiteNumber('optimizer.betas[0]', betas[0], { min: 0, max: 0.9999999 }),
      beta2: finiteNumber('optimizer.betas[1]', betas[1], { min: 0, max: 0.9999999 }),
      eps: finiteNumber('optimizer.eps', opt.eps ?? 1e-8, { above: 0 }),
      momentum: finiteNumber('optimizer.momentum', opt.momentum ?? 0, { min: 0, max: 0.9999999 }),
      nesterov: Boolean(opt.nesterov ?? false),
    },
    scheduler: {
      name: oneOf('scheduler.name', sch.name, ['linear', 'cosine', 'constant'] as const),
      warmupSteps: sch.warmupSteps === undefined ? undefined : integer('scheduler.warmupSteps', sch.warmupSteps, { min: 0 }),
      warmupRatio: sch.warmupRatio === undefined ? undefined : finiteNumber('scheduler.warmupRatio', sch.warmupRatio, { min: 0, max: 1 }),
      totalSteps: sch.totalSteps === undefined ? undefined : integer('scheduler.totalSteps', sch.totalSteps, { min: 1 }),
    },
    maxGradNorm: finiteNumber('maxGradNorm', c.maxGradNorm ?? 1.0, { min: 0 }),
    gradientAccumulation,
    seed: integer('seed', c.seed ?? 42, { min: 0, max: 2 ** 53 - 1 }),
    precision: oneOf('precision', c.precision ?? 'fp32', ['fp32', 'bf16'] as const),
    maxNonFiniteSteps: integer('maxNonFiniteSteps', c.maxNonFiniteSteps ?? 5, { min: 1 }),
    slimmingL1: Object.freeze({ heads: finiteNumber('slimmingL1.heads', l1.heads, { min: 0 }), ffn: finiteNumber('slimmingL1.ffn', l1.ffn, { min: 0 }) }),
    skipPadding: boolean('skipPadding', c.skipPadding ?? true),
    atomicSteps: boolean('atomicSteps', c.atomicSteps ?? true),
  });
}
