/**
 * Correlation of scores (STS-B), as scipy's `pearsonr` and `spearmanr`. Where scipy returns NaN
 * (fewer than 2 samples, or a constant input), these return 0, like sklearn's `zero_division=0`.
 */
import { checkPairs } from './classification.js';

/**
 * Pearson's r.
 *
 * @example
 * ```ts
 * pearson([1, 2, 3], [2, 4, 7]); // 0.9933992677987828
 * ```
 */
export function pearson(predictions: ArrayLike<number>, references: ArrayLike<number>): number {
  const n = checkPairs(predictions, references);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += predictions[i]!;
    my += references[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = predictions[i]! - mx;
    const dy = references[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return 0;
  // Rounding can push |r| a hair past 1.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * 1-based ranks, ties sharing the average of their ranks (scipy's `rankdata(method='average')`).
 *
 * @example
 * ```ts
 * rank([10, 20, 20, 5]); // [2, 3.5, 3.5, 1]
 * ```
 */
export function rank(values: ArrayLike<number>): number[] {
  const order = Array.from(values, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * Spearman's rank correlation: Pearson's r of the ranks, ties averaged.
 *
 * @example
 * ```ts
 * spearman([1, 2, 2, 3], [1, 3, 2, 4]); // 0.9486832980505139
 * ```
 */
export function spearman(predictions: ArrayLike<number>, references: ArrayLike<number>): number {
  checkPairs(predictions, references);
  return pearson(rank(predictions), rank(references));
}
