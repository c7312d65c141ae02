/**
 * FreeLB's robustness measures (Zhu et al., ICLR 2020, "FreeLB: Enhanced Adversarial Training for
 * Natural Language Understanding", Table 5), as zhuchen03/FreeLB's scripts/get_highest_loss.py
 * computes them, over the correctly classified examples:
 * - the max loss increase in an l2 ball of the word embeddings: PGD with the normalised step
 *   5e-3 * g / ||g|| from a uniform start U(-1, 1) * eps / sqrt(n * D) (n the example's tokens, D the
 *   embedding size), up to 2000 iterations, an example stopping after 50 consecutive iterations whose
 *   loss changed by less than 1e-5 relative (to the largest loss so far, or the std of its last 25
 *   losses) while ||delta|| >= 0.999 eps; the statistic is max loss - clean loss. FreeLB reports the
 *   median at one radius; we also give the quartiles and several radii.
 * - the robustness radius (get_radiuses): the largest radius of the grid linspace(0.2, 1e-2, 11) then
 *   linspace(9e-3, 1e-4, 11) whose max loss stays <= log 2, each trial stopping early once the loss
 *   exceeds log 2.
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
  /** The stopping rule's consecutive converged iterations (default 50; 0: run all steps). */
  patience?: number;
  /** The stopping rule's relative tolerance (default 1e-5). */
  tol?: number;
  /** Also search each example's robustness radius (default true). */
  radius?: boolean;
  /** The radius grid's largest value (default 0.2) and points per half (default 11). */
  maxRadius?: number;
  gridSteps?: number;
  /** Seed of the uniform starts (default 0). */
  seed?: number;
  batchSize: number;
}

/** One radius: quartiles of (max loss - clean loss) over the correctly classified examples. */
export interface LossIncreaseAtRadius extends Quartiles {
  epsilon: number;
  mean: number;
  /** Smallest increase (may be slightly negative: the clean point itself is not among the iterates). */
  min: number;
  /** Examples attacked (the correctly classified ones). */
  n: number;
  /** Mean iterations an example ran before early stopping. */
  meanIterations: number;
}

/** Robustness radii: quartiles over the correctly classified examples of the largest grid radius whose max loss <= threshold. */
export interface RobustnessRadii extends Quartiles {
  mean: number;
  n: number;
  /** The loss threshold, log 2. */
  threshold: number;
  /** The grid, largest first. */
  grid: number[];
  /** Examples whose loss exceeds the threshold even at the smallest grid radius (their radius is that value, as get_highest_loss.py). */
  belowGrid: number;
}

/** What the loss-increase numbers mean (step rule, start, stopping rule), so they are compared only across equal definitions. */
export interface LossIncreaseDefinition {
  reference: string;
  norm: 'l2';
  step: 'normalized';
  start: 'uniform';
  stop: string;
  maxLoss: string;
}

/** The `dlmax` part of a report; the top-level median and quartiles are those of the first radius. */
export interface LossIncreaseReport extends Quartiles {
  epsilon: number;
  stepSize: number;
  steps: number;
  patience: number;
  tol: number;
  definition: LossIncreaseDefinition;
  radii: LossIncreaseAtRadius[];
  radius?: RobustnessRadii;
}

export const LOSS_INCREASE_DEFAULTS = { stepSize: 5e-3, steps: 2000, patience: 50, tol: 1e-5, maxRadius: 0.2, gridSteps: 11 } as const;

/** get_radiuses' loss threshold: the loss of a 50% prediction. */
export const RADIUS_THRESHOLD = Math.log(2);

// numpy.linspace's arithmetic (start + i * step, the last point exactly stop), so grid values match the script's.
function linspace(a: number, b: number, n: number): number[] {
  const step = (b - a) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + i * step));
}

/** get_radiuses' grid: linspace(maxRadius, 1e-2, steps) then linspace(9e-3, 1e-4, steps), largest first. */
export function radiusGrid(maxRadius: number = LOSS_INCREASE_DEFAULTS.maxRadius, steps: number = LOSS_INCREASE_DEFAULTS.gridSteps): number[] {
  return [...linspace(maxRadius, 1e-2, steps), ...linspace(9e-3, 1e-4, steps)];
}

/**
 * get_radiuses for a set of examples: for each grid radius, largest first, the examples not yet settled
 * are attacked (`maxLossAt` resolves with each one's max loss, in the order given); an example settles at
 * the first radius whose max loss is <= threshold. Examples that never do get the smallest grid radius
 * (as the script's loop leaves it) and are flagged.
 */
