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

/**
 * Shafahi et al. 2019 as ported to NLP by the FreeLB repository: each replay runs every micro-batch
 * once (one delta per micro-batch), backpropagates loss / (1 + replays) as the port does and ends with a
 * full optimizer update.
 */
export interface FreeAtConfig extends Omit<AttackOptions, 'steps'> {
  name: 'freeat';
  /** Replays m of each minibatch (each an optimizer step); default 2. */
  replays?: number;
}

/**
 * Zhang et al. 2019: YOPO-m-n as the FreeLB repository's port: `outer` full passes, each backpropagating
 * loss / outer, with `inner` steps between consecutive passes that recompute only the embeddings and
 * the first layer; every pass uses the same dropout masks.
 */
export interface YopoConfig extends Omit<AttackOptions, 'steps'> {
  name: 'yopo';
  /** Full passes (the port's 1 + adv-steps); default 2. */
  outer?: number;
  /** Inner steps between two full passes (the port's yopo-steps); default 3. */
  inner?: number;
}

/**
 * Aghajanyan et al. 2021: R3F as fairseq's examples/rxf, L + tau * symKL(f(x + noise), f(x)), the noised
 * pass on detached word embeddings. Regression uses the MSE of the two outputs (advtrain's extension).
 */
export interface RptConfig {
  name: 'rpt';
  /** Scale of the noise on the word embeddings: the half-width for `'uniform'`, the std for `'normal'` (fairseq's eps); default 1e-5. */
  noiseStd?: number;
  /** `'uniform'`: U(-noiseStd, noiseStd) (fairseq's default); `'normal'`: N(0, noiseStd). Default 'uniform'. */
  noiseType?: 'uniform' | 'normal';
  /** Weight of the symmetric KL (fairseq's r3f-lambda); default 1. */
  tau?: number;
  /**
   * R4F: R3F plus spectral normalisation of the classification head's output projection, as fairseq's
   * `--spectral-norm-classification-head` (torch.nn.utils.spectral_norm: W = W_orig / sigma, one power
   * iteration per training forward). Sequence classification and regression only. Saved model folders hold
   * W_orig / sigma; checkpoints also keep W_orig and the power-iteration vectors. Default false.
   */
  spectralNorm?: boolean;
}

/**
 * The noise normalisations of SMART and ALUM (mt-dnn's norm_p and norm_level): per token by the max abs
 * (`'inf-token'`) or the l2 norm (`'l2-token'`), per example (`'inf-example'`, `'l2-example'`: mt-dnn's
 * sentence level), or the sign (`'l1'`).
 */
export type NoiseNormalize = 'inf-token' | 'l2-token' | 'inf-example' | 'l2-example' | 'l1';
const NORMALIZE = ['inf-token', 'l2-token', 'inf-example', 'l2-example', 'l1'] as const;

/** Jiang et al. 2020: SMART as mt-dnn's SmartPerturbation, with the paper's Bregman proximal point as an option. */
export interface SmartConfig {
  name: 'smart';
  /** Weight of the smoothness term (mt-dnn's adv_alpha); default 1. */
  lambdaS?: number;
  /** Ascent steps K; default 1. */
  steps?: number;
  /** eta of xi + eta * g before normalising; default 1e-3 (the paper; mt-dnn's train.py has 1e-5). */
  stepSize?: number;
  /** Std of the start noise; default 1e-5. */
  noiseStd?: number;
  /** Guard of the normalisation's division (mt-dnn's epsilon); default 1e-6. */
  normEps?: number;
  /** Default 'inf-token'. */
  normalize?: NoiseNormalize;
  /**
   * The attack objective. `'stable-kl'` (default): mt-dnn's stable_kl summed over rows, with its surrogate
   * gradient (squared error summed for regression), so stepSize means what it means in mt-dnn.
   * `'symmetric-kl'`: the batch mean of the symmetric KL, whose gradient is ~1/rows of that: a much
   * weaker attack at the same stepSize, which also weakens as the batch grows.
   */
  attackLoss?: 'stable-kl' | 'symmetric-kl';
  /**
   * Bregman proximal point with a momentum teacher: mu * [KL(p~ || p) + KL(p || p~)], p~ = f(x; EMA(theta))
   * (fp32, no dropout), both directions differentiated. `beta` is the EMA momentum (default .99); with
   * `switchStep` > 0 it becomes `betaLate` after that many updates (the paper: .99 for the first 10% of the
   * updates, .999 after). Default false.
   */
  bregman?: { mu?: number; beta?: number; betaLate?: number; switchStep?: number } | false;
}

