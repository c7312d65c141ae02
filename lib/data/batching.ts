/**
 * Tokenizer-agnostic batching: encode examples once, then collate index lists into padded typed
 * arrays, in a seeded, resumable order.
 *
 * Padding is dynamic (to the longest sequence of the batch) and on the right; attention mask 1 on
 * tokens, 0 on padding; token type ids 0 on padding.
 */
import { AdvtrainError, invalidArg } from '../errors.js';
import * as v from '../validate.js';
import type { TaggedSentence } from './conll.js';
import type { MultipleChoiceExample } from './choice.js';
import { Random } from './random.js';
import type { TextExample } from './table.js';

/**
 * What an encoder returns for one text or pair: token ids with the special tokens already added, and
 * token type ids. `specialTokensMask` (1 on special tokens) is optional; without it the BERT layout
 * is assumed: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, type 0 up to the first `[SEP]`, 1 after.
 */
export interface TokenIds {
  ids: number[];
  typeIds: number[];
  specialTokensMask?: number[];
}

/** Encodes a text, or a pair of texts, with special tokens. */
export type EncodeFn = (text: string, pair?: string) => TokenIds;

/**
 * Encodes pre-split words (token classification). `wordIds[i]` is the index of the word token `i`
 * comes from, or null for special tokens: what Hugging Face tokenizers call `word_ids()`.
 */
export type EncodeWordsFn = (words: string[]) => { ids: number[]; typeIds: number[]; wordIds: (number | null)[] };

/** Label value ignored by cross-entropy losses (PyTorch's default `ignore_index`). */
export const IGNORE_INDEX = -100;

/** BERT's position limit: the default `maxLength`. */
export const DEFAULT_MAX_LENGTH = 512;

/** An encoded text example; `length` is its token count, for bucketing. */
export interface EncodedText {
  ids: number[];
  typeIds: number[];
  label?: number;
  length: number;
}

/** An encoded multiple-choice example: one encoding per choice; `length` is the longest. */
export interface EncodedChoices {
  choices: TokenIds[];
  label?: number;
  length: number;
}

/** An encoded token-classification example: one label per token, {@link IGNORE_INDEX} where none. */
export interface EncodedTokens {
  ids: number[];
  typeIds: number[];
  labels: number[];
  length: number;
}

/** Padded arrays of `batchSize * seqLen` elements, row-major. */
export interface SequenceBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
  /** Class ids (Int32Array) or regression targets (Float32Array), one per example. */
  labels?: Int32Array | Float32Array;
}

/** Arrays of `batchSize * numChoices * seqLen` elements; `labels` holds one choice index per example. */
export interface MultipleChoiceBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  numChoices: number;
  seqLen: number;
  labels?: Int32Array;
}

/** Like {@link SequenceBatch}, with `batchSize * seqLen` token labels ({@link IGNORE_INDEX} where none). */
export interface TokenClassificationBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
  labels: Int32Array;
}

function checkEncoding(name: string, enc: unknown): TokenIds {
  const e = v.object(name, enc);
  if (!Array.isArray(e.ids)) throw invalidArg(`${name}.ids`, 'an array of token ids', e.ids);
  if (!Array.isArray(e.typeIds) || e.typeIds.length !== e.ids.length) throw invalidArg(`${name}.typeIds`, `an array of length ${e.ids.length}`, e.typeIds);
  if (e.specialTokensMask !== undefined && (!Array.isArray(e.specialTokensMask) || e.specialTokensMask.length !== e.ids.length)) {
    throw invalidArg(`${name}.specialTokensMask`, `an array of length ${e.ids.length}`, e.specialTokensMask);
  }
  return e as unknown as TokenIds;
}

/** Special tokens of the BERT layout: the first token and the last of each run of equal type ids. */
function bertSpecialMask(typeIds: readonly number[]): number[] {
  return typeIds.map((t, i) => (i === 0 || i === typeIds.length - 1 || typeIds[i + 1] !== t ? 1 : 0));
}

