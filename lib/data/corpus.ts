/**
 * Plain-text corpora for masked-LM pre-training, streamed: documents are read line by line, tokenised
 * and packed into fixed-length sequences ([CLS] + seq - 2 tokens + [SEP], transformers' run_mlm
 * "group_texts"), never holding the corpus in memory. Epochs are deterministic (a seeded shuffle
 * buffer) and resumable at any batch; masks are drawn per (seed, epoch, batch).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { invalidArg } from '../errors.js';
import * as v from '../validate.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { checkShard, type DataShard } from './batching.js';
import { maskTokens, shardRows, type MaskingOptions } from './masking.js';
import { Random } from './random.js';
import { dataError, decodeUtf8 } from './source.js';

/** How a file is split into documents. */
export type CorpusFormat = 'lines' | 'paragraphs' | 'wikitext';

const HEADING = /^\s*(=\s+)+\S.*?(\s+=)+\s*$/;
const TOP_HEADING = /^\s*=\s+[^=].*?\s+=\s*$/;

/**
 * The text of `file` in chunks, refusing invalid UTF-8 with ERR_DATA and its `file:line:col` (found by
 * decoding the whole file again, only on that error path).
 */
async function* utf8Chunks(file: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(file)) yield decoder.decode(chunk as Buffer, { stream: true });
    yield decoder.decode();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    decodeUtf8(file, readFileSync(file));
    throw err;
  }
}

/** WikiText's tokenisation undone: "@-@" joiners and `<unk>` as the tokenizer's unknown token. */
function detokenize(line: string, unk: string): string {
  return line.replace(/ @([-,.])@ /g, '$1').replace(/<unk>/g, unk).trim();
}

/**
 * Streams the documents of `files` in order. `wikitext` starts a document at each top-level
 * ` = Title = ` heading and drops section headings; `paragraphs` splits at blank lines; `lines` takes
 * each non-empty line as a document. Without `format`, a file whose first non-empty line is a
 * heading is read as WikiText, others as paragraphs.
 */
