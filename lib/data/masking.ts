/**
 * Masked-language-model inputs, as transformers' DataCollatorForLanguageModeling and
 * DataCollatorForWholeWordMask build them: 15% of the real, non-special tokens are chosen; of those
 * 80% become the mask token, 10% a random token, 10% stay; labels are the original ids there and
 * -100 elsewhere. Whole-word masking chooses whole words (all their pieces) until 15% of the tokens
 * are covered. Masks are drawn from a seeded generator per (seed, epoch, batch), so each epoch masks
 * anew (dynamic masking) and a resumed run draws the same masks.
 */
import { invalidArg } from '../errors.js';
import * as v from '../validate.js';
import { batchOrder, checkShard, IGNORE_INDEX, type DataShard } from './batching.js';
import { Random } from './random.js';

export interface MaskingOptions {
  /** The mask token's id. */
  maskId: number;
  /** Random replacements are drawn from [0, vocabSize). */
  vocabSize: number;
  /** Ids never masked (CLS, SEP, PAD, ...). */
  specialIds: readonly number[];
  /** Fraction of tokens to predict (default 0.15). */
  probability?: number;
  /** Of the chosen tokens: fraction replaced by the mask token (default 0.8) and by a random one (default 0.1). */
  maskRatio?: number;
  randomRatio?: number;
  /**
   * Whole-word masking: `isContinuation(id)` tells whether a token continues the previous word
   * (WordPiece "##" pieces).
   */
  isContinuation?: (id: number) => boolean;
}

export interface MaskedBatch {
  inputIds: Int32Array;
  labels: Int32Array;
}

/**
 * Masks a padded batch ([batchSize, seqLen] row-major; `attentionMask` 0 at padding).
 *
 * @example
 * ```ts
 * const rng = new Random(seed, epoch * 100_003 + batchIndex);
 * const { inputIds, labels } = maskTokens(batch.inputIds, batch.attentionMask, batch.seqLen, rng, { maskId: 103, vocabSize: 30522, specialIds: [0, 101, 102] });
 * ```
 */
export function maskTokens(ids: Int32Array, attentionMask: Int32Array, seqLen: number, rng: Random, options: MaskingOptions): MaskedBatch {
  const o = v.object('options', options) as unknown as MaskingOptions;
  v.knownKeys('options', o as unknown as Record<string, unknown>, ['maskId', 'vocabSize', 'specialIds', 'probability', 'maskRatio', 'randomRatio', 'isContinuation']);
  const maskId = v.integer('options.maskId', o.maskId, { min: 0 });
  const vocabSize = v.integer('options.vocabSize', o.vocabSize, { min: 1 });
  const p = v.finiteNumber('options.probability', o.probability ?? 0.15, { above: 0, max: 1 });
  const maskRatio = v.finiteNumber('options.maskRatio', o.maskRatio ?? 0.8, { min: 0, max: 1 });
  const randomRatio = v.finiteNumber('options.randomRatio', o.randomRatio ?? 0.1, { min: 0, max: 1 - maskRatio });
  if (ids.length !== attentionMask.length || ids.length % seqLen !== 0) throw invalidArg('attentionMask', `an Int32Array of length ${ids.length} (a multiple of seqLen ${seqLen})`, attentionMask);
  const special = new Set(o.specialIds);
  const inputIds = Int32Array.from(ids);
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  const rows = ids.length / seqLen;
  for (let r = 0; r < rows; r++) {
    const candidates: number[][] = []; // words: lists of positions
    for (let j = 0; j < seqLen; j++) {
      const i = r * seqLen + j;
      if (attentionMask[i] === 0 || special.has(ids[i]!)) continue;
      if (o.isContinuation && candidates.length && o.isContinuation(ids[i]!) && candidates[candidates.length - 1]!.at(-1) === i - 1) candidates[candidates.length - 1]!.push(i);
      else candidates.push([i]);
    }
    const chosen: number[] = [];
    if (o.isContinuation) {
      // DataCollatorForWholeWordMask: shuffle words, take them while the token budget allows.
      const total = candidates.reduce((n, w) => n + w.length, 0);
      const budget = Math.max(1, Math.round(total * p));
      rng.shuffle(candidates);
      for (const word of candidates) {
        if (chosen.length >= budget) break;
        if (chosen.length + word.length > budget) continue;
        chosen.push(...word);
      }
    } else {
      for (const [i] of candidates) if (rng.next() < p) chosen.push(i!);
    }
    for (const i of chosen) {
      labels[i] = ids[i]!;
      const u = rng.next();
      if (u < maskRatio) inputIds[i] = maskId;
      else if (u < maskRatio + randomRatio) inputIds[i] = rng.below(vocabSize);
    }
  }
  return { inputIds, labels };
}

/** Options of {@link MaskedLmBatches}. */
export interface MaskedLmBatchesOptions {
  batchSize: number;
  padId: number;
  seed: number;
  masking: MaskingOptions;
  /** Length bucketing as in batchOrder (default true). */
  bucket?: boolean;
  /**
   * This process's share in data-parallel training: `batchSize` is then per rank, and rank `r` takes rows
   * r, r + W, ... of each batch of `batchSize * W` sequences (W = worldSize), masks included, so the ranks
   * together train on the single-process batches of that size (as BatchLoader's `shard`). A distributed
   * Trainer gives an unsharded MaskedLmBatches its rank's shard itself.
   */
  shard?: DataShard;
}