/** Liu et al. 2020: ALUM as mt-dnn v0.2's adv_masked_lm, virtual adversarial training on the embedding output (pre-training and fine-tuning). */
export interface AlumConfig {
  name: 'alum';
  /** Weight of the symmetric KL; default the paper's: 10 for masked-LM pre-training, 1 for fine-tuning. */
  alpha?: number;
  /** Ascent steps; default 1. */
  steps?: number;
  /** Step size of xi + stepSize * g before normalising; default 1e-3. */
  stepSize?: number;
  /** Std of the start noise; default 1e-5. */
  noiseStd?: number;
  /** Guard of the normalisation's division; default 1e-6. */
  normEps?: number;
  /** Default 'inf-token'. */
  normalize?: NoiseNormalize;
  /** Where xi is added: 0 = the embedding output (default), k = the output of layer k (ALUM's prob_n_layer). */
  perturbLayer?: number;
}

/** ALUM's alpha for masked-LM pre-training (the paper's); fine-tuning uses METHOD_DEFAULTS.alum.alpha (1). */
export const ALUM_PRETRAIN_ALPHA = 10;

/** Li & Qiu 2021: TextAT, per-sentence plus token-aware perturbations with a global vocabulary table. */
export interface TextAtConfig extends AttackOptions {
  name: 'textat';
}

/**
 * Wu & Zhao 2023: CreAT; `steps` = ascent updates (the official K = 2 is steps 1). From a zero start
 * without dropout the cosine has no gradient at the first ascent (S is at its maximum); with dropout on,
 * the clean and perturbed passes draw different masks and it does.
 */
export interface CreatConfig extends AttackOptions {
  name: 'creat';
  /** Weight of the cosine term; 0 makes CreAT the AT of the paper (pgd with cleanWeight 0.5). */
  tau?: number;
  /** Weight of the clean loss; default 0.5. */
  cleanWeight?: number;
  /**
   * 'tokens' (default): batch mean of each example's mean cosine over real tokens. 'cls': first
   * token, as the current official code (which sums over the batch: its tau = ours / batch size).
   */
  representation?: 'tokens' | 'cls';
  /** The CreAT- ablation: the attack maximises -tau * S only (needs tau > 0). */
  creatMinus?: boolean;
}

/**
 * He et al. 2021 (DeBERTa, section 3.3): SiFT, scale-invariant fine-tuning, as microsoft/DeBERTa's
 * sift.py with apps/run.py's options: one ascent step on a perturbation of the LayerNorm-normalised
 * embeddings (an affine-free LayerNorm, eps 1e-7, before the embedding LayerNorm, in training passes
 * only), parameters frozen in the attack, loss = L + lambda * symmetric KL (sift.py's cross-entropy form).
 * Not for regression: the official regulariser is identically 0 with one output.
 */
export interface SiftConfig {
  name: 'sift';
  /** Weight of the adversarial term (run.py's vat_lambda); default 5 (the published MNLI runs). */
  lambda?: number;
  /** Step of delta += stepSize * g / (1e-6 + max |g|) per token (vat_learning_rate); default 1e-4. */
  stepSize?: number;
  /** Std of the N(0, init) start, clamped to +-2 init (vat_init_perturbation); default 1e-2. */
  initPerturbation?: number;
  /** The attack's objective (vat_loss_fn): 'symmetric-kl' (default), 'kl' or 'mse'; the final term is always the symmetric KL. */
  attackLoss?: 'symmetric-kl' | 'kl' | 'mse';
}

/**
 * Wang et al. 2021 (ICLR): InfoBERT as AI-secure/InfoBERT's ANLI trainer with its estimator version 6: FreeLB's
 * passes plus, in each pass, the information-bottleneck bound on the embedding output (CLUBv2: beta * mean
 * ||y_j - y_r(j)||^2 / 2 over random pairs of real tokens) and the anchored-feature term (-alpha * the InfoNCE
 * bound between the embedding output of the tokens whose gradient norm ranks in [anchorLow, anchorHigh) of
 * their sentence and the sentence's last-layer [CLS] state; a Linear(2H, 300)-ReLU-Linear(300, 1)-Softplus
 * critic trained by the model's optimizer and saved in checkpoints). Dropout masks are the same in every pass.
 */
