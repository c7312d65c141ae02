/**
 * Evaluation of a model on labeled batches: the mean loss plus the task's metrics, computed from the
 * logits in TypeScript (metrics in lib/metrics follow sklearn, scipy and seqeval). In three pieces, so
 * ranks of a process group can each evaluate a share and agree on the metrics: {@link tallyBatch} (one
 * forward pass reduced to what the metrics need), {@link mergeTallies} (every rank's tallies back in
 * batch order) and {@link finishEvaluation} (the metrics from the tallies).
 */
import { allGatherSettled, checkCollectives, type Collectives } from '../distributed/collectives.js';
import { AdvtrainError, invalidArg } from '../errors.js';
import type { LabeledBatch } from '../model/batch.js';
import type { Task } from '../model/config.js';
import type { Model } from '../model/model.js';
import * as v from '../validate.js';
import { accuracy, f1 } from '../metrics/classification.js';
import { pearson, spearman } from '../metrics/correlation.js';
import { entityScores } from '../metrics/seqeval.js';

/** Scores example-level predictions (class ids or regression values) against references. */
export type Scorer = (predictions: number[], references: number[]) => Record<string, number | undefined>;

export interface EvaluateOptions {
  /** Replaces the default metrics of classification, regression and multiple choice (GLUE tasks pass glueScores). */
  scorer?: Scorer;
  /**
   * Evaluates on every rank of a process group at once: each rank runs the model on batches i with
   * i % worldSize === rank only, the ranks exchange their tallies, and every rank returns the metrics
   * of all the batches. Every rank must pass the same `data`, and all must call evaluateModel.
   */
  collectives?: Collectives;
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
 * One batch reduced to what the metrics need, with its index in the evaluated data. Plain data: JSON
 * carries it between ranks (non-finite numbers as the strings 'NaN', 'Infinity', '-Infinity').
 */
export interface BatchTally {
  /** Index of the batch in the evaluated data. */
  batch: number;
  /** Mean loss times `labelled` (0 when nothing is labelled). */
  lossSum: number;
  /** Examples scored: labelled examples of classification and multiple choice, rows otherwise. */
  labelled: number;
  /** Classification, multiple choice, regression: predicted class ids or values, and references. */
  preds: number[];
  refs: number[];
  /** Token classification: predicted and reference label ids of each row's labelled tokens. */
  tagPreds: number[][];
  tagRefs: number[][];
  /** Token classification and masked LM: labelled tokens, and those predicted right. */
  tokTotal: number;
  tokCorrect: number;
  /** Question answering: rows whose most likely start and end are the labelled ones. */
  spanExact: number;
}

/**
 * Runs the model on one batch and keeps what the metrics need (see {@link finishEvaluation}).
 *
 * @example
 * ```ts
 * const tallies = [];
 * for (const [i, batch] of devBatches.entries()) tallies.push(await tallyBatch(model, batch, i));
 * finishEvaluation(model.task, tallies, { labelNames: model.config.id2label }); // = await evaluateModel(model, devBatches)
 * ```
 */
export async function tallyBatch(model: Model, batch: LabeledBatch, index: number): Promise<BatchTally> {
  const task = model.task;
  // Only real tokens are scored, so the padding is skipped (as in training); a masked LM's vocabulary
  // projection runs at its labelled positions only (logits [M, V], in row-major order).
  const out = await model.forward(batch, { skipPadding: true, labeledOnly: task === 'masked-lm', outputLastHiddenState: false });
  if (out.loss === undefined) throw invalidArg('data', 'batches with labels', batch);
  const t: BatchTally = { batch: index, lossSum: 0, labelled: 0, preds: [], refs: [], tagPreds: [], tagRefs: [], tokTotal: 0, tokCorrect: 0, spanExact: 0 };
  // Examples labelled -100 are ignored: the loss is a mean over the others, and they are not scored.
  const labelled = task === 'sequence-classification' || task === 'multiple-choice' ? (batch.labels as Int32Array).filter((y) => y !== -100).length : batch.batchSize;
  if (labelled > 0) {
    t.lossSum = out.loss * labelled;
    t.labelled = labelled;
  }
  const cols = out.logitsShape[out.logitsShape.length - 1]!;
  if (task === 'sequence-classification' || task === 'multiple-choice') {
    const best = argmaxRows(out.logits, cols);
    (batch.labels as Int32Array).forEach((y, i) => {
      if (y === -100) return;
      t.preds.push(best[i]!);
      t.refs.push(y);
    });
  } else if (task === 'regression') {
    t.preds.push(...Array.from(out.logits));
    t.refs.push(...Array.from(batch.labels as Float32Array));
  } else if (task === 'token-classification' || task === 'masked-lm') {
    const best = argmaxRows(out.logits, cols);
    const labels = batch.labels as Int32Array;
    // Masked LM: one logits row per labelled position, in order (labeledOnly).
    let m = 0;
    for (let row = 0; row * batch.seqLen < labels.length; row++) {
      const p: number[] = [];
      const r: number[] = [];
      for (let j = 0; j < batch.seqLen; j++) {
        const i = row * batch.seqLen + j;
        if (labels[i] === -100) continue;
        t.tokTotal++;
        if (best[task === 'masked-lm' ? m++ : i] === labels[i]) t.tokCorrect++;
        if (task === 'token-classification') {
          p.push(best[i]!);
          r.push(labels[i]!);
        }
      }
      if (task === 'token-classification') {
        t.tagPreds.push(p);
        t.tagRefs.push(r);
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
      if (s === batch.startPositions![row] && e === batch.endPositions![row]) t.spanExact++;
    }
  }
  return t;
}

/**
 * Every rank's tallies as one list in batch order (the order a single process would have made):
 * the per-rank lists of {@link tallyBatch}, in any order.
 */
export function mergeTallies(perRank: readonly (readonly BatchTally[])[]): BatchTally[] {
  return perRank.flat().sort((a, b) => a.batch - b.batch);
}

/** Options of {@link finishEvaluation}. */
export interface FinishEvaluationOptions {
  /** As {@link EvaluateOptions.scorer}. */
  scorer?: Scorer;
  /** Token classification: the name of each label id (the model's `config.id2label`); 'O' where missing. */
  labelNames?: readonly string[];
}

/**
 * The metrics of {@link evaluateModel} from the tallies of every batch, summed in the order given
 * (batch order, from {@link mergeTallies}, to match a single process to the last bit).
 */
export function finishEvaluation(task: Task, tallies: readonly BatchTally[], options: FinishEvaluationOptions = {}): Record<string, number> {
  let lossSum = 0;
  let n = 0;
  const preds: number[] = [];
  const refs: number[] = [];
  const tagPreds: string[][] = [];
  const tagRefs: string[][] = [];
  let tokCorrect = 0;
  let tokTotal = 0;
  let spanExact = 0;
  const names = options.labelNames ?? [];
  const name = (id: number): string => names[id] ?? 'O';
  for (const t of tallies) {
    if (t.labelled > 0) {
      lossSum += t.lossSum;
      n += t.labelled;
    }
    for (const p of t.preds) preds.push(p);
    for (const r of t.refs) refs.push(r);
    for (const row of t.tagPreds) tagPreds.push(row.map(name));
    for (const row of t.tagRefs) tagRefs.push(row.map(name));
    tokCorrect += t.tokCorrect;
    tokTotal += t.tokTotal;
    spanExact += t.spanExact;
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

// JSON has no NaN or Infinity; a diverged model's loss or regression outputs must survive the trip.
const toWire = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
const fromWire = (x: number | string): number => (typeof x === 'number' ? x : Number(x));

function encodeTallies(batches: number, tallies: readonly BatchTally[]): Uint8Array {
  const wire = tallies.map((t) => ({ ...t, lossSum: toWire(t.lossSum), preds: t.preds.map(toWire), refs: t.refs.map(toWire) }));
  return new TextEncoder().encode(JSON.stringify({ batches, tallies: wire }));
}

function decodeTallies(bytes: Uint8Array): { batches: number; tallies: BatchTally[] } {
  const { batches, tallies } = JSON.parse(new TextDecoder().decode(bytes)) as { batches: number; tallies: (BatchTally & { lossSum: number | string; preds: (number | string)[]; refs: (number | string)[] })[] };
  return { batches, tallies: tallies.map((t) => ({ ...t, lossSum: fromWire(t.lossSum), preds: t.preds.map(fromWire), refs: t.refs.map(fromWire) })) };
}

/**
 * Mean loss (weighted by examples) and the task's metrics over `data`, in eval mode. Token
 * classification reports entity-level precision/recall/F1 (seqeval rules) with the model's label
 * names; masked LM reports masked-token accuracy and perplexity; question answering reports how often
 * the most likely start and end positions are exact (span-level EM/F1 needs the texts: see `evaluateQa`).
 *
 * With `collectives` (more than one rank), each rank runs the model on its share of the batches
 * (batch i on rank i % worldSize; every rank still iterates, and so collates, all of `data`), the
 * ranks gather their tallies, and every rank returns the same metrics, equal to one process's over
 * all of `data`: counts are exact and sums are added in batch order, as one process adds them. If
 * one rank fails, it throws its error and the others an `ERR_DISTRIBUTED` naming it.
 *
 * @example
 * ```ts
 * const metrics = await evaluateModel(model, devBatches); // { loss, accuracy, f1, examples }
 * // On each rank of a data-parallel run: the same metrics everywhere, each rank a quarter of the work.
 * const same = await evaluateModel(model, devBatches, { collectives: group }); // group.worldSize === 4
 * ```
 */
export async function evaluateModel(model: Model, data: Iterable<LabeledBatch>, options: EvaluateOptions = {}): Promise<Record<string, number>> {
  const o = v.object('options', options);
  v.knownKeys('options', o, ['scorer', 'collectives']);
  if (o.scorer !== undefined && typeof o.scorer !== 'function') throw invalidArg('options.scorer', 'a function (predictions, references) => metrics', o.scorer);
  const finish = (tallies: readonly BatchTally[]) =>
    finishEvaluation(model.task, tallies, { scorer: options.scorer, labelNames: model.task === 'token-classification' ? model.config.id2label : undefined });
  const c = o.collectives === undefined ? undefined : checkCollectives('options.collectives', o.collectives);
  if (c === undefined || c.worldSize === 1) {
    const tallies: BatchTally[] = [];
    let i = 0;
    for (const batch of data) tallies.push(await tallyBatch(model, batch, i++));
    return finish(tallies);
  }
  const parts = await allGatherSettled(c, async () => {
    const tallies: BatchTally[] = [];
    let i = 0;
    for (const batch of data) {
      if (i % c.worldSize === c.rank) tallies.push(await tallyBatch(model, batch, i));
      i++;
    }
    return encodeTallies(i, tallies);
  });
  const decoded = parts.map(decodeTallies);
  if (decoded.some((d) => d.batches !== decoded[0]!.batches)) {
    throw new AdvtrainError(`Expected the same evaluation data on every rank but the ranks saw ${decoded.map((d, r) => `${d.batches} batches (rank ${r})`).join(', ')}`, 'ERR_DISTRIBUTED');
  }
  return finish(mergeTallies(decoded.map((d) => d.tallies)));
}