/**
 * Masked-LM training batches over encoded sequences: a seeded order per epoch and fresh masks per
 * (epoch, batch). Usable as a Trainer's training data (it has `length` and `epoch()`), and resumable.
 *
 * @example
 * ```ts
 * const data = new MaskedLmBatches(encoded, { batchSize: 32, padId: 0, seed: 1, masking: { maskId: 103, vocabSize: 30522, specialIds: [0, 101, 102] } });
 * await trainer.fit(data, { maxSteps: 1000 });
 * ```
 */
export class MaskedLmBatches {
  readonly length: number;
  private readonly items: readonly { ids: number[]; typeIds: number[]; length: number }[];
  private readonly opts: MaskedLmBatchesOptions;

  constructor(items: readonly { ids: number[]; typeIds: number[]; length: number }[], options: MaskedLmBatchesOptions) {
    if (!Array.isArray(items) || items.length === 0) throw invalidArg('items', 'a non-empty array of encoded sequences', items);
    v.integer('options.batchSize', options.batchSize, { min: 1 });
    const shard = options.shard === undefined ? undefined : checkShard(options.shard);
    this.items = items;
    this.opts = { ...options, ...(shard ? { shard } : {}) };
    this.length = Math.ceil(items.length / (options.batchSize * (shard?.worldSize ?? 1)));
  }

  /** This rank's part, when the batches are sharded. */
  get shard(): DataShard | undefined {
    return this.opts.shard && { ...this.opts.shard };
  }

  /** The same batches, as rank `shard.rank` of `shard.worldSize` reads them (see {@link MaskedLmBatchesOptions.shard}). */
  withShard(shard: DataShard): MaskedLmBatches {
    return new MaskedLmBatches(this.items, { ...this.opts, shard });
  }

  *epoch(epoch: number, start = 0): Generator<{ inputIds: Int32Array; attentionMask: Int32Array; tokenTypeIds: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }> {
    const lengths = this.items.map((x) => x.length);
    const spec = { batchSize: this.opts.batchSize, seed: this.opts.seed, bucket: this.opts.bucket ?? true };
    const shard = this.opts.shard;
    // Sharded: the whole batch of every rank (each rank's rows interleaved, the last batch's padding rows
    // included), masked as one, then this rank's rows; so masks do not depend on the world size.
    const order = shard === undefined
      ? batchOrder(lengths, epoch, spec)
      : (() => {
          const parts = Array.from({ length: shard.worldSize }, (_, rank) => batchOrder(lengths, epoch, { ...spec, shard: { rank, worldSize: shard.worldSize } }));
          return parts[0]!.map((_, b) => parts[0]![b]!.flatMap((_, k) => parts.map((p) => p[b]![k]!)));
        })();
    for (let b = start; b < order.length; b++) {
      const rows = order[b]!.map((i) => this.items[i]!);
      const seqLen = Math.max(...rows.map((x) => x.ids.length));
      const ids = new Int32Array(rows.length * seqLen).fill(this.opts.padId);
      const attentionMask = new Int32Array(rows.length * seqLen);
      const tokenTypeIds = new Int32Array(rows.length * seqLen);
      rows.forEach((x, r) => {
        ids.set(x.ids, r * seqLen);
        tokenTypeIds.set(x.typeIds, r * seqLen);
        attentionMask.fill(1, r * seqLen, r * seqLen + x.ids.length);
      });
      // One generator stream per (epoch, batch): dynamic masks, identical after a resume.
      const rng = new Random(this.opts.seed, (epoch * 100_003 + b) >>> 0);
      const masked = maskTokens(ids, attentionMask, seqLen, rng, this.opts.masking);
      const full = { inputIds: masked.inputIds, attentionMask, tokenTypeIds, labels: masked.labels, batchSize: rows.length, seqLen };
      yield shard === undefined ? full : shardRows(full, shard);
    }
  }
}

/** Rows r, r + W, ... of a collated [batchSize, seqLen] masked-LM batch. */
export function shardRows<B extends { inputIds: Int32Array; attentionMask: Int32Array; tokenTypeIds: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }>(b: B, shard: DataShard): B {
  const { rank, worldSize } = shard;
  const rows = Array.from({ length: b.batchSize }, (_, i) => i).filter((i) => i % worldSize === rank);
  const pick = (a: Int32Array) => {
    const out = new Int32Array(rows.length * b.seqLen);
    rows.forEach((i, k) => out.set(a.subarray(i * b.seqLen, (i + 1) * b.seqLen), k * b.seqLen));
    return out;
  };
  return { ...b, inputIds: pick(b.inputIds), attentionMask: pick(b.attentionMask), tokenTypeIds: pick(b.tokenTypeIds), labels: pick(b.labels), batchSize: rows.length };
}