export interface InfoBertConfig extends AttackOptions {
  name: 'infobert';
  /** Weight of the information-bottleneck (CLUB) bound; default 5e-3 (the ANLI recipe). */
  beta?: number;
  /** Weight of the anchored-feature (InfoNCE) term; 0 = no critic; default 5e-3. */
  alpha?: number;
  /** Lower rank quantile of the anchors (the official cl); default 0.5. */
  anchorLow?: number;
  /** Upper rank quantile of the anchors (the official ch), at least anchorLow; default 0.9. */
  anchorHigh?: number;
  /** Anchors per InfoNCE batch (the official train_batch_size); default 32. */
  anchorBatch?: number;
  /** Seed of the anchors' shuffle (sklearn.utils.shuffle(random_state=seed), the official --seed); default 42. */
  anchorSeed?: number;
}

/** The registry of method names that advtrain implements. */
export type MethodConfig = VanillaConfig | PgdConfig | FreeLbConfig | FreeAtConfig | YopoConfig | RptConfig | SmartConfig | AlumConfig | TextAtConfig | CreatConfig | SiftConfig | InfoBertConfig;
export type MethodName = MethodConfig['name'];
export const METHOD_NAMES: readonly MethodName[] = ['vanilla', 'rpt', 'pgd', 'freeat', 'yopo', 'freelb', 'smart', 'alum', 'textat', 'creat', 'sift', 'infobert'];

/** Documented defaults per method (see docs/methods.md). */
export const METHOD_DEFAULTS: { [K in MethodName]: Required<Omit<Extract<MethodConfig, { name: K }>, 'name'>> } = {
  vanilla: {},
  // CreAT's "AT" setting (adv lr .1, eps .1) with a zero start, as the paper's baseline.
  pgd: { steps: 2, stepSize: 0.1, epsilon: 0.1, initMag: 0, norm: 'l2', cleanWeight: 0 },
  freelb: { steps: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0.1, norm: 'l2', syncDropout: true, cleanLoss: false, cleanWeight: 0.5, advBeginStep: 0 },
  freeat: { replays: 2, stepSize: 0.1, epsilon: 0.6, initMag: 0, norm: 'l2' },
  yopo: { outer: 2, inner: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0, norm: 'l2' },
  rpt: { noiseStd: 1e-5, noiseType: 'uniform', tau: 1, spectralNorm: false },
  // mt-dnn's train.py defaults except the step size, which follows the paper (1e-3).
  smart: { lambdaS: 1, steps: 1, stepSize: 1e-3, noiseStd: 1e-5, normEps: 1e-6, normalize: 'inf-token', attackLoss: 'stable-kl', bregman: false },
  // alpha 1 is the fine-tuning value; masked-LM pre-training defaults to ALUM_PRETRAIN_ALPHA.
  alum: { alpha: 1, steps: 1, stepSize: 1e-3, noiseStd: 1e-5, normEps: 1e-6, normalize: 'inf-token', perturbLayer: 0 },
  textat: { steps: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0.1, norm: 'l2' },
  // Official CreAT: adv lr .1, eps .1, tau 1, K = 2 (one ascent); a random start inside the ball.
  creat: { steps: 1, stepSize: 0.1, epsilon: 0.1, initMag: 0.1, norm: 'l2', tau: 1, cleanWeight: 0.5, representation: 'tokens', creatMinus: false },
  // DeBERTa's experiments/glue/mnli.sh *-sift runs (vat_lambda 5; run.py's defaults for the others).
  sift: { lambda: 5, stepSize: 1e-4, initPerturbation: 1e-2, attackLoss: 'symmetric-kl' },
  // The official ANLI recipe (ANLI/README.md): adv lr 4e-2, init 8e-2, no max norm, 3 steps, beta = alpha = 5e-3, cl .5, ch .9, batch 32, seed 42.
  infobert: { steps: 3, stepSize: 4e-2, epsilon: 0, initMag: 8e-2, norm: 'l2', beta: 5e-3, alpha: 5e-3, anchorLow: 0.5, anchorHigh: 0.9, anchorBatch: 32, anchorSeed: 42 },
};