/**
 * How many tokens of each text to keep, following Hugging Face tokenizers' `longest_first` for
 * pairs (tokenizers/src/utils/truncation.rs): if the shorter text fits in half the budget the longer
 * gets the rest, otherwise each gets half and the longer one the odd token. This differs from the
 * slow Python tokenizers, which remove one token at a time and so may split odd budgets the other
 * way.
 */
function longestFirst(n1: number, n2: number, budget: number): [number, number] {
  const swap = n1 > n2;
  let short = swap ? n2 : n1;
  let long = short > budget ? short : Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [long, short] : [short, long];
}

/**
 * Truncates an encoding to `maxLength` tokens keeping its special tokens, with `longest_first`
 * between the two texts of a pair (a single text loses tokens from its end). Returns the encoding
 * itself when it fits.
 *
 * @example
 * ```ts
 * // [CLS] a1 a2 a3 [SEP] b1 [SEP] -> [CLS] a1 a2 [SEP] b1 [SEP]
 * truncateEncoding({ ids: [101, 1, 2, 3, 102, 4, 102], typeIds: [0, 0, 0, 0, 0, 1, 1] }, 6, true).ids;
 * ```
 */
export function truncateEncoding(encoding: TokenIds, maxLength: number, pair: boolean): TokenIds {
  v.integer('maxLength', maxLength, { min: 1 });
  const { ids, typeIds } = encoding;
  if (ids.length <= maxLength) return encoding;
  if (pair && !typeIds.some((t) => t !== typeIds[0])) {
    throw new AdvtrainError('Cannot truncate a pair whose token type ids are all equal: let the encoder truncate to maxLength itself', 'ERR_INVALID_ARG');
  }
  const special = encoding.specialTokensMask ?? bertSpecialMask(typeIds);
  // The first token ([CLS]) carries the first text's type id, even when that text is empty.
  const inFirst = (i: number): boolean => !pair || typeIds[i] === typeIds[0];
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < ids.length; i++) {
    if (special[i]) continue;
    if (inFirst(i)) n1++;
    else n2++;
  }
  const numSpecial = ids.length - n1 - n2;
  if (maxLength < numSpecial) throw invalidArg('maxLength', `an integer >= ${numSpecial} (the special tokens alone)`, maxLength);
  let [keep1, keep2] = pair ? longestFirst(n1, n2, maxLength - numSpecial) : [maxLength - numSpecial, 0];
  const out: TokenIds = { ids: [], typeIds: [] };
  if (encoding.specialTokensMask) out.specialTokensMask = [];
  for (let i = 0; i < ids.length; i++) {
    if (!special[i]) {
      if (inFirst(i)) {
        if (keep1 === 0) continue;
        keep1--;
      } else {
        if (keep2 === 0) continue;
        keep2--;
      }
    }
    out.ids.push(ids[i]!);
    out.typeIds.push(typeIds[i]!);
    out.specialTokensMask?.push(special[i]!);
  }
  return out;
}

/** Options of the encode helpers. */
export interface EncodeTextsOptions {
  /** Longest sequence kept, special tokens included (default {@link DEFAULT_MAX_LENGTH}). */
  maxLength?: number;
}

function maxLengthOf(options: EncodeTextsOptions): number {
  const o = v.object('options', options);
  v.knownKeys('options', o, ['maxLength']);
  return o.maxLength === undefined ? DEFAULT_MAX_LENGTH : v.integer('options.maxLength', o.maxLength, { min: 1 });
}

/**
 * Encodes text examples once, truncating any encoding the encoder left longer than `maxLength`.
 *
 * @example
 * ```ts
 * const encoded = encodeTexts(await readGlue('rte', 'rte/train.tsv'), (a, b) => tokenizer.encode(a, b), { maxLength: 128 });
 * ```
 */
export function encodeTexts(examples: readonly TextExample[], encode: EncodeFn, options: EncodeTextsOptions = {}): EncodedText[] {
  const maxLength = maxLengthOf(options);
  return examples.map((ex, i) => {
    const pair = ex.textPair !== undefined;
    const enc = truncateEncoding(checkEncoding(`encode(examples[${i}])`, pair ? encode(ex.text, ex.textPair) : encode(ex.text)), maxLength, pair);
    const out: EncodedText = { ids: enc.ids, typeIds: enc.typeIds, length: enc.ids.length };
    if (ex.label !== undefined) out.label = ex.label;
    return out;
  });
}

