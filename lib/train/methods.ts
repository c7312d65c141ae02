/**
 * Training methods and their options. Each method's inner loop runs natively (native/methods/), one
 * native call per optimizer step; this file validates options, fills the documented defaults and
 * holds the papers' presets.
 */
import { invalidArg } from '../errors.js';
import { boolean, finiteNumber, integer, knownKeys, object, oneOf } from '../validate.js';

/** Options shared by the embedding-space attacks. */
export interface AttackOptions {
  /** Ascent steps (see each method for what counts as a step). */
  steps?: number;
  /** Ascent step size (adv-lr / alpha). */
  stepSize?: number;
  /** Radius of the ball (adv-max-norm); 0 = no projection. */
  epsilon?: number;
  /** Magnitude of the random start; 0 = start at zero. */
  initMag?: number;
  /** `'l2'`: per-example Frobenius norm over real tokens; `'linf'`: max abs. */
  norm?: 'l2' | 'linf';
}

export interface VanillaConfig {
  name: 'vanilla';
}

/** Madry et al. 2018: PGD-K on the word embeddings; `steps` = ascent updates (delta-only gradients). */
export interface PgdConfig extends AttackOptions {
  name: 'pgd';
  /** Weight of the clean loss: 0 = Madry, 0.5 = the "AT" of the CreAT paper. */
  cleanWeight?: number;
}

/** Zhu et al. 2020 (ICLR): FreeLB; `steps` = K passes, parameter gradients accumulated as loss / K. */
export interface FreeLbConfig extends AttackOptions {
  name: 'freelb';
  /** Same dropout masks in every pass of a step (fairseq FreeLB); default true. */
  syncDropout?: boolean;
  /** Add a clean pass weighted by cleanWeight (FreeLB issue #10); default false. */
  cleanLoss?: boolean;
  /** Weight of the clean pass when cleanLoss is on; default 0.5. */
  cleanWeight?: number;
  /** Train plainly before this optimizer step (a warm start against early NaNs); default 0. */
  advBeginStep?: number;
}

/** The registry of method names that advtrain implements. */
export type MethodConfig = VanillaConfig | PgdConfig | FreeLbConfig;
export type MethodName = MethodConfig['name'];
export const METHOD_NAMES: readonly MethodName[] = ['vanilla', 'pgd', 'freelb'];

/** Documented defaults per method (see docs/methods.md). */
export const METHOD_DEFAULTS: { [K in MethodName]: Required<Omit<Extract<MethodConfig, { name: K }>, 'name'>> } = {
  vanilla: {},
  // CreAT's "AT" setting (adv lr .1, eps .1) with a zero start, as the paper's baseline.
  pgd: { steps: 2, stepSize: 0.1, epsilon: 0.1, initMag: 0, norm: 'l2', cleanWeight: 0 },
  freelb: { steps: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0.1, norm: 'l2', syncDropout: true, cleanLoss: false, cleanWeight: 0.5, advBeginStep: 0 },
};

const ATTACK_KEYS = ['steps', 'stepSize', 'epsilon', 'initMag', 'norm'] as const;

function attack(name: string, o: Record<string, unknown>, d: Required<AttackOptions>): Required<AttackOptions> {
  return {
    steps: integer(`${name}.steps`, o.steps ?? d.steps, { min: 1, max: 100 }),
    stepSize: finiteNumber(`${name}.stepSize`, o.stepSize ?? d.stepSize, { above: 0 }),
    epsilon: finiteNumber(`${name}.epsilon`, o.epsilon ?? d.epsilon, { min: 0 }),
    initMag: finiteNumber(`${name}.initMag`, o.initMag ?? d.initMag, { min: 0 }),
    norm: oneOf(`${name}.norm`, o.norm ?? d.norm, ['l2', 'linf'] as const),
  };
}

/** Resolved options of a method: every field present. */
export type ResolvedMethod = { name: MethodName } & Record<string, unknown>;

/**
 * Validates a method configuration and fills its defaults.
 *
 * @example
 * ```ts
 * resolveMethod({ name: 'freelb', steps: 3, epsilon: 0.5 });
 * // { name: 'freelb', steps: 3, stepSize: 0.1, epsilon: 0.5, initMag: 0.1, ... }
 * ```
 */
export function resolveMethod(config: unknown, name = 'method'): ResolvedMethod {
  const o = object(name, config);
  const method = oneOf(`${name}.name`, o.name, METHOD_NAMES);
  switch (method) {
    case 'vanilla':
      knownKeys(name, o, ['name']);
      return { name: 'vanilla' };
    case 'pgd': {
      knownKeys(name, o, ['name', ...ATTACK_KEYS, 'cleanWeight']);
      const d = METHOD_DEFAULTS.pgd;
      return { name: 'pgd', ...attack(name, o, d), cleanWeight: finiteNumber(`${name}.cleanWeight`, o.cleanWeight ?? d.cleanWeight, { min: 0, max: 1 }) };
    }
    case 'freelb': {
      knownKeys(name, o, ['name', ...ATTACK_KEYS, 'syncDropout', 'cleanLoss', 'cleanWeight', 'advBeginStep']);
      const d = METHOD_DEFAULTS.freelb;
      const cleanLoss = boolean(`${name}.cleanLoss`, o.cleanLoss ?? d.cleanLoss);
      if (!cleanLoss && o.cleanWeight !== undefined) throw invalidArg(`${name}.cleanWeight`, 'undefined unless cleanLoss is true', o.cleanWeight);
      return {
        name: 'freelb',
        ...attack(name, o, d),
        syncDropout: boolean(`${name}.syncDropout`, o.syncDropout ?? d.syncDropout),
        cleanLoss,
        cleanWeight: finiteNumber(`${name}.cleanWeight`, o.cleanWeight ?? d.cleanWeight, { min: 0, max: 1 }),
        advBeginStep: integer(`${name}.advBeginStep`, o.advBeginStep ?? d.advBeginStep, { min: 0 }),
      };
    }
  }
}

/**
 * The papers' settings. FreeLB: RoBERTa-large GLUE hyper-parameters from the official repository
 * (adv lr / K / init magnitude / max norm).
 */
export const presets = {
  freelb: {
    sst2: { name: 'freelb', stepSize: 0.1, steps: 2, initMag: 1, epsilon: 0.6 },
    mnli: { name: 'freelb', stepSize: 0.1, steps: 2, initMag: 0.1, epsilon: 0.3 },
    qnli: { name: 'freelb', stepSize: 0.075, steps: 2, initMag: 0.15, epsilon: 0.15 },
    mrpc: { name: 'freelb', stepSize: 0.04, steps: 3, initMag: 0.64, epsilon: 0.4 },
    cola: { name: 'freelb', stepSize: 0.025, steps: 3, initMag: 0.4, epsilon: 0.3 },
    stsb: { name: 'freelb', stepSize: 0.1, steps: 3, initMag: 0.16, epsilon: 0.28 },
    qqp: { name: 'freelb', stepSize: 0.2, steps: 2, initMag: 0.32, epsilon: 0.7 },
    rte: { name: 'freelb', stepSize: 0.03, steps: 3, initMag: 0.16, epsilon: 0.14 },
  },
} as const satisfies Record<string, Record<string, MethodConfig>>;