const ATTACK_KEYS = ['steps', 'stepSize', 'epsilon', 'initMag', 'norm'] as const;
// FreeAT and YOPO count their steps as replays / outer x inner.
const BALL_KEYS = ['stepSize', 'epsilon', 'initMag', 'norm'] as const;

function ball(name: string, o: Record<string, unknown>, d: Required<Omit<AttackOptions, 'steps'>>): Required<Omit<AttackOptions, 'steps'>> {
  return {
    stepSize: finiteNumber(`${name}.stepSize`, o.stepSize ?? d.stepSize, { above: 0 }),
    epsilon: finiteNumber(`${name}.epsilon`, o.epsilon ?? d.epsilon, { min: 0 }),
    initMag: finiteNumber(`${name}.initMag`, o.initMag ?? d.initMag, { min: 0 }),
    norm: oneOf(`${name}.norm`, o.norm ?? d.norm, ['l2', 'linf'] as const),
  };
}

function attack(name: string, o: Record<string, unknown>, d: Required<AttackOptions>): Required<AttackOptions> {
  return { steps: integer(`${name}.steps`, o.steps ?? d.steps, { min: 1, max: 100 }), ...ball(name, o, d) };
}

/** Resolved options of a method: every field present. */
export type ResolvedMethod = { name: MethodName } & Record<string, unknown>;

/**
 * Validates a method configuration and fills its defaults. `context` describes the model: `task` picks
 * task-dependent defaults (ALUM's alpha: 10 for 'masked-lm', else 1), `numLayers` bounds ALUM's perturbLayer.
 *
 * @example
 * ```ts
 * resolveMethod({ name: 'freelb', steps: 3, epsilon: 0.5 });
 * // { name: 'freelb', steps: 3, stepSize: 0.1, epsilon: 0.5, initMag: 0.1, ... }
 * ```
 */
