/**
 * The scores GLUE reports for a task, named as in its preset's `metrics`.
 */
import { GLUE_TASKS, type GlueMetric, type GlueTask } from '../data/glue.js';
import * as v from '../validate.js';
import { accuracy, f1, matthews } from './classification.js';
import { pearson, spearman } from './correlation.js';

const COMPUTE: Readonly<Record<GlueMetric, (predictions: ArrayLike<number>, references: ArrayLike<number>) => number>> = {
  accuracy,
  // MRPC and QQP report F1 of the positive class (equivalent / duplicate).
  f1: (p, r) => f1(p, r),
  matthews,
  pearson,
  spearman,
};

/**
 * Computes every metric of a GLUE task: class ids for classification tasks, scores for stsb.
 *
 * @example
 * ```ts
 * glueScores('mrpc', [1, 0, 1, 1], [1, 1, 1, 0]); // { accuracy: 0.5, f1: 0.666... }
 * glueScores('stsb', [0.5, 2.5, 4.0], [1.0, 2.0, 4.8]); // { pearson: ..., spearman: 1 }
 * ```
 */
export function glueScores(task: GlueTask, predictions: ArrayLike<number>, references: ArrayLike<number>): Partial<Record<GlueMetric, number>> {
  const preset = GLUE_TASKS[v.oneOf('task', task, Object.keys(GLUE_TASKS) as GlueTask[])];
  const out: Partial<Record<GlueMetric, number>> = {};
  for (const m of preset.metrics) out[m] = COMPUTE[m](predictions, references);
  return out;
}
