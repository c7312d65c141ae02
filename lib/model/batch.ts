/**
 * Model inputs. A batch is row-major typed arrays plus sizes; multiple-choice batches carry
 * `numChoices` and hold batchSize * numChoices rows. Validated here so the native side can trust it.
 */
import { invalidArg } from '../errors.js';
import { int32Array, int32Range, integer } from '../validate.js';
import { maxSeqLen, type ModelConfig } from './config.js';

/** Inputs of one forward pass. */
export interface Batch {
  /** Token ids, [rows, seqLen] row-major, rows = batchSize (x numChoices). */
  inputIds: Int32Array;
  /** 1 for real tokens, 0 for padding; all ones when omitted. */
  attentionMask?: Int32Array;
  /** Segment ids; zeros when omitted. */
  tokenTypeIds?: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Multiple choice: choices per example. */
  numChoices?: number;
}

/** A batch with training targets. */
export interface LabeledBatch extends Batch {
  /**
   * Class ids [batchSize] (classification, multiple choice), values [batchSize] as Float32Array
   * (regression), or per-token ids [rows, seqLen] (token classification, masked LM). A label of -100
   * is ignored (no loss, not counted in the mean), as in transformers; regression has no such value.
   */
  labels?: Int32Array | Float32Array;
  /** Question answering: answer start/end token positions [batchSize]. */
  startPositions?: Int32Array;
  endPositions?: Int32Array;
}

/** What the native side receives: every array present, sizes checked. */
export interface NativeBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
  numChoices?: number;
  labels?: Int32Array | Float32Array;
  tokenLabels?: boolean;
  startPositions?: Int32Array;
  endPositions?: Int32Array;
}

/**
 * Validates `batch` against the model's configuration and fills the defaults. With `requireLabels`
 * the targets the task needs must be present and in range.
 */
export function prepareBatch(batch: LabeledBatch, cfg: ModelConfig, name = 'batch', requireLabels = false): NativeBatch {
  if (typeof batch !== 'object' || batch === null) throw invalidArg(name, 'a batch object', batch);
  const batchSize = integer(`${name}.batchSize`, batch.batchSize, { min: 1 });
  const seqLen = integer(`${name}.seqLen`, batch.seqLen, { min: 1, max: maxSeqLen(cfg) });
  let numChoices: number | undefined;
  if (cfg.task === 'multiple-choice') numChoices = integer(`${name}.numChoices`, batch.numChoices, { min: 1 });
  else if (batch.numChoices !== undefined) throw invalidArg(`${name}.numChoices`, `undefined for a ${cfg.task} model`, batch.numChoices);
  const rows = batchSize * (numChoices ?? 1);
  const n = rows * seqLen;
  const inputIds = int32Array(`${name}.inputIds`, batch.inputIds, n);
  int32Range(`${name}.inputIds`, inputIds, 0, cfg.vocabSize - 1);
  const attentionMask = batch.attentionMask === undefined ? new Int32Array(n).fill(1) : int32Array(`${name}.attentionMask`, batch.attentionMask, n);
  int32Range(`${name}.attentionMask`, attentionMask, 0, 1);
  const tokenTypeIds = batch.tokenTypeIds === undefined ? new Int32Array(n) : int32Array(`${name}.tokenTypeIds`, batch.tokenTypeIds, n);
  // type_vocab_size 0 (DeBERTa-v3): no token-type embeddings, the ids are ignored (as transformers does).
  if (cfg.typeVocabSize > 0) int32Range(`${name}.tokenTypeIds`, tokenTypeIds, 0, cfg.typeVocabSize - 1);
  const out: NativeBatch = { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen, numChoices };
  const hasTargets = batch.labels !== undefined || batch.startPositions !== undefined;
  if (!hasTargets) {
    if (requireLabels) throw invalidArg(`${name}.${cfg.task === 'question-answering' ? 'startPositions' : 'labels'}`, `targets for a ${cfg.task} model`, undefined);
    return out;
  }
  switch (cfg.task) {
    case 'base':
      throw invalidArg(`${name}.labels`, 'undefined for a base model (it has no head)', batch.labels);
    case 'regression': {
      if (!(batch.labels instanceof Float32Array) || batch.labels.length !== batchSize) throw invalidArg(`${name}.labels`, `a Float32Array of length ${batchSize}`, batch.labels);
      batch.labels.forEach((v, i) => {
        if (!Number.isFinite(v)) throw invalidArg(`${name}.labels[${i}]`, 'a finite number', v);
      });
      out.labels = batch.labels;
      break;
    }
    case 'sequence-classification':
    case 'multiple-choice': {
      const labels = int32Array(`${name}.labels`, batch.labels, batchSize);
      // -100 = ignored, as transformers' CrossEntropyLoss (its ignore_index) does in these heads.
      int32Range(`${name}.labels`, labels, 0, (numChoices ?? cfg.numLabels) - 1, -100);
      out.labels = labels;
      break;
    }
    case 'token-classification':
    case 'masked-lm': {
      const labels = int32Array(`${name}.labels`, batch.labels, n);
      int32Range(`${name}.labels`, labels, 0, (cfg.task === 'masked-lm' ? cfg.vocabSize : cfg.numLabels) - 1, -100);
      out.labels = labels;
      out.tokenLabels = true;
      break;
    }
    case 'question-answering': {
      // Positions past the sequence are allowed: the loss ignores them, as transformers does.
      const s = int32Array(`${name}.startPositions`, batch.startPositions, batchSize);
      const e = int32Array(`${name}.endPositions`, batch.endPositions, batchSize);
      int32Range(`${name}.startPositions`, s, 0, 2 ** 31 - 1);
      int32Range(`${name}.endPositions`, e, 0, 2 ** 31 - 1);
      out.startPositions = s;
      out.endPositions = e;
      break;
    }
  }
  return out;
}