/**
 * Encodes multiple-choice examples: each choice as the pair (context, choice).
 *
 * @example
 * ```ts
 * const encoded = encodeChoices(await readMultipleChoice('hellaswag.jsonl'), encode, { maxLength: 128 });
 * ```
 */
export function encodeChoices(examples: readonly MultipleChoiceExample[], encode: EncodeFn, options: EncodeTextsOptions = {}): EncodedChoices[] {
  const maxLength = maxLengthOf(options);
  return examples.map((ex, i) => {
    const choices = ex.choices.map((c, j) => truncateEncoding(checkEncoding(`encode(examples[${i}].choices[${j}])`, encode(ex.context, c)), maxLength, true));
    const out: EncodedChoices = { choices, length: Math.max(...choices.map((c) => c.ids.length)) };
    if (ex.label !== undefined) out.label = ex.label;
    return out;
  });
}

/**
 * Token labels from word labels: the first token of each word gets its word's label, special tokens
 * and the other sub-words of a word get {@link IGNORE_INDEX} (Hugging Face's `run_ner` default).
 *
 * @example
 * ```ts
 * // [CLS] Paris Hil ##ton [SEP], words ['Paris', 'Hilton'] tagged [3, 4]
 * alignTokenLabels([3, 4], [null, 0, 1, 1, null]); // [-100, 3, 4, -100, -100]
 * ```
 */
export function alignTokenLabels(wordLabels: readonly number[], wordIds: readonly (number | null)[]): number[] {
  return wordIds.map((w, i) => {
    if (w === null || (i > 0 && wordIds[i - 1] === w)) return IGNORE_INDEX;
    const label = wordLabels[w];
    if (label === undefined) throw invalidArg(`wordIds[${i}]`, `a word index in [0, ${wordLabels.length - 1}] or null`, w);
    return label;
  });
}

/**
 * Encodes tagged sentences for token classification: tags become ids through `tagList` (see
 * `buildTagList`), aligned to the first sub-word of each word; sequences longer than `maxLength` lose
 * words from the end, special tokens kept.
 *
 * @example
 * ```ts
 * const train = await readConll('wnut17/train.conll');
 * const encoded = encodeTagged(train, (words) => tokenizer.encodeWords(words), buildTagList(train), { maxLength: 128 });
 * ```
 */
export function encodeTagged(
  sentences: readonly TaggedSentence[],
  encodeWords: EncodeWordsFn,
  tagList: readonly string[],
  options: EncodeTextsOptions = {},
): EncodedTokens[] {
  const maxLength = maxLengthOf(options);
  const tagId = new Map(tagList.map((t, i) => [t, i]));
  return sentences.map((s, i) => {
    const wordLabels = s.tags.map((tag, j) => {
      const id = tagId.get(tag);
      if (id === undefined) throw invalidArg(`sentences[${i}].tags[${j}]`, 'a tag of tagList', tag);
      return id;
    });
    const name = `encodeWords(sentences[${i}].tokens)`;
    const enc = encodeWords(s.tokens);
    checkEncoding(name, enc);
    if (!Array.isArray(enc.wordIds) || enc.wordIds.length !== enc.ids.length) throw invalidArg(`${name}.wordIds`, `an array of length ${enc.ids.length}`, enc.wordIds);
    let labels = alignTokenLabels(wordLabels, enc.wordIds);
    let { ids, typeIds } = enc;
    if (ids.length > maxLength) {
      const specials = enc.wordIds.filter((w) => w === null).length;
      if (specials > maxLength) throw invalidArg('options.maxLength', `an integer >= ${specials} (the special tokens alone)`, maxLength);
      // Keep every special token and the first `maxLength - specials` others.
      const keep: boolean[] = [];
      let budget = maxLength - specials;
      for (const w of enc.wordIds) {
        keep.push(w === null || budget > 0);
        if (w !== null && budget > 0) budget--;
      }
      ids = ids.filter((_, k) => keep[k]);
      typeIds = typeIds.filter((_, k) => keep[k]);
      labels = labels.filter((_, k) => keep[k]);
    }
    return { ids, typeIds, labels, length: ids.length };
  });
}

