/**
 * The evaluation set of a robustness run: labeled text examples encoded once, batched by length, and
 * the model's clean predictions on them.
 */
import { collateTexts, encodeTexts, type EncodedText } from '../data/batching.js';
import type { TextExample } from '../data/table.js';
import { invalidArg } from '../errors.js';
import type { LabeledBatch } from '../model/batch.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import * as v from '../validate.js';
import { argmax } from './stats.js';

/** A batch and the example index of each of its rows. */
export interface IndexedBatch {
  batch: LabeledBatch;
  indices: number[];
}

/** Encoded examples plus the clean pass. */
export interface EvalSet {
  examples: readonly TextExample[];
  encoded: EncodedText[];
  /** Clean predicted class per example. */
  predictions: number[];
  correct: boolean[];
  padId: number;
}

/** The tokenizer to use: the explicit one, else the model's own. */
export function tokenizerOf(model: Model, tokenizer: Tokenizer | undefined, name = 'options.tokenizer'): Tokenizer {
  const tok = tokenizer ?? model.tokenizer;
  if (!tok) throw invalidArg(name, 'a Tokenizer (the model has none attached)', tokenizer);
  return tok;
}

/** Checks that the model classifies and every example has a label it knows. */
export function checkExamples(model: Model, examples: unknown): TextExample[] {
  if (model.task !== 'sequence-classification') throw invalidArg('model', `a sequence-classification model (robustness attacks flip class predictions); this one is ${model.task}`, model.task);
  if (!Array.isArray(examples) || examples.length === 0) throw invalidArg('examples', 'a non-empty array of { text, textPair?, label }', examples);
  examples.forEach((e, i) => {
    const o = v.object(`examples[${i}]`, e);
    v.string(`examples[${i}].text`, o.text);
    if (o.textPair !== undefined) v.string(`examples[${i}].textPair`, o.textPair);
    v.integer(`examples[${i}].label`, o.label, { min: 0, max: model.config.numLabels - 1 });
  });
  return examples as TextExample[];
}

/**
 * Batches of the given examples, rows grouped by length (less padding); each batch keeps its
 * example indices.
 */
export function indexedBatches(set: Pick<EvalSet, 'encoded' | 'padId'>, indices: readonly number[], batchSize: number): IndexedBatch[] {
  const order = [...indices].sort((a, b) => set.encoded[a]!.length - set.encoded[b]!.length || a - b);
  const out: IndexedBatch[] = [];
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    out.push({ batch: collateTexts(idx.map((j) => set.encoded[j]!), { padId: set.padId }), indices: idx });
  }
  return out;
}

/**
 * Encodes the examples (truncated to `maxLength`) and runs the clean pass.
 *
 * @example
 * ```ts
 * const set = await evalSet(model, tok, examples, { maxLength: 128, batchSize: 32 });
 * set.correct.filter(Boolean).length / examples.length; // clean accuracy
 * ```
 */
export async function evalSet(model: Model, tokenizer: Tokenizer, examples: readonly TextExample[], o: { maxLength: number; batchSize: number }): Promise<EvalSet> {
  const encoded = encodeTexts(examples, (a, b) => tokenizer.encode(b === undefined ? a : [a, b], { maxLength: o.maxLength }), { maxLength: o.maxLength });
  const set: EvalSet = { examples, encoded, predictions: new Array<number>(examples.length).fill(-1), correct: [], padId: tokenizer.special.pad.id };
  const k = model.config.numLabels;
  for (const { batch, indices } of indexedBatches(set, examples.map((_, i) => i), o.batchSize)) {
    const out = await model.forward({ ...batch, labels: undefined }, { skipPadding: true, outputLastHiddenState: false });
    indices.forEach((ex, r) => (set.predictions[ex] = argmax(out.logits, r * k, k)));
  }
  set.correct = set.predictions.map((p, i) => p === examples[i]!.label);
  return set;
}
