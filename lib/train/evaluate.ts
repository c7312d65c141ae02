/**
 * Evaluation of a model on labeled batches: the mean loss plus the task's metrics, computed from the
 * logits in TypeScript (metrics in lib/metrics follow sklearn, scipy and seqeval).
 */
import { invalidArg } from '../errors.js';
import type { LabeledBatch } from '../model/batch.js';
import type { Model } from '../model/model.js';
import { accuracy, f1 } from '../metrics/classification.js';
import { pearson, spearman } from '../metrics/correlation.js';
import { entityScores } from '../metrics/seqeval.js';

/** Scores example-level predictions (class ids or regression values) against references. */
export type Scorer = (predictions: number[], references: number[]) => Record<string, number | undefined>;

export interface EvaluateOptions {
  /** Replaces the default metrics of classification, regression and multiple choice (GLUE tasks pass glueScores). */
  scorer?: Scorer;
}

function argmaxRows(logits: Float32Array, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * cols < logits.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (logits[r * cols + c]! > logits[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

function defaultScorer(task: string): Scorer {
  if (task === 'regression') {
    return (p, r) => ({ pearson: pearson(p, r), spearman: spearman(p, r), mse: p.reduce((s, x, i) => s + (x - r[i]!) ** 2, 0) / Math.max(1, p.length) });
  }
  if (task === 'multiple-choice') return (p, r) => ({ accuracy: accuracy(p, r) });
  return (p, r) => ({ accuracy: accuracy(p, r), f1: f1(p, r, { average: 'macro' }) });
}

/**
 * Mean loss (weighted by examples) and the task's metrics over `data`, in eval mode. Token
 * classification reports entity-level precision/recall/F1 (seqeval rules) with the model's label
 * names; masked LM reports masked-token accuracy and perplexity; question answering reports how often
 * the most likely start and end positions are exact (span-level EM/F1 needs the texts: see `evaluateQa`).
 *
 * @example
 * ```ts
 * const metrics = await evaluateModel(model, devBatches); // { loss, accuracy, f1, examples }
 * ```
 */
export async function evaluateModel(model: Model, data: Iterable<LabeledBatch>, options: EvaluateOptions = {}): Promise<Record<string, number>> {
  const task = model.task;
  let lossSum = 0;
  let n = 0;
  const preds: number[] = [];
  const refs: number[] = [];
  const tagPreds: string[][] = [];
  const tagRefs: string[][] = [];
  let tokCorrect = 0;
  let tokTotal = 0;
  let spanExact = 0;
  for (const batch of data) {
    const out = await model.forward(batch);
    if (out.loss === undefined) throw invalidArg('data', 'batches with labels', batch);
    // Examples labelled -100 are ignored: the loss is a mean over the others, and they are not scored.
    const labelled = task === 'sequence-classification' || task === 'multiple-choice' ? (batch.labels as Int32Array).filter((y) => y !== -100).length : batch.batchSize;
    if (labelled > 0) {
      lossSum += out.loss * labelled;
      n += labelled;
    }
    const cols = out.logitsShape[out.logitsShape.length - 1]!;
    if (task === 'sequence-classification' || task === 'multiple-choice') {
      const best = argmaxRows(out.logits, cols);
      (batch.labels as Int32Array).forEach((y, i) => {
        if (y === -100) return;
        preds.push(best[i]!);
        refs.push(y);
      });
    } else if (task === 'regression') {
      preds.push(...Array.from(out.logits));
      refs.push(...Array.from(batch.labels as Float32Array));
    } else if (task === 'token-classification' || task === 'masked-lm') {
      const best = argmaxRows(out.logits, cols);
      const labels = batch.labels as Int32Array;
      const names = model.config.id2label;
      for (let row = 0; row * batch.seqLen < labels.length; row++) {
        const p: string[] = [];
        const r: string[] = [];
        for (let j = 0; j < batch.seqLen; j++) {
          const i = row * batch.seqLen + j;
          if (labels[i] === -100) continue;
          tokTotal++;
          if (best[i] === labels[i]) tokCorrect++;
          if (task === 'token-classification') {
            p.push(names[best[i]!] ?? 'O');
            r.push(names[labels[i]!] ?? 'O');
          }
        }
        if (task === 'token-classification') {
          tagPreds.push(p);
          tagRefs.push(r);
        }
      }
    } else if (task === 'question-answering') {
      const L = batch.seqLen;
      for (let row = 0; row < batch.batchSize; row++) {
        let s = 0;
        let e = 0;
        for (let j = 1; j < L; j++) {
          if (out.logits[(row * L + j) * 2]! > out.logits[(row * L + s) * 2]!) s = j;
          if (out.logits[(row * L + j) * 2 + 1]! > out.logits[(row * L + e) * 2 + 1]!) e = j;
        }
        if (s === batch.startPositions![row] && e === batch.endPositions![row]) spanExact++;
      }
    }
  }
  const result: Record<string, number> = { loss: n ? lossSum / n : Number.NaN, examples: n };
  if (task === 'token-classification') {
    const s = entityScores(tagPreds, tagRefs);
    Object.assign(result, { precision: s.precision, recall: s.recall, f1: s.f1, tokenAccuracy: tokTotal ? tokCorrect / tokTotal : 0 });
  } else if (task === 'masked-lm') {
    Object.assign(result, { maskedAccuracy: tokTotal ? tokCorrect / tokTotal : 0, perplexity: Math.exp(result.loss!) });
  } else if (task === 'question-answering') {
    result.exactPositions = n ? spanExact / n : 0;
  } else if (n > 0) {
    for (const [k, v] of Object.entries((options.scorer ?? defaultScorer(task))(preds, refs))) if (v !== undefined) result[k] = v;
  }
  return result;
}