/** Fills `batchSize * seqLen` padded arrays from token rows. */
function pad(rows: readonly { ids: readonly number[]; typeIds: readonly number[] }[], seqLen: number, padId: number) {
  const n = rows.length * seqLen;
  const inputIds = new Int32Array(n).fill(padId);
  const attentionMask = new Int32Array(n);
  const tokenTypeIds = new Int32Array(n);
  rows.forEach((r, b) => {
    const o = b * seqLen;
    inputIds.set(r.ids, o);
    tokenTypeIds.set(r.typeIds, o);
    attentionMask.fill(1, o, o + r.ids.length);
  });
  return { inputIds, attentionMask, tokenTypeIds };
}

function checkItems(items: readonly unknown[]): void {
  if (!Array.isArray(items) || items.length === 0) throw invalidArg('items', 'a non-empty array', items);
}

function checkPadId(padId: unknown): number {
  return v.integer('options.padId', padId, { min: 0 });
}

/** Labels of a batch: all present (an array) or all absent (undefined). */
function gatherLabels(items: readonly { label?: number }[], integer: boolean): number[] | undefined {
  if (items[0]!.label === undefined) {
    const i = items.findIndex((x) => x.label !== undefined);
    if (i !== -1) throw invalidArg(`items[0].label`, `a label (items[${i}] has one)`, undefined);
    return undefined;
  }
  return items.map((x, i) => {
    if (x.label === undefined) throw invalidArg(`items[${i}].label`, 'a label (items[0] has one)', undefined);
    return integer ? v.integer(`items[${i}].label`, x.label, { min: 0 }) : v.finiteNumber(`items[${i}].label`, x.label);
  });
}

/** Options of {@link collateTexts}. */
export interface CollateTextOptions {
  padId: number;
  /** Int32 class labels (default) or Float32 regression targets. */
  task?: 'classification' | 'regression';
}

/**
 * Pads encoded texts to the batch's longest sequence.
 *
 * @example
 * ```ts
 * const batch = collateTexts(encoded.slice(0, 32), { padId: 0 });
 * batch.inputIds.length === batch.batchSize * batch.seqLen; // true
 * ```
 */
export function collateTexts(items: readonly EncodedText[], options: CollateTextOptions): SequenceBatch {
  checkItems(items);
  const o = v.object('options', options);
  v.knownKeys('options', o, ['padId', 'task']);
  const padId = checkPadId(o.padId);
  const task = o.task === undefined ? 'classification' : v.oneOf('options.task', o.task, ['classification', 'regression'] as const);
  const seqLen = Math.max(...items.map((x) => x.ids.length));
  const batch: SequenceBatch = { ...pad(items, seqLen, padId), batchSize: items.length, seqLen };
  const labels = gatherLabels(items, task === 'classification');
  if (labels) batch.labels = task === 'classification' ? Int32Array.from(labels) : Float32Array.from(labels);
  return batch;
}

/**
 * Pads encoded multiple-choice examples: every choice of every example to the longest in the batch.
 *
 * @example
 * ```ts
 * const batch = collateChoices(encoded.slice(0, 8), { padId: 0 });
 * batch.inputIds.length === batch.batchSize * batch.numChoices * batch.seqLen; // true
 * ```
 */
export function collateChoices(items: readonly EncodedChoices[], options: { padId: number }): MultipleChoiceBatch {
  checkItems(items);
  const o = v.object('options', options);
  v.knownKeys('options', o, ['padId']);
  const padId = checkPadId(o.padId);
  const numChoices = items[0]!.choices.length;
  items.forEach((x, i) => {
    if (x.choices.length !== numChoices) throw invalidArg(`items[${i}].choices`, `an array of length ${numChoices} (as items[0].choices)`, x.choices);
  });
  const seqLen = Math.max(...items.map((x) => x.length));
  const batch: MultipleChoiceBatch = { ...pad(items.flatMap((x) => x.choices), seqLen, padId), batchSize: items.length, numChoices, seqLen };
  const labels = gatherLabels(items, true);
  if (labels) {
    labels.forEach((l, i) => v.integer(`items[${i}].label`, l, { max: numChoices - 1 }));
    batch.labels = Int32Array.from(labels);
  }
  return batch;
}

