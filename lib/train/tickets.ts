/**
 * Robust early-bird tickets (EarlyRobust; Xi et al., EMNLP 2022, "Efficient Adversarial Training with
 * Robust Early-Bird Tickets"; code WooooDyy/EarlyRobust): the masks drawn from the slimming
 * coefficients, the distance between two masks and the search's stopping rule, as plain TypeScript over
 * arrays. The official code computes them in pruning_utils.py and second_stage.py (`choose_slimming_step`,
 * `pruning`); each function below names what it follows.
 *
 * Departures, each deliberate:
 * - The official search records the coefficients after every step of a whole first epoch and picks the
 *   ticket afterwards; here the rule runs online at each search point and the search stops as soon as a
 *   ticket is found (the same ticket: the first point whose next `window` masks are all within epsilon).
 * - Search points sit at k / pointsPerEpoch of each epoch, k = 1..pointsPerEpoch; the official ones after
 *   all_steps * k // 20 + 1 steps, k = 0..19, of the first epoch only.
 * - second_stage.py draws the ticket from the coefficients one step before the chosen point
 *   (`records[:, step - 1]`) and falls back to random pruning when the chosen point is step 0; here the
 *   ticket is the mask at the chosen point itself.
 */
import { invalidArg } from '../errors.js';

/** Slimming coefficients per layer: one per attention head, one per FFN intermediate neuron. */
export interface SlimmingCoefficients {
  heads: ArrayLike<number>[];
  ffn: ArrayLike<number>[];
}

/** Which heads and neurons a ticket keeps (true) per layer. */
export interface TicketMasks {
  heads: boolean[][];
  ffn: boolean[][];
}

/** What to prune: fractions of all heads and of all FFN neurons, over the whole model (the paper's global pruning). */
export interface PruneRatios {
  /** Default 1/6 (the paper's and official scripts' `self_pruning_ratio` 0.166667). */
  heads: number;
  /** Default 0.4 (`inter_pruning_ratio`). */
  ffn: number;
}

export const DEFAULT_PRUNE_RATIOS: PruneRatios = { heads: 1 / 6, ffn: 0.4 };

/** numpy.quantile's default ('linear'): position q * (n - 1) in the sorted values, interpolated. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw invalidArg('values', 'a non-empty array', values);
  if (!(q >= 0 && q <= 1)) throw invalidArg('q', 'a number in [0, 1]', q);
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  const t = pos - lo;
  // numpy's _lerp: a + (b - a) * t, evaluated from the nearer end.
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/**
 * The ticket of a set of coefficients (second_stage.py `pruning`, global method): neurons whose coefficient
 * is above the `ffn` quantile of all FFN coefficients survive; heads likewise at the `heads` quantile, and
 * while a layer would lose every head, that layer's largest coefficient is set to +inf and the quantile is
 * taken again (the official `is_every_layer_one_head_survived` loop). Coefficients are compared as they
 * are (signed), as the official code does.
 */
export function ticketMasks(coeffs: SlimmingCoefficients, ratios: PruneRatios = DEFAULT_PRUNE_RATIOS): TicketMasks {
  checkRatio('ratios.heads', ratios.heads);
  checkRatio('ratios.ffn', ratios.ffn);
  if (coeffs.heads.length === 0 || coeffs.heads.length !== coeffs.ffn.length) {
    throw invalidArg('coeffs', 'heads and ffn coefficients for the same, non-zero number of layers', `${coeffs.heads.length} layers of heads and ${coeffs.ffn.length} of ffn`);
  }
  const ffnAll = coeffs.ffn.flatMap((l) => Array.from(l));
  const ffnThreshold = quantile(ffnAll, ratios.ffn);
  const ffn = coeffs.ffn.map((l) => Array.from(l, (c) => c > ffnThreshold));

  const heads = coeffs.heads.map((l) => Array.from(l));
  let threshold = quantile(heads.flat(), ratios.heads);
  for (;;) {
    const empty = heads.findIndex((l) => !l.some((c) => c > threshold));
    if (empty < 0) break;
    const layer = heads[empty]!;
    layer[layer.indexOf(Math.max(...layer))] = Number.POSITIVE_INFINITY;
    threshold = quantile(heads.flat(), ratios.heads);
  }
  return { heads: heads.map((l) => l.map((c) => c > threshold)), ffn };
}

