/**
 * Extractive question answering (SQuAD v1.1) as transformers' examples/pytorch/question-answering:
 * features as run_qa.py's `prepare_train_features` / `prepare_validation_features` (question + context
 * windows overlapping by `docStride` tokens, the answer's token positions, offsets kept), span decoding
 * as utils_qa.py's `postprocess_qa_predictions` (n-best start and end logits, the best valid span over
 * all windows of an example), scored with the official exact match and F1 (`squadScores`).
 */
import type { SquadExample } from '../data/squad.js';
import { collateTexts } from '../data/batching.js';
import { allGatherSettled, checkCollectives, type Collectives } from '../distributed/collectives.js';
import { AdvtrainError, invalidArg } from '../errors.js';
import { squadScores } from '../metrics/squad.js';
import type { Model } from '../model/model.js';
import { Tokenizer } from '../tokenizer/tokenizer.js';
import * as v from '../validate.js';

/**
 * run_qa.py's defaults: `max_seq_length`, `doc_stride`, `n_best_size`, `max_answer_length`.
 *
 * @example
 * ```ts
 * prepareQaFeatures(tokenizer, dev, { maxLength: QA_DEFAULTS.maxLength, docStride: 64 });
 * ```
 */
export const QA_DEFAULTS = Object.freeze({ maxLength: 384, docStride: 128, nBest: 20, maxAnswerLength: 30 });

/** Options of {@link prepareQaFeatures}. */
export interface QaFeatureOptions {
  /** Tokens per window, special tokens and question included (default 384). */
  maxLength?: number;
  /** Context tokens a window shares with the previous one (default 128); below the window's context budget. */
  docStride?: number;
}

/** One window of an example: `[CLS] question [SEP] context part [SEP]`, with its training targets. */
export interface QaFeature {
  /** Index of the example (in the array given to {@link prepareQaFeatures}) the window comes from. */
  exampleIndex: number;
  ids: number[];
  typeIds: number[];
  /** [start, end) UTF-16 offsets into the example's context for context tokens; null for question and special tokens. */
  offsets: Array<[number, number] | null>;
  /** First and last token of the first gold answer, or the [CLS] index when this window does not hold the whole answer. */
  startPosition: number;
  endPosition: number;
  /** Token count, for length bucketing. */
  length: number;
}

/** A padded batch of features: the model inputs plus the answer positions. */
export interface QaBatch {
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
  startPositions: Int32Array;
  endPositions: Int32Array;
}

/** Start and end logits of one feature, at least `feature.length` each. */
export interface QaLogits {
  start: ArrayLike<number>;
  end: ArrayLike<number>;
}

/** Options of {@link decodeQaSpans}. */
export interface QaDecodeOptions {
  /** Start and end candidates per window, the highest logits first (default 20). */
  nBest?: number;
  /** Longest answer in tokens (default 30). */
  maxAnswerLength?: number;
}

/** Options of {@link predictQa} and {@link evaluateQa}. */
export interface QaPredictOptions extends QaDecodeOptions {
  /** Features per forward pass (default 32). */
  batchSize?: number;
  /**
   * Shares the forward passes between the ranks of a process group: batch i (features i * batchSize
   * onwards) runs on rank i % worldSize, the ranks gather every feature's start and end logits (4
   * bytes per logit, 8 per token of every feature, to every rank) and each decodes all the examples,
   * so every rank returns the single-process result. All ranks must call with the same features.
   */
  collectives?: Collectives;
}

/** The answer chosen for one example. */
export interface QaPrediction {
  id: string;
  /** `context.slice(start, end)`; '' when no window has a valid span. */
  text: string;
  start: number;
  end: number;
  /** Start logit + end logit of the span; -Infinity when no window has a valid span. */
  score: number;
}

function checkTokenizer(tokenizer: unknown): Tokenizer {
  if (!(tokenizer instanceof Tokenizer)) throw invalidArg('tokenizer', 'a Tokenizer (from loadTokenizer)', tokenizer);
  return tokenizer;
}

