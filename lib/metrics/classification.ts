/**
 * Classification metrics over class ids, computed as scikit-learn computes them. Where sklearn would
 * divide by zero (no samples, no predicted or no true positives of a class, a constant prediction for
 * Matthews) the result is 0, sklearn's `zero_division=0`.
 *
 * Arguments are (predictions, references) throughout `lib/metrics`, as in Hugging Face `evaluate`;
 * sklearn takes (y_true, y_pred).
 */
import { invalidArg } from '../errors.js';
import * as v from '../validate.js';

/**
 * Checks two equally long sequences of numbers and returns their length.
 *
 * @example
 * ```ts
 * checkPairs([1, 2], new Float32Array(2)); // 2
 * ```
 */
export function checkPairs(predictions: ArrayLike<number>, references: ArrayLike<number>): number {
  const isSeq = (x: unknown): boolean => Array.isArray(x) || ArrayBuffer.isView(x);
  if (!isSeq(predictions)) throw invalidArg('predictions', 'an array or typed array of numbers', predictions);
  if (!isSeq(references) || references.length !== predictions.length) {
    throw invalidArg('references', `an array or typed array of length ${predictions.length} (as predictions)`, references);
  }
  return predictions.length;
}

/**
 * Fraction of predictions equal to their reference; 0 for no samples.
 *
 * @example
 * ```ts
 * accuracy([1, 0, 1, 1], [1, 1, 1, 0]); // 0.5
 * ```
 */
export function accuracy(predictions: ArrayLike<number>, references: ArrayLike<number>): number {
  const n = checkPairs(predictions, references);
  let correct = 0;
  for (let i = 0; i < n; i++) if (predictions[i] === references[i]) correct++;
  return n === 0 ? 0 : correct / n;
}

/** F1 of one class from its counts: 2tp / (2tp + fp + fn), 0 when undefined. */
function f1FromCounts(tp: number, fp: number, fn: number): number {
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

function classF1(predictions: ArrayLike<number>, references: ArrayLike<number>, label: number): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predictions.length; i++) {
    const p = predictions[i] === label;
    const r = references[i] === label;
    if (p && r) tp++;
    else if (p) fp++;
    else if (r) fn++;
  }
  return f1FromCounts(tp, fp, fn);
}

export interface F1Options {
  /** `'binary'` (default): F1 of `positiveLabel`; `'macro'`: unweighted mean of per-class F1. */
  average?: 'binary' | 'macro';
  /** The positive class for `'binary'` (default 1). */
  positiveLabel?: number;
  /** Classes averaged by `'macro'` (default: every class in predictions or references, as sklearn). */
  labels?: readonly number[];
}

/**
 * F1 score, binary (of the positive class) or macro-averaged, as sklearn's `f1_score` with
 * `zero_division=0`: a class with no true and no predicted samples scores 0 and still counts in the
 * macro mean when listed in `labels`.
 *
 * @example
 * ```ts
 * f1([1, 1, 0, 0], [1, 0, 1, 0]);                       // 0.5
 * f1([0, 1, 2, 2], [0, 2, 2, 1], { average: 'macro' }); // (1 + 0 + 0.5) / 3
 * ```
 */
export function f1(predictions: ArrayLike<number>, references: ArrayLike<number>, options: F1Options = {}): number {
  checkPairs(predictions, references);
  const o = v.object('options', options);
  v.knownKeys('options', o, ['average', 'positiveLabel', 'labels']);
  const average = o.average === undefined ? 'binary' : v.oneOf('options.average', o.average, ['binary', 'macro'] as const);
  if (average === 'binary') {
    if (o.labels !== undefined) throw invalidArg('options.labels', "nothing with average 'binary'", o.labels);
    return classF1(predictions, references, o.positiveLabel === undefined ? 1 : v.finiteNumber('options.positiveLabel', o.positiveLabel));
  }
  if (o.positiveLabel !== undefined) throw invalidArg('options.positiveLabel', "nothing with average 'macro'", o.positiveLabel);
  let labels: readonly number[];
  if (o.labels === undefined) labels = [...new Set([...Array.from(references), ...Array.from(predictions)])];
  else if (Array.isArray(o.labels)) labels = o.labels.map((l, i) => v.finiteNumber(`options.labels[${i}]`, l));
  else throw invalidArg('options.labels', 'an array of class ids', o.labels);
  if (labels.length === 0) return 0;
  let sum = 0;
  for (const label of labels) sum += classF1(predictions, references, label);
  return sum / labels.length;
}

/**
 * Matthews correlation coefficient, binary or multiclass (Gorodkin's R_K), as sklearn's
 * `matthews_corrcoef`: from the confusion matrix C with t = row sums, p = column sums, s = samples,
 * c = trace, `(c*s - t.p) / sqrt((s^2 - p.p) (s^2 - t.t))`, and 0 when that denominator is 0 (all
 * predictions, or all references, one class; no samples).
 *
 * @example
 * ```ts
 * matthews([1, 0, 1, 1], [1, 1, 1, 0]); // -0.333...
 * ```
 */
export function matthews(predictions: ArrayLike<number>, references: ArrayLike<number>): number {
  const n = checkPairs(predictions, references);
  const t = new Map<number, number>();
  const p = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const r = references[i]!;
    const q = predictions[i]!;
    t.set(r, (t.get(r) ?? 0) + 1);
    p.set(q, (p.get(q) ?? 0) + 1);
    if (r === q) correct++;
  }
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, count] of t) {
    tp += count * (p.get(k) ?? 0);
    tt += count * count;
  }
  for (const count of p.values()) pp += count * count;
  const covYtYp = correct * n - tp;
  const covYpYp = n * n - pp;
  const covYtYt = n * n - tt;
  if (covYpYp * covYtYt === 0) return 0;
  return covYtYp / Math.sqrt(covYtYt * covYpYp);
}
