/** Command-line flags of the training methods and the optimiser, shared by train, demo and pretrain. */
import { invalidArg } from '../errors.js';
import { type MethodConfig, METHOD_NAMES, presets, resolveMethod } from '../train/methods.js';
import type { OptionSpec, ParsedArgs } from './command.js';
import { UsageError } from './command.js';

/** Method options by flag name (kebab-case) -> option name. */
const METHOD_FLAGS: Record<string, { key: string; type: 'int' | 'number' | 'string' | 'bool'; help: string }> = {
  steps: { key: 'steps', type: 'int', help: 'ascent steps / passes (pgd, freelb, textat, creat, smart, infobert)' },
  'step-size': { key: 'stepSize', type: 'number', help: 'ascent step size (adv-lr, alpha)' },
  epsilon: { key: 'epsilon', type: 'number', help: 'radius of the ball, 0 = no projection' },
  'init-mag': { key: 'initMag', type: 'number', help: 'random start magnitude, 0 = start at zero' },
  norm: { key: 'norm', type: 'string', help: "'l2' or 'linf'" },
  'clean-weight': { key: 'cleanWeight', type: 'number', help: 'weight of the clean loss (pgd, creat, freelb with --clean-loss)' },
  'sync-dropout': { key: 'syncDropout', type: 'bool', help: 'freelb: same dropout masks in every pass (true|false)' },
  'clean-loss': { key: 'cleanLoss', type: 'bool', help: 'freelb: add a clean pass (true|false)' },
  'adv-begin-step': { key: 'advBeginStep', type: 'int', help: 'freelb: attack from this step on' },
  replays: { key: 'replays', type: 'int', help: 'freeat: replays per minibatch' },
  outer: { key: 'outer', type: 'int', help: 'yopo: full passes (1 + the port\'s adv-steps)' },
  inner: { key: 'inner', type: 'int', help: 'yopo: inner steps between two full passes' },
  'noise-std': { key: 'noiseStd', type: 'number', help: 'rpt: noise scale (uniform half-width or normal std); smart/alum: noise std' },
  'noise-type': { key: 'noiseType', type: 'string', help: "rpt: 'uniform' (default, fairseq) or 'normal'" },
  'spectral-norm': { key: 'spectralNorm', type: 'bool', help: 'rpt: R4F, spectral normalisation of the classification head (true|false)' },
  tau: { key: 'tau', type: 'number', help: 'rpt: KL weight; creat: cosine weight' },
  'lambda-s': { key: 'lambdaS', type: 'number', help: 'smart: regulariser weight' },
  alpha: { key: 'alpha', type: 'number', help: 'alum: regulariser weight (default 10 pre-training, 1 fine-tuning); infobert: anchored-feature weight' },
  beta: { key: 'beta', type: 'number', help: 'infobert: information-bottleneck weight' },
  'anchor-low': { key: 'anchorLow', type: 'number', help: 'infobert: lower gradient-rank quantile of the anchors (cl)' },
  'anchor-high': { key: 'anchorHigh', type: 'number', help: 'infobert: upper gradient-rank quantile of the anchors (ch)' },
  'anchor-batch': { key: 'anchorBatch', type: 'int', help: 'infobert: anchors per InfoNCE batch (the official train batch size)' },
  'anchor-seed': { key: 'anchorSeed', type: 'int', help: "infobert: seed of the anchors' shuffle (the official --seed)" },
  'perturb-layer': { key: 'perturbLayer', type: 'int', help: 'alum: perturb the output of this layer (0 = embeddings, default)' },
  'norm-eps': { key: 'normEps', type: 'number', help: 'smart/alum: normalisation epsilon' },
  normalize: { key: 'normalize', type: 'string', help: "smart/alum: 'inf-token', 'l2-token', 'inf-example', 'l2-example' or 'l1'" },
  'attack-loss': { key: 'attackLoss', type: 'string', help: "smart: 'stable-kl' (default, mt-dnn) or 'symmetric-kl'; sift: 'symmetric-kl' (default), 'kl' or 'mse'" },
  lambda: { key: 'lambda', type: 'number', help: 'sift: weight of the adversarial term (vat_lambda)' },
  'init-perturbation': { key: 'initPerturbation', type: 'number', help: 'sift: std of the N(0, init) start, clamped to +-2 init' },
  'bregman-mu': { key: 'bregmanMu', type: 'number', help: 'smart: enable the Bregman proximal point with this weight' },
  'bregman-beta': { key: 'bregmanBeta', type: 'number', help: 'smart: EMA momentum of the Bregman teacher (default 0.99)' },
  'bregman-beta-late': { key: 'bregmanBetaLate', type: 'number', help: 'smart: teacher momentum after --bregman-switch-step updates (the paper: 0.999)' },
  'bregman-switch-step': { key: 'bregmanSwitchStep', type: 'int', help: 'smart: updates before the momentum becomes --bregman-beta-late (the paper: 10% of them)' },
  representation: { key: 'representation', type: 'string', help: "creat: 'tokens' or 'cls'" },
  'creat-minus': { key: 'creatMinus', type: 'bool', help: 'creat: the CreAT- ablation (true|false)' },
};