export function resolveMethod(config: unknown, name = 'method', context: { task?: string; numLayers?: number } = {}): ResolvedMethod {
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
    case 'freeat': {
      knownKeys(name, o, ['name', ...BALL_KEYS, 'replays']);
      const d = METHOD_DEFAULTS.freeat;
      return { name: 'freeat', ...ball(name, o, d), replays: integer(`${name}.replays`, o.replays ?? d.replays, { min: 1, max: 100 }) };
    }
    case 'yopo': {
      knownKeys(name, o, ['name', ...BALL_KEYS, 'outer', 'inner']);
      const d = METHOD_DEFAULTS.yopo;
      return {
        name: 'yopo',
        ...ball(name, o, d),
        outer: integer(`${name}.outer`, o.outer ?? d.outer, { min: 1, max: 100 }),
        inner: integer(`${name}.inner`, o.inner ?? d.inner, { min: 1, max: 100 }),
      };
    }
    case 'rpt': {
      knownKeys(name, o, ['name', 'noiseStd', 'noiseType', 'tau', 'spectralNorm']);
      const d = METHOD_DEFAULTS.rpt;
      const spectralNorm = boolean(`${name}.spectralNorm`, o.spectralNorm ?? d.spectralNorm);
      if (spectralNorm && context.task !== undefined && context.task !== 'sequence-classification' && context.task !== 'regression') {
        throw invalidArg(`${name}.spectralNorm`, `false with a '${context.task}' model (R4F normalises the head of sequence classification or regression)`, spectralNorm);
      }
      return {
        name: 'rpt',
        noiseStd: finiteNumber(`${name}.noiseStd`, o.noiseStd ?? d.noiseStd, { above: 0 }),
        noiseType: oneOf(`${name}.noiseType`, o.noiseType ?? d.noiseType, ['uniform', 'normal'] as const),
        tau: finiteNumber(`${name}.tau`, o.tau ?? d.tau, { min: 0 }),
        spectralNorm,
      };
    }
    case 'smart': {
      knownKeys(name, o, ['name', 'lambdaS', 'steps', 'stepSize', 'noiseStd', 'normEps', 'normalize', 'attackLoss', 'bregman']);
      const d = METHOD_DEFAULTS.smart;
      let bregman: false | { mu: number; beta: number; betaLate: number; switchStep: number } = false;
      if (o.bregman !== undefined && o.bregman !== false) {
        const b = object(`${name}.bregman`, o.bregman);
        knownKeys(`${name}.bregman`, b, ['mu', 'beta', 'betaLate', 'switchStep']);
        if ((b.betaLate === undefined) !== (b.switchStep === undefined)) {
          throw invalidArg(`${name}.bregman.${b.betaLate === undefined ? 'betaLate' : 'switchStep'}`, 'given together with ' + (b.betaLate === undefined ? 'switchStep' : 'betaLate'), undefined);
        }
        const beta = finiteNumber(`${name}.bregman.beta`, b.beta ?? 0.99, { min: 0, max: 1 });
        bregman = {
          mu: finiteNumber(`${name}.bregman.mu`, b.mu ?? 1, { min: 0 }),
          beta,
          betaLate: finiteNumber(`${name}.bregman.betaLate`, b.betaLate ?? beta, { min: 0, max: 1 }),
          switchStep: integer(`${name}.bregman.switchStep`, b.switchStep ?? 0, { min: 0 }),
        };
      }
      return {
        name: 'smart',
        lambdaS: finiteNumber(`${name}.lambdaS`, o.lambdaS ?? d.lambdaS, { min: 0 }),
        steps: integer(`${name}.steps`, o.steps ?? d.steps, { min: 1, max: 100 }),
        stepSize: finiteNumber(`${name}.stepSize`, o.stepSize ?? d.stepSize, { above: 0 }),
        noiseStd: finiteNumber(`${name}.noiseStd`, o.noiseStd ?? d.noiseStd, { above: 0 }),
        normEps: finiteNumber(`${name}.normEps`, o.normEps ?? d.normEps, { above: 0 }),
        normalize: oneOf(`${name}.normalize`, o.normalize ?? d.normalize, NORMALIZE),
        attackLoss: oneOf(`${name}.attackLoss`, o.attackLoss ?? d.attackLoss, ['stable-kl', 'symmetric-kl'] as const),
        bregman,
      };
    }
    case 'alum': {
      knownKeys(name, o, ['name', 'alpha', 'steps', 'stepSize', 'noiseStd', 'normEps', 'normalize', 'perturbLayer']);
      const d = METHOD_DEFAULTS.alum;
      return {
        name: 'alum',
        alpha: finiteNumber(`${name}.alpha`, o.alpha ?? (context.task === 'masked-lm' ? ALUM_PRETRAIN_ALPHA : d.alpha), { min: 0 }),
        steps: integer(`${name}.steps`, o.steps ?? d.steps, { min: 1, max: 100 }),
        stepSize: finiteNumber(`${name}.stepSize`, o.stepSize ?? d.stepSize, { above: 0 }),
        noiseStd: finiteNumber(`${name}.noiseStd`, o.noiseStd ?? d.noiseStd, { above: 0 }),
        normEps: finiteNumber(`${name}.normEps`, o.normEps ?? d.normEps, { above: 0 }),
        normalize: oneOf(`${name}.normalize`, o.normalize ?? d.normalize, NORMALIZE),
        perturbLayer: integer(`${name}.perturbLayer`, o.perturbLayer ?? d.perturbLayer, { min: 0, max: context.numLayers }),
      };
    }
    case 'textat': {
      knownKeys(name, o, ['name', ...ATTACK_KEYS]);
      const r = attack(name, o, METHOD_DEFAULTS.textat);
      if (r.norm !== 'l2') throw invalidArg(`${name}.norm`, "'l2' (TextAT's token-level normalisation is defined for l2)", r.norm);
      return { name: 'textat', ...r };
    }
    case 'creat': {
      knownKeys(name, o, ['name', ...ATTACK_KEYS, 'tau', 'cleanWeight', 'representation', 'creatMinus']);
      const d = METHOD_DEFAULTS.creat;
      const tau = finiteNumber(`${name}.tau`, o.tau ?? d.tau, { min: 0 });
      const creatMinus = boolean(`${name}.creatMinus`, o.creatMinus ?? d.creatMinus);
      // CreAT- maximises -tau * S alone: with tau 0 the attack has no objective at all.
      if (creatMinus && tau === 0) throw invalidArg(`${name}.tau`, 'above 0 with creatMinus (the CreAT- attack is -tau * S alone)', tau);
      return {
        name: 'creat',
        ...attack(name, o, d),
        tau,
        cleanWeight: finiteNumber(`${name}.cleanWeight`, o.cleanWeight ?? d.cleanWeight, { min: 0, max: 1 }),
        representation: oneOf(`${name}.representation`, o.representation ?? d.representation, ['tokens', 'cls'] as const),
        creatMinus,
      };
    }
    case 'sift': {
      knownKeys(name, o, ['name', 'lambda', 'stepSize', 'initPerturbation', 'attackLoss']);
      if (context.task === 'regression') {
        throw invalidArg(`${name}.name`, "a method other than 'sift' for a 'regression' model (SiFT's symmetric KL of one output is always 0)", 'sift');
      }
      const d = METHOD_DEFAULTS.sift;
      return {
        name: 'sift',
        lambda: finiteNumber(`${name}.lambda`, o.lambda ?? d.lambda, { min: 0 }),
        stepSize: finiteNumber(`${name}.stepSize`, o.stepSize ?? d.stepSize, { above: 0 }),
        initPerturbation: finiteNumber(`${name}.initPerturbation`, o.initPerturbation ?? d.initPerturbation, { min: 0 }),
        attackLoss: oneOf(`${name}.attackLoss`, o.attackLoss ?? d.attackLoss, ['symmetric-kl', 'kl', 'mse'] as const),
      };
    }
    case 'infobert': {
      knownKeys(name, o, ['name', ...ATTACK_KEYS, 'beta', 'alpha', 'anchorLow', 'anchorHigh', 'anchorBatch', 'anchorSeed']);
      const d = METHOD_DEFAULTS.infobert;
      const anchorLow = finiteNumber(`${name}.anchorLow`, o.anchorLow ?? d.anchorLow, { min: 0, max: 1 });
      const anchorHigh = finiteNumber(`${name}.anchorHigh`, o.anchorHigh ?? d.anchorHigh, { min: 0, max: 1 });
      if (anchorHigh < anchorLow) throw invalidArg(`${name}.anchorHigh`, `at least anchorLow (${anchorLow})`, anchorHigh);
      return {
        name: 'infobert',
        ...attack(name, o, d),
        beta: finiteNumber(`${name}.beta`, o.beta ?? d.beta, { min: 0 }),
        alpha: finiteNumber(`${name}.alpha`, o.alpha ?? d.alpha, { min: 0 }),
        anchorLow,
        anchorHigh,
        anchorBatch: integer(`${name}.anchorBatch`, o.anchorBatch ?? d.anchorBatch, { min: 1, max: 65536 }),
        anchorSeed: integer(`${name}.anchorSeed`, o.anchorSeed ?? d.anchorSeed, { min: 0, max: 2 ** 32 - 1 }),
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
  /** SiFT: DeBERTa's experiments/glue/mnli.sh (base, large, xxlarge-v2, v3-base and v3-small: vat_lambda 5; v3-xsmall: 3). */
  sift: {
    glue: { name: 'sift', lambda: 5, stepSize: 1e-4, initPerturbation: 1e-2, attackLoss: 'symmetric-kl' },
    glueXsmall: { name: 'sift', lambda: 3, stepSize: 1e-4, initPerturbation: 1e-2, attackLoss: 'symmetric-kl' },
  },
  /**
   * InfoBERT: the official ANLI recipe (AI-secure/InfoBERT ANLI/README.md, roberta-large; the training side of it
   * is lr 2e-5, batch 32, max length 128, warm-up 1000 steps, weight decay 1e-5, hidden dropout .1, attention dropout 0).
   */
  infobert: {
    anli: { name: 'infobert', steps: 3, stepSize: 4e-2, initMag: 8e-2, epsilon: 0, norm: 'l2', beta: 5e-3, alpha: 5e-3, anchorLow: 0.5, anchorHigh: 0.9, anchorBatch: 32, anchorSeed: 42 },
  },
} as const satisfies Record<string, Record<string, MethodConfig>>;