function checkExamples(examples: unknown): readonly SquadExample[] {
  if (!Array.isArray(examples)) throw invalidArg('examples', 'an array of SQuAD examples (readSquad)', examples);
  return examples as SquadExample[];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/**
 * Splits question + context pairs into windows of at most `maxLength` tokens, as transformers' fast
 * tokenizers do with `truncation='only_second', stride=docStride, return_overflowing_tokens=True`:
 * each window holds the whole question and `maxLength - question - special tokens` context tokens,
 * the next one starts `docStride` tokens before the previous one ends, and the last one ends with the
 * context. The first window is exactly `tokenizer.encode([question, context], { maxLength, truncation:
 * 'only_second' })`. Questions lose their leading whitespace, as in run_qa.py.
 *
 * Answer positions follow `prepare_train_features` with the first gold answer: its first and last
 * token when the window holds all of it, else the [CLS] index for both (also for an example without
 * answers). Offsets follow `prepare_validation_features`: null outside the context.
 *
 * Needs token offsets, which advtrain computes for BERT WordPiece, byte-level BPE (RoBERTa) and SentencePiece Unigram (DeBERTa-v3, ALBERT)
 * tokenizers. A question that
 * leaves no room for the context, or a `docStride` not below a window's context budget, is an
 * `ERR_INVALID_ARG` naming the example.
 *
 * @example
 * ```ts
 * const dev = await readSquad('squad/dev-v1.1.json');
 * const features = prepareQaFeatures(tokenizer, dev, { maxLength: 384, docStride: 128 });
 * features.length >= dev.length; // true: long contexts give several windows
 * ```
 */
export function prepareQaFeatures(tokenizer: Tokenizer, examples: readonly SquadExample[], options: QaFeatureOptions = {}): QaFeature[] {
  const tok = checkTokenizer(tokenizer);
  checkExamples(examples);
  const o = v.object('options', options);
  v.knownKeys('options', o, ['maxLength', 'docStride']);
  const maxLength = o.maxLength === undefined ? QA_DEFAULTS.maxLength : v.integer('options.maxLength', o.maxLength, { min: 1 });
  const docStride = o.docStride === undefined ? QA_DEFAULTS.docStride : v.integer('options.docStride', o.docStride, { min: 0 });
  if (tok.encode(['a', 'b']).offsets === undefined) {
    throw new AdvtrainError(
      `Expected a tokenizer with token offsets for question answering (answers are found through them; advtrain computes them for BERT WordPiece, byte-level BPE and SentencePiece Unigram pipelines) but received one built from ${tok.source} without offsets`,
      'ERR_INVALID_ARG',
    );
  }
  const out: QaFeature[] = [];
  examples.forEach((ex, exampleIndex) => {
    const name = `examples[${exampleIndex}]`;
    const e = v.object(name, ex);
    if (typeof e.question !== 'string') throw invalidArg(`${name}.question`, 'a string', e.question);
    if (typeof e.context !== 'string') throw invalidArg(`${name}.context`, 'a string', e.context);
    if (!Array.isArray(e.answers)) throw invalidArg(`${name}.answers`, 'an array of { text, start }', e.answers);
    const full = tok.encode([ex.question.replace(/^\s+/, ''), ex.context]);
    const n = full.ids.length;
    const ctx = full.sequenceIds.flatMap((s, i) => (s === 1 ? [i] : []));
    // The context tokens are contiguous: everything before them is [CLS] question [SEP], after them [SEP].
    const head = ctx.length > 0 ? ctx[0]! : n;
    const tail = ctx.length > 0 ? ctx[ctx.length - 1]! + 1 : n;
    const windows: Array<[number, number]> = [];
    if (n <= maxLength) {
      windows.push([0, ctx.length]);
    } else {
      const budget = maxLength - (n - ctx.length);
      if (budget <= 0) {
        throw invalidArg(`${name}.question`, `a question that leaves room for context tokens within maxLength ${maxLength} (with the special tokens it takes ${n - ctx.length})`, ex.question);
      }
      if (docStride >= budget) {
        throw invalidArg('options.docStride', `an integer below ${budget}, the context tokens per window of ${name} (maxLength ${maxLength} less its question and special tokens)`, docStride);
      }
      for (let start = 0; ; start += budget - docStride) {
        const stop = Math.min(start + budget, ctx.length);
        windows.push([start, stop]);
        if (stop === ctx.length) break;
      }
    }
    const answer = ex.answers[0];
    for (const [a, b] of windows) {
      const index = [...range(0, head), ...range(head + a, head + b), ...range(tail, n)];
      const ids = index.map((k) => full.ids[k]!);
      const offsets = index.map((k) => (full.sequenceIds[k] === 1 ? full.offsets![k]! : null));
      const cls = Math.max(0, ids.indexOf(tok.special.cls.id));
      let startPosition = cls;
      let endPosition = cls;
      if (answer !== undefined && b > a) {
        const startChar = answer.start;
        const endChar = answer.start + answer.text.length;
        const first = head;
        const last = head + (b - a) - 1;
        if (offsets[first]![0] <= startChar && offsets[last]![1] >= endChar) {
          // The last token starting at or before the answer, the first ending at or after it.
          startPosition = last;
          while (offsets[startPosition]![0] > startChar) startPosition--;
          endPosition = first;
          while (offsets[endPosition]![1] < endChar) endPosition++;
        }
      }
      out.push({ exampleIndex, ids, typeIds: index.map((k) => full.typeIds[k]!), offsets, startPosition, endPosition, length: ids.length });
    }
  });
  return out;
}

/**
 * Pads features to the longest in the batch, with their answer positions.
 *
 * @example
 * ```ts
 * const loader = new BatchLoader(features, (xs) => collateQa(xs, { padId: tokenizer.special.pad.id }), { batchSize: 12, seed: 42 });
 * await trainer.fit(loader, { epochs: 2 });
 * ```
 */
export function collateQa(features: readonly QaFeature[], options: { padId: number }): QaBatch {
  if (!Array.isArray(features) || features.length === 0) throw invalidArg('features', 'a non-empty array of QA features', features);
  const o = v.object('options', options);
  v.knownKeys('options', o, ['padId']);
  const batch = collateTexts(
    features.map((f) => ({ ids: f.ids, typeIds: f.typeIds, length: f.length })),
    { padId: o.padId as number },
  );
  const positions = (key: 'startPosition' | 'endPosition') =>
    Int32Array.from(features, (f, i) => v.integer(`features[${i}].${key}`, f[key], { min: 0, max: f.length - 1 }));
  return {
    inputIds: batch.inputIds,
    attentionMask: batch.attentionMask,
    tokenTypeIds: batch.tokenTypeIds,
    batchSize: batch.batchSize,
    seqLen: batch.seqLen,
    startPositions: positions('startPosition'),
    endPositions: positions('endPosition'),
  };
}

/** Indices of the `k` largest values among the first `length`, largest first (ties: lower index first). */
function topIndices(values: ArrayLike<number>, length: number, k: number): number[] {
  return range(0, length)
    .sort((a, b) => values[b]! - values[a]! || a - b)
    .slice(0, k);
}

function decodeOptions(options: unknown, keys: readonly string[]): { nBest: number; maxAnswerLength: number; batchSize: number; collectives?: Collectives } {
  const o = v.object('options', options);
  v.knownKeys('options', o, keys);
  return {
    nBest: o.nBest === undefined ? QA_DEFAULTS.nBest : v.integer('options.nBest', o.nBest, { min: 1 }),
    maxAnswerLength: o.maxAnswerLength === undefined ? QA_DEFAULTS.maxAnswerLength : v.integer('options.maxAnswerLength', o.maxAnswerLength, { min: 1 }),
    batchSize: o.batchSize === undefined ? 32 : v.integer('options.batchSize', o.batchSize, { min: 1 }),
    ...(o.collectives === undefined ? {} : { collectives: checkCollectives('options.collectives', o.collectives) }),
  };
}

const PREDICT_KEYS = ['nBest', 'maxAnswerLength', 'batchSize', 'collectives'];

function decode(examples: readonly SquadExample[], features: readonly QaFeature[], logits: readonly QaLogits[], nBest: number, maxAnswerLength: number): QaPrediction[] {
  const best: Array<QaPrediction | undefined> = new Array(examples.length);
  features.forEach((f, i) => {
    const ex = examples[f.exampleIndex];
    if (ex === undefined) throw invalidArg(`features[${i}].exampleIndex`, `an index of examples (0 to ${examples.length - 1})`, f.exampleIndex);
    const l = logits[i];
    if (typeof l !== 'object' || l === null || !(Number(l.start?.length) >= f.length) || !(Number(l.end?.length) >= f.length)) {
      throw invalidArg(`logits[${i}]`, `start and end logits of at least ${f.length} values (features[${i}].length)`, l);
    }
    // Candidates among the window's own tokens: utils_qa takes them over the padded row and then drops
    // padding, so with padding to max_length it may keep fewer than nBest real candidates.
    const starts = topIndices(l.start, f.length, nBest);
    const ends = topIndices(l.end, f.length, nBest);
    for (const s of starts) {
      const so = f.offsets[s];
      if (!so) continue;
      for (const e of ends) {
        const eo = f.offsets[e];
        if (!eo || e < s || e - s + 1 > maxAnswerLength) continue;
        const score = l.start[s]! + l.end[e]!;
        const cur = best[f.exampleIndex];
        // Strictly greater: the first of equal scores wins, as utils_qa's stable sort.
        if (cur === undefined || score > cur.score) best[f.exampleIndex] = { id: ex.id, text: ex.context.slice(so[0], eo[1]), start: so[0], end: eo[1], score };
      }
    }
  });
  // utils_qa answers "empty" when nothing is valid; an empty string scores the same against real answers.
  return examples.map((ex, i) => best[i] ?? { id: ex.id, text: '', start: 0, end: 0, score: Number.NEGATIVE_INFINITY });
}

/**
 * Picks each example's answer from its windows' start and end logits: the `nBest` highest start and
 * end logits of every window are paired, spans that start or end outside the context (question,
 * special tokens), end before they start or run over `maxAnswerLength` tokens are dropped, and the
 * span with the highest start + end logit over all the example's windows wins.
 *
 * @example
 * ```ts
 * const predictions = decodeQaSpans(dev, features, logits, { nBest: 20, maxAnswerLength: 30 });
 * squadScores(Object.fromEntries(predictions.map((p) => [p.id, p.text])), dev); // { exactMatch, f1, ... }
 * ```
 */
export function decodeQaSpans(examples: readonly SquadExample[], features: readonly QaFeature[], logits: readonly QaLogits[], options: QaDecodeOptions = {}): QaPrediction[] {
  checkExamples(examples);
  if (!Array.isArray(features)) throw invalidArg('features', 'an array of QA features (prepareQaFeatures)', features);
  if (!Array.isArray(logits) || logits.length !== features.length) throw invalidArg('logits', `an array of ${features.length} { start, end } logits (one per feature)`, logits);
  const { nBest, maxAnswerLength } = decodeOptions(options, ['nBest', 'maxAnswerLength']);
  return decode(examples, features, logits, nBest, maxAnswerLength);
}

/** Runs the model over the features in order: each feature's logits and the mean loss. */
async function runFeatures(model: Model, features: readonly QaFeature[], batchSize: number, collectives?: Collectives): Promise<{ logits: QaLogits[]; loss: number }> {
  if (typeof model !== 'object' || model === null || typeof model.forward !== 'function') throw invalidArg('model', 'a Model', model);
  if (model.task !== 'question-answering') throw invalidArg('model', 'a question-answering model', model.task);
  if (!Array.isArray(features)) throw invalidArg('features', 'an array of QA features (prepareQaFeatures)', features);
  const padId = model.tokenizer?.special.pad.id ?? model.config.padTokenId;
  const worldSize = collectives?.worldSize ?? 1;
  const rank = collectives?.rank ?? 0;
  const batches = Math.ceil(features.length / batchSize);
  const logits: QaLogits[] = new Array(features.length);
  // Each batch's mean loss times its size, added in batch order below (as one process adds them).
  const lossSums = new Float64Array(batches);
  const runOwn = async (): Promise<void> => {
    for (let b = rank; b < batches; b += worldSize) {
      const part = features.slice(b * batchSize, (b + 1) * batchSize);
      const batch = collateQa(part, { padId });
      const out = await model.forward(batch, { outputLastHiddenState: false });
      lossSums[b] = (out.loss ?? Number.NaN) * part.length;
      const L = batch.seqLen;
      part.forEach((f, r) => {
        const start = new Float32Array(f.length);
        const end = new Float32Array(f.length);
        for (let j = 0; j < f.length; j++) {
          start[j] = out.logits[(r * L + j) * 2]!;
          end[j] = out.logits[(r * L + j) * 2 + 1]!;
        }
        logits[b * batchSize + r] = { start, end };
      });
    }
  };
  if (worldSize > 1) await gatherFeatureLogits(collectives!, features, batchSize, runOwn, logits, lossSums);
  else await runOwn();
  let lossSum = 0;
  for (const x of lossSums) lossSum += x;
  return { logits, loss: features.length ? lossSum / features.length : Number.NaN };
}

/**
 * Runs this rank's batches (`runOwn`), then fills in the logits and loss sums of the other ranks'.
 * Each rank sends, for its batches in order, the loss sums (float64) then every feature's start and
 * end logits (float32): the layout follows from the features and batch size, which every rank has.
 */
async function gatherFeatureLogits(
  c: Collectives,
  features: readonly QaFeature[],
  batchSize: number,
  runOwn: () => Promise<void>,
  logits: QaLogits[],
  lossSums: Float64Array,
): Promise<void> {
  const owned = (rank: number): number[] => Array.from({ length: Math.max(0, Math.ceil((lossSums.length - rank) / c.worldSize)) }, (_, k) => rank + k * c.worldSize);
  const featuresOf = (b: number): number[] => range(b * batchSize, Math.min(features.length, (b + 1) * batchSize));
  const floatsOf = (bs: number[]): number => bs.reduce((n, b) => n + featuresOf(b).reduce((m, i) => m + 2 * features[i]!.length, 0), 0);
  const parts = await allGatherSettled(c, async () => {
    await runOwn();
    const mine = owned(c.rank);
    const bytes = new Uint8Array(8 * (1 + mine.length) + 4 * floatsOf(mine));
    const head = new Float64Array(bytes.buffer, 0, 1 + mine.length);
    // The feature count first, so ranks given different features are caught (not misread).
    head[0] = features.length;
    mine.forEach((b, k) => (head[1 + k] = lossSums[b]!));
    const body = new Float32Array(bytes.buffer, head.byteLength);
    let o = 0;
    for (const b of mine) {
      for (const i of featuresOf(b)) {
        body.set(logits[i]!.start, o);
        body.set(logits[i]!.end, o + features[i]!.length);
        o += 2 * features[i]!.length;
      }
    }
    return bytes;
  });
  parts.forEach((received, rank) => {
    if (rank === c.rank) return;
    const theirs = owned(rank);
    const want = 8 * (1 + theirs.length) + 4 * floatsOf(theirs);
    // A copy: the received view may not sit at an offset aligned for Float64Array.
    const bytes = received.slice();
    const head = bytes.length >= 8 ? new Float64Array(bytes.buffer, 0, 1) : undefined;
    if (bytes.length !== want || head![0] !== features.length) {
      throw new AdvtrainError(
        `Expected the same QA features on every rank but rank ${rank} sent ${bytes.length} bytes for ${head?.[0] ?? '?'} features, rank ${c.rank} expected ${want} for ${features.length}`,
        'ERR_DISTRIBUTED',
      );
    }
    const sums = new Float64Array(bytes.buffer, 8, theirs.length);
    const body = new Float32Array(bytes.buffer, 8 * (1 + theirs.length));
    let o = 0;
    theirs.forEach((b, k) => {
      lossSums[b] = sums[k]!;
      for (const i of featuresOf(b)) {
        const n = features[i]!.length;
        logits[i] = { start: body.slice(o, o + n), end: body.slice(o + n, o + 2 * n) };
        o += 2 * n;
      }
    });
  });
}

/**
 * Answers every example with a question-answering model: forward passes over the features in order,
 * then {@link decodeQaSpans}. The padding id is the model tokenizer's, else the config's.
 *
 * @example
 * ```ts
 * const predictions = await predictQa(model, dev, prepareQaFeatures(model.tokenizer!, dev));
 * predictions[0]; // e.g. { id: '56be4db0acb8001400a502ec', text: 'Denver Broncos', start: 177, end: 191, score: 14.2 }
 * ```
 */
export async function predictQa(model: Model, examples: readonly SquadExample[], features: readonly QaFeature[], options: QaPredictOptions = {}): Promise<QaPrediction[]> {
  checkExamples(examples);
  const o = decodeOptions(options, PREDICT_KEYS);
  const { logits } = await runFeatures(model, features, o.batchSize, o.collectives);
  return decode(examples, features, logits, o.nBest, o.maxAnswerLength);
}

/**
 * SQuAD metrics of a question-answering model: the mean loss over the features, and the exact match
 * and F1 of the decoded answers (fractions in [0, 1], named as Hugging Face's `squad` metric), with
 * the counts of examples and features. Padding takes part in the loss's softmax, as in transformers,
 * so the loss (not the answers) depends on `batchSize`. Pass it as `evalData: (m) => evaluateQa(m, dev, features)` to
 * have `Trainer.fit` report these. With `collectives` the ranks share the forward passes and all
 * return the single-process metrics (see {@link QaPredictOptions.collectives}).
 *
 * @example
 * ```ts
 * const features = prepareQaFeatures(tokenizer, dev);
 * await evaluateQa(model, dev, features); // e.g. { loss: 1.93, exact_match: 0.61, f1: 0.72, examples: 10570, features: 10784 }
 * await evaluateQa(model, dev, features, { collectives: group }); // on every rank: the same numbers
 * ```
 */
export async function evaluateQa(model: Model, examples: readonly SquadExample[], features: readonly QaFeature[], options: QaPredictOptions = {}): Promise<Record<string, number>> {
  checkExamples(examples);
  const o = decodeOptions(options, PREDICT_KEYS);
  const { logits, loss } = await runFeatures(model, features, o.batchSize, o.collectives);
  const predictions = decode(examples, features, logits, o.nBest, o.maxAnswerLength);
  const scores = squadScores(Object.fromEntries(predictions.map((p) => [p.id, p.text])), examples);
  return { loss, exact_match: scores.exactMatch, f1: scores.f1, examples: examples.length, features: features.length };
}