/** Normalised Hamming distance: the fraction of positions where two masks differ (pruning_utils.py `normalized_dis1`). */
export function maskDistance(a: readonly (readonly boolean[])[], b: readonly (readonly boolean[])[]): number {
  if (a.length !== b.length || a.some((l, i) => l.length !== b[i]!.length)) throw invalidArg('b', 'a mask of the same shape as a', b);
  let differ = 0;
  let size = 0;
  a.forEach((l, i) => {
    l.forEach((m, j) => {
      if (m !== b[i]![j]) differ++;
    });
    size += l.length;
  });
  return size === 0 ? 0 : differ / size;
}

/** The steps (1-based: after that many optimizer steps) at which the search draws a mask: `pointsPerEpoch` evenly spaced per epoch. */
export function searchPoints(stepsPerEpoch: number, pointsPerEpoch: number, epochs: number): number[] {
  for (const [name, value] of [['stepsPerEpoch', stepsPerEpoch], ['pointsPerEpoch', pointsPerEpoch], ['epochs', epochs]] as const) {
    if (!Number.isInteger(value) || value < 1) throw invalidArg(name, 'an integer >= 1', value);
  }
  const out: number[] = [];
  for (let e = 0; e < epochs; e++) {
    for (let k = 1; k <= pointsPerEpoch; k++) {
      // choose_slimming_step: all_steps * gap // 20, gap 0..19 (records from step 1 on: the first point is
      // one interval in).
      const step = e * stepsPerEpoch + Math.floor((stepsPerEpoch * k) / pointsPerEpoch);
      if (step >= 1 && step !== out.at(-1)) out.push(step);
    }
  }
  return out;
}

/** One search point: the step, its masks, and their distances to the previous point's (for the log and figure). */
export interface TicketPoint {
  step: number;
  masks: TicketMasks;
  headDistance: number | null;
  ffnDistance: number | null;
}

/**
 * The stopping rule (second_stage.py `choose_slimming_step`): the ticket is the first point whose masks are
 * within `epsilon` of the masks at each of the next `window` points, for heads and for FFN neurons alike.
 * Feed points in order with `add`; it returns the ticket's point as soon as one is certain.
 */
export class TicketSearch {
  readonly points: TicketPoint[] = [];
  readonly #window: number;
  readonly #epsilon: number;
  #ticket: TicketPoint | undefined;

  constructor(options: { window: number; epsilon: number }) {
    if (!Number.isInteger(options.window) || options.window < 1) throw invalidArg('window', 'an integer >= 1', options.window);
    if (!(options.epsilon > 0 && options.epsilon <= 1)) throw invalidArg('epsilon', 'a number in (0, 1]', options.epsilon);
    this.#window = options.window;
    this.#epsilon = options.epsilon;
  }

  get ticket(): TicketPoint | undefined {
    return this.#ticket;
  }

  add(step: number, masks: TicketMasks): TicketPoint | undefined {
    const prev = this.points.at(-1);
    if (prev && step <= prev.step) throw invalidArg('step', `a step after the last point's (${prev.step})`, step);
    this.points.push({
      step,
      masks,
      headDistance: prev ? maskDistance(prev.masks.heads, masks.heads) : null,
      ffnDistance: prev ? maskDistance(prev.masks.ffn, masks.ffn) : null,
    });
    if (this.#ticket) return this.#ticket;
    const c = this.points.length - 1 - this.#window;
    if (c < 0) return undefined;
    const candidate = this.points[c]!;
    const close = this.points
      .slice(c + 1)
      .every((p) => maskDistance(candidate.masks.heads, p.masks.heads) < this.#epsilon && maskDistance(candidate.masks.ffn, p.masks.ffn) < this.#epsilon);
    if (close) this.#ticket = candidate;
    return this.#ticket;
  }
}

/** The indices each layer loses, in the form `Model.prune` takes (as transformers' prune_heads: what to remove). */
export function prunedIndices(masks: TicketMasks): { heads: number[][]; ffn: number[][] } {
  const removed = (l: boolean[]) => l.flatMap((keep, i) => (keep ? [] : [i]));
  return { heads: masks.heads.map(removed), ffn: masks.ffn.map(removed) };
}

function checkRatio(name: string, r: number): void {
  if (typeof r !== 'number' || !(r >= 0 && r < 1)) throw invalidArg(name, 'a fraction in [0, 1)', r);
}