/**
 * Pads encoded token-classification examples; padding gets label {@link IGNORE_INDEX}.
 *
 * @example
 * ```ts
 * const batch = collateTagged(encoded.slice(0, 16), { padId: 0 });
 * batch.labels.length === batch.batchSize * batch.seqLen; // true
 * ```
 */
export function collateTagged(items: readonly EncodedTokens[], options: { padId: number }): TokenClassificationBatch {
  checkItems(items);
  const o = v.object('options', options);
  v.knownKeys('options', o, ['padId']);
  const padId = checkPadId(o.padId);
  const seqLen = Math.max(...items.map((x) => x.ids.length));
  const labels = new Int32Array(items.length * seqLen).fill(IGNORE_INDEX);
  items.forEach((x, b) => labels.set(x.labels, b * seqLen));
  return { ...pad(items, seqLen, padId), batchSize: items.length, seqLen, labels };
}

/** How an epoch's batches are formed and ordered. */
export interface BatchOrderOptions {
  batchSize: number;
  /** Seed of the shuffles (default 0); the same seed and epoch give the same order everywhere. */
  seed?: number;
  /** Shuffle examples, and batches when bucketing (default true). */
  shuffle?: boolean;
  /**
   * Length bucketing: `true` or a number of batches per chunk (true = 100). Shuffled examples are
   * cut into chunks of `bucket * batchSize`, sorted by length (longest first) within each chunk and
   * batched, so a batch holds similar lengths and pads little; then the batch order is shuffled.
   */
  bucket?: boolean | number;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /**
   * This process's share of the data in data-parallel training (as torch's DistributedSampler):
   * `batchSize` is then the batch size of each rank, and rank `r` takes positions r, r + W, r + 2W, ...
   * of each batch of the single-process order with batch size `W * batchSize` (W = worldSize). The
   * one incomplete global batch is padded with the first indices of the epoch's shuffled permutation to
   * a multiple of W, so every rank gets as many batches, of equal sizes; with `dropLast` it is dropped.
   */
  shard?: DataShard;
}

/**
 * Which rank of how many this process is.
 *
 * @example
 * ```ts
 * // Rank 1 of 4, 8 examples each: batch i is every 4th example of the 32-example batch i, from the second.
 * batchOrder(lengths, epoch, { batchSize: 8, seed: 42, shard: { rank: 1, worldSize: 4 } });
 * ```
 */
export interface DataShard {
  rank: number;
  worldSize: number;
}

/** Batches per chunk when `bucket` is true. */
const DEFAULT_BUCKET_BATCHES = 100;

interface OrderSpec {
  batchSize: number;
  seed: number;
  shuffle: boolean;
  bucket: number;
  dropLast: boolean;
  shard?: DataShard;
}

export function checkShard(value: unknown): DataShard {
  const o = v.object('options.shard', value);
  v.knownKeys('options.shard', o, ['rank', 'worldSize']);
  const worldSize = v.integer('options.shard.worldSize', o.worldSize, { min: 1 });
  return { rank: v.integer('options.shard.rank', o.rank, { min: 0, max: worldSize - 1 }), worldSize };
}

function checkOrder(options: unknown): OrderSpec {
  const o = v.object('options', options);
  v.knownKeys('options', o, ['batchSize', 'seed', 'shuffle', 'bucket', 'dropLast', 'shard']);
  const bucket = o.bucket === undefined || o.bucket === false ? 0 : o.bucket === true ? DEFAULT_BUCKET_BATCHES : v.integer('options.bucket', o.bucket, { min: 1 });
  return {
    batchSize: v.integer('options.batchSize', o.batchSize, { min: 1 }),
    seed: o.seed === undefined ? 0 : v.integer('options.seed', o.seed, { min: 0, max: 0xffffffff }),
    shuffle: o.shuffle === undefined ? true : v.boolean('options.shuffle', o.shuffle),
    bucket,
    dropLast: o.dropLast === undefined ? false : v.boolean('options.dropLast', o.dropLast),
    ...(o.shard === undefined ? {} : { shard: checkShard(o.shard) }),
  };
}