export async function searchRadii(
  examples: readonly number[],
  grid: readonly number[],
  threshold: number,
  maxLossAt: (examples: readonly number[], epsilon: number) => Promise<ArrayLike<number>>,
): Promise<{ radius: number[]; belowGrid: boolean[] }> {
  const radius = new Array<number>(examples.length).fill(grid[grid.length - 1]!);
  const belowGrid = new Array<boolean>(examples.length).fill(true);
  let open = examples.map((_, i) => i);
  for (const epsilon of grid) {
    if (open.length === 0) break;
    const losses = await maxLossAt(
      open.map((i) => examples[i]!),
      epsilon,
    );
    open = open.filter((i, k) => {
      if (losses[k]! > threshold) return true;
      radius[i] = epsilon;
      belowGrid[i] = false;
      return false;
    });
  }
  return { radius, belowGrid };
}

export function lossIncreaseDefinition(): LossIncreaseDefinition {
  return {
    reference: 'FreeLB (Zhu et al. 2020) Table 5; zhuchen03/FreeLB scripts/get_highest_loss.py',
    norm: 'l2',
    step: 'normalized',
    start: 'uniform',
    stop: 'patience consecutive iterations with relative loss change < tol (to the max so far, or std of the last 25) and ||delta|| >= 0.999 eps',
    maxLoss: 'over the start and the point before each step',
  };
}

/**
 * Max loss increase per radius (FreeLB Table 5 protocol) and robustness radii over the correctly
 * classified examples of `set`.
 *
 * @example
 * ```ts
 * const set = await evalSet(model, tok, dev, { maxLength: 128, batchSize: 32 });
 * const r = await maxLossIncrease(model, set, { radii: [0.1, 0.5], batchSize: 32 });
 * r.radii[1].median; // median max-loss increase at epsilon 0.5
 * r.radius?.median; // median robustness radius
 * ```
 */
export async function maxLossIncrease(model: Model, set: EvalSet, options: LossIncreaseOptions): Promise<LossIncreaseReport> {
  const stepSize = options.stepSize ?? LOSS_INCREASE_DEFAULTS.stepSize;
  const steps = options.steps ?? LOSS_INCREASE_DEFAULTS.steps;
  const patience = options.patience ?? LOSS_INCREASE_DEFAULTS.patience;
  const tol = options.tol ?? LOSS_INCREASE_DEFAULTS.tol;
  const seed = options.seed ?? 0;
  const attack = { norm: 'l2', start: 'uniform', step: 'normalized', stepSize, steps, patience, tol } as const;
  const correct = set.correct.flatMap((ok, i) => (ok ? [i] : []));
  const batches = indexedBatches(set, correct, options.batchSize);
  const radii: LossIncreaseAtRadius[] = [];
  for (const epsilon of options.radii) {
    const increases: number[] = [];
    const iterations: number[] = [];
    for (const [b, { batch }] of batches.entries()) {
      const r = await model.attack(batch, { ...attack, epsilon, seed: seed + b });
      r.maxLoss.forEach((l, i) => increases.push(l - r.cleanLoss[i]!));
      iterations.push(...r.iterations);
    }
    radii.push({ epsilon, ...quartiles(increases), mean: mean(increases), min: increases.length ? Math.min(...increases) : Number.NaN, n: increases.length, meanIterations: mean(iterations) });
  }
  const first = radii[0]!;
  const report: LossIncreaseReport = { epsilon: first.epsilon, median: first.median, q1: first.q1, q3: first.q3, stepSize, steps, patience, tol, definition: lossIncreaseDefinition(), radii };
  if (options.radius ?? true) {
    const grid = radiusGrid(options.maxRadius, options.gridSteps);
    const { radius, belowGrid } = await searchRadii(correct, grid, RADIUS_THRESHOLD, async (examples, epsilon) => {
      const loss = new Map<number, number>();
      for (const [b, { batch, indices }] of indexedBatches(set, examples, options.batchSize).entries()) {
        const r = await model.attack(batch, { ...attack, epsilon, stopAbove: RADIUS_THRESHOLD, seed: seed + b });
        indices.forEach((ex, row) => loss.set(ex, r.maxLoss[row]!));
      }
      return examples.map((ex) => loss.get(ex)!);
    });
    report.radius = { ...quartiles(radius), mean: mean(radius), n: radius.length, threshold: RADIUS_THRESHOLD, grid, belowGrid: belowGrid.filter(Boolean).length };
  }
  return report;
}
