/**
 * The largest loss increase in an epsilon-ball around each correctly classified example's word
 * embeddings: FreeLB's robustness measure (Zhu et al., ICLR 2020, "FreeLB: Enhanced Adversarial
 * Training for Natural Language Understanding", Table 5): PGD in an l2 ball with the normalised step
 * 5e-3 * g / ||g||, up to 2000 iterations, an example stopping after 50 iterations without a larger
 * loss; the statistic is max loss - clean loss. FreeLB reports the median at one radius; we also give
 * the quartiles and several radii.
 */
import type { Model } from '../model/model.js';
import { type EvalSet, indexedBatches } from './examples.js';
import { mean, quartiles, type Quartiles } from './stats.js';

export interface LossIncreaseOptions {
  radii: readonly number[];
  /** Normalised ascent step (default 5e-3). */
  stepSize?: number;
  /** Iterations at most (default 2000). */
  steps?: number;
  /** Stop an example after this many iterations without a larger loss (default 50). */
  patience?: number;
  batchSize: number;
}

/** One radius: quartiles of (max loss - clean loss) over the correctly classified examples. */
export interface LossIncreaseAtRadius extends Quartiles {
  epsilon: number;
  mean: number;
  /** Smallest increase (>= 0: the clean point is in the ball). */
  min: number;
  /** Examples attacked (the correctly classified ones). */
  n: number;
  /** Mean iterations an example ran before early stopping. */
  meanIterations: number;
}

/** The `dlmax` part of a report; the top-level median and quartiles are those of the first radius. */
export interface LossIncreaseReport extends Quartiles {
  epsilon: number;
  stepSize: number;
  steps: number;
  patience: number;
  radii: LossIncreaseAtRadius[];
}

export const LOSS_INCREASE_DEFAULTS = { stepSize: 5e-3, steps: 2000, patience: 50 } as const;

/**
 * Max loss increase per radius (FreeLB Table 5 protocol) over the correctly classified examples of `set`.
 *
 * @example
 * ```ts
 * const set = await evalSet(model, tok, dev, { maxLength: 128, batchSize: 32 });
 * const r = await maxLossIncrease(model, set, { radii: [0.1, 0.5], batchSize: 32 });
 * r.radii[1].median; // median max-loss increase at epsilon 0.5
 * ```
 */
export async function maxLossIncrease(model: Model, set: EvalSet, options: LossIncreaseOptions): Promise<LossIncreaseReport> {
  const stepSize = options.stepSize ?? LOSS_INCREASE_DEFAULTS.stepSize;
  const steps = options.steps ?? LOSS_INCREASE_DEFAULTS.steps;
  const patience = options.patience ?? LOSS_INCREASE_DEFAULTS.patience;
  const correct = set.correct.flatMap((ok, i) => (ok ? [i] : []));
  const batches = indexedBatches(set, correct, options.batchSize);
  const radii: LossIncreaseAtRadius[] = [];
  for (const epsilon of options.radii) {
    const increases: number[] = [];
    const iterations: number[] = [];
    for (const { batch } of batches) {
      const r = await model.attack(batch, { epsilon, norm: 'l2', stepSize, steps, patience });
      r.maxLoss.forEach((l, i) => increases.push(l - r.cleanLoss[i]!));
      iterations.push(...r.iterations);
    }
    radii.push({ epsilon, ...quartiles(increases), mean: mean(increases), min: increases.length ? Math.min(...increases) : Number.NaN, n: increases.length, meanIterations: mean(iterations) });
  }
  const first = radii[0]!;
  return { epsilon: first.epsilon, median: first.median, q1: first.q1, q3: first.q3, stepSize, steps, patience, radii };
}
