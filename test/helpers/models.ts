/** Tiny seeded models and batches for native tests. */
import { Random } from '../../lib/data/random.js';
import type { LabeledBatch } from '../../lib/model/batch.js';
import type { ModelType, Task } from '../../lib/model/config.js';

export function tinyConfig(modelType: ModelType = 'bert', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    model_type: modelType,
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 48,
    max_position_embeddings: modelType === 'roberta' ? 34 : 32,
    type_vocab_size: modelType === 'roberta' ? 1 : 2,
    pad_token_id: modelType === 'roberta' ? 1 : 0,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
  };
  if (modelType === 'electra' || modelType === 'albert') base.embedding_size = 16;
  return { ...base, ...extra };
}

/** A seeded generator of floats in [0, 1) for test inputs. */
export function rng(seed: number): () => number {
  const r = new Random(seed, 0);
  return () => r.next();
}

/** Random right-padded batch; `lengths` gives each row's real tokens. Labels fit `task`. */
export function randomBatch(opts: { task: Task; lengths: number[]; seqLen: number; vocab?: number; numLabels?: number; numChoices?: number; pad?: number; seed?: number; types?: boolean }): LabeledBatch {
  const { task, lengths, seqLen } = opts;
  const vocab = opts.vocab ?? 60;
  const pad = opts.pad ?? 0;
  const r = rng(opts.seed ?? 1);
  const rows = lengths.length;
  const numChoices = opts.numChoices;
  const batchSize = numChoices ? rows / numChoices : rows;
  const inputIds = new Int32Array(rows * seqLen).fill(pad);
  const attentionMask = new Int32Array(rows * seqLen);
  const tokenTypeIds = new Int32Array(rows * seqLen);
  lengths.forEach((len, i) => {
    for (let j = 0; j < len; j++) {
      inputIds[i * seqLen + j] = 3 + Math.floor(r() * (vocab - 3));
      attentionMask[i * seqLen + j] = 1;
      if (opts.types && j >= Math.ceil(len / 2)) tokenTypeIds[i * seqLen + j] = 1;
    }
  });
  const b: LabeledBatch = { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen, numChoices };
  const k = opts.numLabels ?? 3;
  if (task === 'sequence-classification') b.labels = Int32Array.from({ length: batchSize }, () => Math.floor(r() * k));
  if (task === 'multiple-choice') b.labels = Int32Array.from({ length: batchSize }, () => Math.floor(r() * numChoices!));
  if (task === 'regression') b.labels = Float32Array.from({ length: batchSize }, () => r() * 4 - 2);
  if (task === 'token-classification' || task === 'masked-lm') {
    const labels = new Int32Array(rows * seqLen).fill(-100);
    lengths.forEach((len, i) => {
      for (let j = 1; j < len; j++) if (task === 'token-classification' || r() < 0.3) labels[i * seqLen + j] = Math.floor(r() * (task === 'masked-lm' ? vocab : k));
      if (task === 'masked-lm') labels[i * seqLen] = Math.floor(r() * vocab); // at least one labeled token per row
    });
    b.labels = labels;
  }
  if (task === 'question-answering') {
    b.startPositions = Int32Array.from(lengths, (len) => Math.floor(r() * len));
    b.endPositions = Int32Array.from(b.startPositions, (s, i) => Math.min(lengths[i]! - 1, s + 2));
  }
  return b;
}

/** Cosine of two vectors, computed plainly (tests recheck the library's own similarity with it). */
export function cosineOf(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let d = 0; d < x.length; d++) {
    xy += x[d]! * y[d]!;
    xx += x[d]! * x[d]!;
    yy += y[d]! * y[d]!;
  }
  return xy / Math.sqrt(xx * yy);
}

/** A word's vector as the word attacks define it: the mean input embedding of its pieces. */
export async function wordVectors(model: { wordEmbeddings(): Promise<Float32Array>; config: { embeddingSize: number } }, tok: { encode(text: string): { ids: number[]; sequenceIds: (number | null)[] } }): Promise<(word: string) => number[]> {
  const E = await model.wordEmbeddings();
  const D = model.config.embeddingSize;
  return (w) => {
    const e = tok.encode(w);
    const ids = e.ids.filter((_, i) => e.sequenceIds[i] !== null);
    return Array.from({ length: D }, (_, d) => ids.reduce((s, id) => s + E[id * D + d]!, 0) / ids.length);
  };
}