/** Batches of an epoch across all ranks: `spec.batchSize` times the world size. */
function globalBatchSize(spec: OrderSpec): number {
  return spec.batchSize * (spec.shard?.worldSize ?? 1);
}

function order(lengths: readonly number[], epoch: number, spec: OrderSpec): number[][] {
  if (spec.shard === undefined) return singleOrder(lengths, epoch, spec).batches;
  const { rank, worldSize } = spec.shard;
  const { perm, batches } = singleOrder(lengths, epoch, { ...spec, batchSize: globalBatchSize(spec) });
  return batches.map((batch) => {
    const short = (worldSize - (batch.length % worldSize)) % worldSize;
    // Cycling for datasets smaller than the padding, as DistributedSampler does.
    const rows = short === 0 ? batch : [...batch, ...Array.from({ length: short }, (_, i) => perm[i % perm.length]!)];
    return rows.filter((_, i) => i % worldSize === rank);
  });
}

/** The single-process order, and the shuffled permutation it cuts into batches. */
function singleOrder(lengths: readonly number[], epoch: number, spec: OrderSpec): { perm: number[]; batches: number[][] } {
  const rng = new Random(spec.seed, epoch);
  const perm = Array.from(lengths, (_, i) => i);
  if (spec.shuffle) rng.shuffle(perm);
  const { batchSize } = spec;
  const batches: number[][] = [];
  const chunk = spec.bucket > 0 ? spec.bucket * batchSize : perm.length;
  for (let c = 0; c < perm.length; c += chunk) {
    const part = perm.slice(c, c + chunk);
    // Array.prototype.sort is stable, so equal lengths keep their shuffled order.
    if (spec.bucket > 0) part.sort((a, b) => lengths[b]! - lengths[a]!);
    for (let b = 0; b < part.length; b += batchSize) batches.push(part.slice(b, b + batchSize));
  }
  if (spec.dropLast && batches.length > 0 && batches[batches.length - 1]!.length < batchSize) batches.pop();
  if (spec.shuffle && spec.bucket > 0) rng.shuffle(batches);
  return { perm, batches };
}

/**
 * The batches of one epoch as lists of example indices. A pure function of (lengths, epoch,
 * options): with the same seed it gives the same order on every platform. With `shard`, this rank's
 * batches (see {@link BatchOrderOptions.shard}).
 *
 * @example
 * ```ts
 * batchOrder([5, 9, 3, 7, 2, 8], 0, { batchSize: 2, shuffle: false, bucket: true }); // [[1, 5], [3, 0], [2, 4]]
 * batchOrder([5, 9, 3, 7, 2, 8], 3, { batchSize: 2, seed: 42 }); // shuffled, the same everywhere
 * // Two ranks, 2 examples each: batch i of the 4-example order, split by position; 6 = 4 + 2 needs no padding.
 * batchOrder([5, 9, 3, 7, 2, 8], 0, { batchSize: 2, shuffle: false, shard: { rank: 0, worldSize: 2 } }); // [[0, 2], [4]]
 * batchOrder([5, 9, 3, 7, 2, 8], 0, { batchSize: 2, shuffle: false, shard: { rank: 1, worldSize: 2 } }); // [[1, 3], [5]]
 * ```
 */
export function batchOrder(lengths: readonly number[], epoch: number, options: BatchOrderOptions): number[][] {
  v.integer('epoch', epoch, { min: 0, max: 0xffffffff });
  return order(lengths, epoch, checkOrder(options));
}

/** Where a batch sits in training: resume from here with {@link BatchLoader.epoch}. */
export interface BatchPosition {
  epoch: number;
  batchIndex: number;
}

/** A collated batch with its position. */
export interface LoaderStep<B> extends BatchPosition {
  batch: B;
}

