/**
 * Summary statistics and TextAttack's attack-result counting (Morris et al., EMNLP 2020 demos,
 * "TextAttack: A Framework for Adversarial Attacks, Data Augmentation, and Adversarial Training in NLP";
 * textattack/attack_results and metrics/attack_metrics).
 */

/** Median and quartiles (linear interpolation between order statistics, numpy's default). */
export interface Quartiles {
  median: number;
  q1: number;
  q3: number;
}

/** The p-quantile of `sorted` (ascending), NaN when empty. */
function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Median and quartiles of `values`.
 *
 * @example
 * ```ts
 * quartiles([1, 2, 3, 4]); // { median: 2.5, q1: 1.75, q3: 3.25 }
 * ```
 */
export function quartiles(values: readonly number[]): Quartiles {
  const s = [...values].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

/** Arithmetic mean, NaN when empty. */
export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
}

/**
 * Outcomes of attacking a set of examples. TextAttack's definitions: an example the model already
 * gets wrong is skipped; an attack that flips a correct prediction succeeded; otherwise it failed.
 */
export interface AttackCounts {
  successful: number;
  failed: number;
  skipped: number;
}

/** Accuracy under attack and success rate, as TextAttack reports them. */
export interface AttackRates {
  /** failed / total: the examples still classified correctly after the attack. */
  accuracyUnderAttack: number;
  /** successful / (successful + failed); 0 when nothing was attacked. */
  successRate: number;
}

/**
 * TextAttack's accuracy under attack and attack success rate from the counts.
 *
 * @example
 * ```ts
 * attackRates({ successful: 3, failed: 5, skipped: 2 }); // { accuracyUnderAttack: 0.5, successRate: 0.375 }
 * ```
 */
export function attackRates(c: AttackCounts): AttackRates {
  const total = c.successful + c.failed + c.skipped;
  const attacked = c.successful + c.failed;
  return { accuracyUnderAttack: total ? c.failed / total : 0, successRate: attacked ? c.successful / attacked : 0 };
}

/** Index of the largest of `n` values starting at `offset`. */
export function argmax(values: ArrayLike<number>, offset = 0, n = values.length - offset): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

/** Softmax of `n` logits starting at `offset`. */
export function softmax(logits: ArrayLike<number>, offset: number, n: number): number[] {
  let m = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < n; j++) m = Math.max(m, logits[offset + j]!);
  const e = Array.from({ length: n }, (_, j) => Math.exp(logits[offset + j]! - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/**
 * Cosine of `n` values of `a` (from `ao`) and `b` (from `bo`); `ifZero` when either vector is zero, since
 * callers mean different things by it (no deviation: 1; no similarity known: NaN).
 */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, ifZero: number, ao = 0, bo = 0, n = a.length - ao): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[ao + i]!;
    const y = b[bo + i]!;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : ifZero;
}