export async function* readDocuments(files: readonly string[], options: { format?: CorpusFormat; unkToken?: string } = {}): AsyncGenerator<string> {
  for (const file of files) {
    const lines = createInterface({ input: Readable.from(utf8Chunks(file)), crlfDelay: Infinity });
    let format = options.format;
    let doc: string[] = [];
    let lineNo = 0;
    const flush = function* () {
      if (doc.length) yield doc.join(' ');
      doc = [];
    };
    try {
      for await (const raw of lines) {
        lineNo++;
        if (raw.includes('\u0000')) throw dataError(file, { line: lineNo, column: raw.indexOf('\u0000') + 1 }, 'NUL byte: not a text file');
        const line = raw.trim();
        if (format === undefined) {
          if (!line) continue;
          format = HEADING.test(raw) ? 'wikitext' : 'paragraphs';
        }
        if (format === 'lines') {
          if (line) yield line;
        } else if (format === 'paragraphs') {
          if (line) doc.push(line);
          else yield* flush();
        } else if (HEADING.test(raw)) {
          if (TOP_HEADING.test(raw)) yield* flush();
        } else if (line) {
          doc.push(detokenize(line, options.unkToken ?? '[UNK]'));
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw dataError(file, { line: 0, column: 0 }, 'no such file');
      throw err;
    }
    yield* flush();
  }
}

/** What the packer needs of a tokenizer. */
export interface CorpusTokenizer {
  /** Token ids of a text without special tokens. */
  tokenize(text: string): number[];
  clsId: number;
  sepId: number;
  padId: number;
}

/**
 * A CorpusTokenizer over advtrain's Tokenizer: the ids of the text itself (sequence 0), no specials.
 *
 * @example
 * ```ts
 * const ct = corpusTokenizer(await loadTokenizer('bert-dir'));
 * ct.tokenize('hello world'); // [7592, 2088]
 * ```
 */
export function corpusTokenizer(tok: Tokenizer): CorpusTokenizer & { unkToken: string } {
  return {
    tokenize: (text) => {
      const e = tok.encode(text);
      return e.ids.filter((_, i) => e.sequenceIds[i] === 0);
    },
    clsId: tok.special.cls.id,
    sepId: tok.special.sep.id,
    padId: tok.special.pad.id,
    unkToken: tok.special.unk.token,
  };
}

/** Streams packed sequences of exactly `seqLen` tokens (the last partial one is dropped, as run_mlm does). */
export async function* packSequences(documents: AsyncIterable<string>, tok: CorpusTokenizer, seqLen: number): AsyncGenerator<number[]> {
  v.integer('seqLen', seqLen, { min: 3 });
  const body = seqLen - 2;
  let buffer: number[] = [];
  for await (const doc of documents) {
    buffer = buffer.concat(tok.tokenize(doc));
    while (buffer.length >= body) {
      yield [tok.clsId, ...buffer.slice(0, body), tok.sepId];
      buffer = buffer.slice(body);
    }
  }
}

export interface CorpusBatchesOptions {
  files: readonly string[];
  format?: CorpusFormat;
  tokenizer: CorpusTokenizer & { unkToken?: string };
  seqLen: number;
  batchSize: number;
  seed: number;
  masking: MaskingOptions;
  /** Sequences held for shuffling (default 10,000); 1 keeps corpus order. */
  shuffleBuffer?: number;
  /**
   * Data parallel: this rank's share. `batchSize` is then per rank; each global batch of
   * batchSize x worldSize sequences is made and masked as one process would, and rank r takes its rows
   * r, r + W, ... (so W ranks see exactly the sequences and masks of one process with the global batch).
   */
  shard?: DataShard;
}

/**
 * Masked-LM batches of packed corpus sequences, usable as a Trainer's training data. The constructor
 * is cheap; `count()` streams the corpus once to learn the number of batches per epoch (fit needs it).
 *
 * @example
 * ```ts
 * const data = await CorpusBatches.open({ files: ['wiki.valid.tokens'], tokenizer: corpusTokenizer(tok), seqLen: 128, batchSize: 32, seed: 1, masking });
 * await trainer.fit(data, { maxSteps: 10_000 });
 * ```
 */
export class CorpusBatches {
  private constructor(
    private readonly opts: CorpusBatchesOptions,
    readonly length: number,
    readonly sequences: number,
  ) {}

  /** Validates the options and counts the corpus' batches (one streaming pass). */
  static async open(options: CorpusBatchesOptions): Promise<CorpusBatches> {
    const o = v.object('options', options) as unknown as CorpusBatchesOptions;
    if (!Array.isArray(o.files) || o.files.length === 0) throw invalidArg('options.files', 'a non-empty array of file paths', o.files);
    v.integer('options.seqLen', o.seqLen, { min: 8 });
    v.integer('options.batchSize', o.batchSize, { min: 1 });
    v.integer('options.seed', o.seed, { min: 0, max: 0xffffffff });
    const shard = o.shard === undefined ? undefined : checkShard(o.shard);
    let n = 0;
    for await (const _ of packSequences(readDocuments(o.files, { format: o.format, unkToken: o.tokenizer.unkToken }), o.tokenizer, o.seqLen)) n++;
    if (n === 0) throw invalidArg('options.files', `a corpus with at least ${o.seqLen - 2} tokens`, o.files);
    return new CorpusBatches({ ...o, ...(shard ? { shard } : {}) }, Math.floor(n / (o.batchSize * (shard?.worldSize ?? 1))), n);
  }

  /** This rank's part, when the batches are sharded. */
  get shard(): DataShard | undefined {
    return this.opts.shard && { ...this.opts.shard };
  }

  /** The (async) batches of `epoch` from batch `start`: shuffled through a seeded buffer, masked anew. */
  async *epoch(epoch: number, start = 0): AsyncGenerator<{ inputIds: Int32Array; attentionMask: Int32Array; tokenTypeIds: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }> {
    const { seqLen, seed } = this.opts;
    const world = this.opts.shard?.worldSize ?? 1;
    const batchSize = this.opts.batchSize * world;
    const size = Math.max(1, this.opts.shuffleBuffer ?? 10_000);
    const rng = new Random(seed, (epoch * 2 + 1) >>> 0);
    const pool: number[][] = [];
    let batch: number[][] = [];
    let index = 0;
    const emit = (seq: number[]) => {
      batch.push(seq);
      if (batch.length < batchSize) return undefined;
      const rows = batch;
      batch = [];
      return rows;
    };
    const make = (rows: number[][], b: number) => {
      const ids = Int32Array.from(rows.flat());
      const attentionMask = new Int32Array(ids.length).fill(1);
      const masked = maskTokens(ids, attentionMask, seqLen, new Random(seed, (epoch * 100_003 + b) >>> 0), this.opts.masking);
      const full = { inputIds: masked.inputIds, attentionMask, tokenTypeIds: new Int32Array(ids.length), labels: masked.labels, batchSize: rows.length, seqLen };
      return this.opts.shard ? shardRows(full, this.opts.shard) : full;
    };
    const drain = function* (this: CorpusBatches, all: boolean) {
      while (pool.length > (all ? 0 : size - 1)) {
        const j = rng.below(pool.length);
        const seq = pool[j]!;
        pool[j] = pool[pool.length - 1]!;
        pool.pop();
        const rows = emit(seq);
        if (rows) {
          if (index >= start && index < this.length) yield make(rows, index);
          index++;
        }
      }
    };
    for await (const seq of packSequences(readDocuments(this.opts.files, { format: this.opts.format, unkToken: this.opts.tokenizer.unkToken }), this.opts.tokenizer, seqLen)) {
      pool.push(seq);
      yield* drain.call(this, false);
      if (index >= this.length) return;
    }
    yield* drain.call(this, true);
  }
}