/**
 * Serves collated batches epoch by epoch in a seeded order, and resumes exactly from any
 * (epoch, batchIndex): the order of an epoch depends only on the seed, the epoch and the items.
 * Batches are collated lazily, as they are reached.
 *
 * @example
 * ```ts
 * const loader = new BatchLoader(encodeTexts(train, encode, { maxLength: 128 }), (xs) => collateTexts(xs, { padId: 0 }), {
 *   batchSize: 32, seed: 42, bucket: true,
 * });
 * for (const { epoch, batchIndex, batch } of loader.iterate(3, saved ?? { epoch: 0, batchIndex: 0 })) {
 *   await trainer.step(batch); // checkpoint { epoch, batchIndex: batchIndex + 1 } to resume after it
 * }
 * // Data-parallel: each of 4 ranks reads 8 examples a batch; together they read the 32-example batches above.
 * const shard = new BatchLoader(encoded, collate, { batchSize: 8, seed: 42, bucket: true, shard: { rank, worldSize: 4 } });
 * ```
 */
export class BatchLoader<T extends { readonly length: number }, B> {
  /** Batches in each epoch. */
  readonly batchesPerEpoch: number;
  private readonly items: readonly T[];
  private readonly lengths: number[];
  private readonly spec: OrderSpec;
  private readonly collate: (items: T[]) => B;

  constructor(items: readonly T[], collate: (items: T[]) => B, options: BatchOrderOptions) {
    if (!Array.isArray(items)) throw invalidArg('items', 'an array', items);
    if (typeof collate !== 'function') throw invalidArg('collate', 'a function', collate);
    this.spec = checkOrder(options);
    this.items = items;
    this.lengths = items.map((x) => x.length);
    this.collate = collate;
    const global = globalBatchSize(this.spec);
    const full = Math.floor(items.length / global);
    this.batchesPerEpoch = this.spec.dropLast || items.length % global === 0 ? full : full + 1;
  }

  /** Items per batch, on this rank when sharded (one batch of an epoch may hold fewer). */
  get batchSize(): number {
    return this.spec.batchSize;
  }

  /** This process's rank and the world size, when the loader serves a shard. */
  get shard(): DataShard | undefined {
    return this.spec.shard && { ...this.spec.shard };
  }

  /**
   * The same items, collation and options, serving `shard` (the per-rank batch size stays
   * `batchSize`): for a trainer that shards a loader its caller built for one process.
   *
   * @example
   * ```ts
   * const mine = loader.withShard({ rank: group.rank, worldSize: group.worldSize });
   * ```
   */
  withShard(shard: DataShard): BatchLoader<T, B> {
    const { batchSize, seed, shuffle, bucket, dropLast } = this.spec;
    return new BatchLoader(this.items, this.collate, { batchSize, seed, shuffle, bucket: bucket > 0 ? bucket : false, dropLast, shard });
  }

  /** The batches of `epoch` as index lists. */
  order(epoch: number): number[][] {
    v.integer('epoch', epoch, { min: 0, max: 0xffffffff });
    return order(this.lengths, epoch, this.spec);
  }

  /** The batches of `epoch`, starting at batch `fromBatch` (to resume). */
  *epoch(epoch: number, fromBatch = 0): Generator<LoaderStep<B>> {
    const batches = this.order(epoch);
    v.integer('fromBatch', fromBatch, { min: 0, max: batches.length });
    for (let b = fromBatch; b < batches.length; b++) {
      yield { epoch, batchIndex: b, batch: this.collate(batches[b]!.map((i) => this.items[i]!)) };
    }
  }

  /** Every batch from `from` up to the end of epoch `epochs - 1`. */
  *iterate(epochs: number, from: BatchPosition = { epoch: 0, batchIndex: 0 }): Generator<LoaderStep<B>> {
    v.integer('epochs', epochs, { min: 0 });
    const start = v.object('from', from);
    const first = v.integer('from.epoch', start.epoch, { min: 0 });
    v.integer('from.batchIndex', start.batchIndex, { min: 0 });
    for (let e = first; e < epochs; e++) yield* this.epoch(e, e === first ? from.batchIndex : 0);
  }
}