export const methodOptions: Record<string, OptionSpec> = {
  method: { type: 'string', help: `training method: ${METHOD_NAMES.join(', ')}`, default: 'vanilla' },
  preset: { type: 'string', help: 'a paper preset, e.g. freelb.sst2 (flags override it)' },
  ...Object.fromEntries(Object.entries(METHOD_FLAGS).map(([k, f]) => [k, { type: 'string' as const, help: f.help }])),
};

function parseValue(flag: string, raw: string, type: 'int' | 'number' | 'string' | 'bool'): unknown {
  if (type === 'string') return raw;
  if (type === 'bool') {
    if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${flag} takes true or false, got '${raw}'`);
    return raw === 'true';
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (type === 'int' && !Number.isInteger(n))) throw new UsageError(`--${flag} takes ${type === 'int' ? 'an integer' : 'a number'}, got '${raw}'`);
  return n;
}

/** The method configuration the flags describe (preset first, then flags), validated. */
export function methodFromArgs(args: ParsedArgs): MethodConfig {
  let base: Record<string, unknown> = { name: args.method ?? 'vanilla' };
  if (typeof args.preset === 'string') {
    const [family, task] = args.preset.split('.');
    const table = presets[family as keyof typeof presets] as Record<string, MethodConfig> | undefined;
    const preset = table?.[task ?? ''];
    if (!preset) throw new UsageError(`unknown preset '${args.preset}' (known: ${Object.entries(presets).flatMap(([f, t]) => Object.keys(t).map((k) => `${f}.${k}`)).join(', ')})`);
    if (args.method !== undefined && args.method !== preset.name) throw new UsageError(`--preset ${args.preset} is a ${preset.name} preset but --method is ${String(args.method)}`);
    base = { ...preset };
  }
  for (const [flag, f] of Object.entries(METHOD_FLAGS)) {
    const raw = args[flag];
    if (typeof raw !== 'string') continue;
    const value = parseValue(flag, raw, f.type);
    if (f.key.startsWith('bregman')) {
      const b = (base.bregman as Record<string, unknown> | undefined) ?? {};
      const sub = f.key.slice('bregman'.length);
      base.bregman = { ...b, [sub.charAt(0).toLowerCase() + sub.slice(1)]: value };
    } else {
      base[f.key] = value;
    }
  }
  try {
    resolveMethod(base);
  } catch (err) {
    // Name the flag, not the option object's field.
    const m = /for method\.(\w+)/.exec((err as Error).message);
    const flag = m ? Object.entries(METHOD_FLAGS).find(([, f]) => f.key === m[1])?.[0] : undefined;
    if (flag) throw new UsageError(`--${flag}: ${(err as Error).message}`);
    if (/method\.name/.test((err as Error).message)) throw new UsageError(`--method must be one of ${METHOD_NAMES.join(', ')}`);
    throw err;
  }
  return base as unknown as MethodConfig;
}

/** Reads a numeric flag with bounds (usage error naming the flag). */
export function numberFlag(args: ParsedArgs, flag: string, fallback: number, opts: { int?: boolean; min?: number; max?: number } = {}): number {
  const raw = args[flag];
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') throw invalidArg(`--${flag}`, 'a value', raw);
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new UsageError(`--${flag} takes ${opts.int ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got '${raw}'`);
  }
  return n;
}
