/**
 * The tokenizer object: encodes texts and pairs into ids with special tokens, truncation and padding
 * (transformers' fast-tokenizer semantics), decodes ids, and saves its files into a model folder.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { AdvtrainError, invalidArg } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import * as v from '../validate.js';
import type { ByteLevelAligner } from './bytelevel.js';
import type { SentencePieceAligner } from './sentencepiece.js';
import { specialCount, type Template, type TemplatePiece } from './template.js';
import { truncatedLengths, type Truncation } from './truncation.js';
import { libraryInput, type BertNormalization, type WordPieceAligner } from './wordpiece.js';

export type { Truncation } from './truncation.js';

/** One text, or a pair of texts (sentence pairs, question + context). */
export type TextInput = string | readonly [string, string];

/** Batch padding: to the longest row, or to `maxLength`. Padding goes on the right. */
export type Padding = 'longest' | 'max_length';

export interface EncodeOptions {
  /** Most tokens per row, special tokens included. Without it nothing is truncated. */
  maxLength?: number;
  /** How to cut a row longer than `maxLength` (default 'longest_first'). */
  truncation?: Truncation;
}

export interface BatchOptions extends EncodeOptions {
  /** Default 'longest'; 'max_length' needs `maxLength`. */
  padding?: Padding;
}

export interface EncodeWordsOptions {
  /** Most tokens, special tokens included; tokens are cut from the end (a word may lose its last pieces). */
  maxLength?: number;
}

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], <pad>, ...). Default false. */
  skipSpecialTokens?: boolean;
}

/** One encoded text or pair, special tokens included. */
export interface Encoding {
  ids: number[];
  /** Segment ids: 0 for the first text, 1 for the second (RoBERTa: 0 throughout). */
  typeIds: number[];
  tokens: string[];
  /** Which text each token came from: 0, 1, or null for special tokens (HF `sequence_ids()`). */
  sequenceIds: Array<0 | 1 | null>;
  /**
   * [start, end) UTF-16 offsets into the text the token came from (`text.slice(start, end)`); [0, 0] for
   * special tokens. As transformers' fast tokenizers give them (byte-level BPE: trimmed of the spaces a
   * token starts or ends with when the post-processor has trim_offsets; a token holding part of a
   * character's bytes covers the whole character). The library reports no offsets: advtrain computes
   * them for BERT WordPiece pipelines (BertNormalizer, BertPreTokenizer) and byte-level BPE pipelines
   * (RoBERTa, GPT-2: ByteLevel pre-tokenizer, no normalizer) and SentencePiece-style Unigram pipelines
   * (DeBERTa-v2/v3, ALBERT: Metaspace, without a Precompiled normalizer); undefined for other tokenizers.
   */
  offsets?: Array<[number, number]>;
  /** Index of the word each token belongs to, counted per text; null for special tokens. Same availability as `offsets`. */
  wordIds?: Array<number | null>;
}

/** Pre-split words encoded as one sequence with special tokens ({@link Tokenizer.encodeWords}). */
export interface WordsEncoding {
  ids: number[];
  typeIds: number[];
  tokens: string[];
  /** Index of the input word each token comes from; null for special tokens (HF `word_ids()`). */
  wordIds: Array<number | null>;
  /**
   * [start, end) UTF-16 offsets into the word each token comes from (`words[wordIds[i]].slice(start, end)`),
   * [0, 0] for special tokens, as transformers gives them for pre-split words. Same availability as
   * {@link Encoding.offsets}.
   */
  offsets?: Array<[number, number]>;
}

/** A padded batch, row-major [batchSize, seqLen], ready for the model. */
export interface TokenBatch {
  inputIds: Int32Array;
  /** 1 at tokens, 0 at padding. */
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
  batchSize: number;
  seqLen: number;
}

export type SpecialTokenName = 'cls' | 'sep' | 'pad' | 'mask' | 'unk';

export interface SpecialToken {
  token: string;
  id: number;
}

/** What loadTokenizer assembles; not part of the public API. */
export interface TokenizerParts {
  hf: HfTokenizer;
  template: Template;
  special: Record<SpecialTokenName, SpecialToken>;
  vocabSize: number;
  source: 'tokenizer.json' | 'vocab.txt';
  /** File name → bytes, what save() writes. */
  files: ReadonlyMap<string, Uint8Array>;
  /** Present for BERT WordPiece pipelines: input fixes and offsets. */
  bert?: { normalization: BertNormalization; aligner: WordPieceAligner };
  /** Present for SentencePiece-style pipelines (Unigram + Metaspace): offsets and word ids. */
  sentencePiece?: SentencePieceAligner;
  /** Present for byte-level BPE pipelines: they run through it, for offsets. */
  byteLevel?: ByteLevelAligner;
  /** Other byte-level pre-tokenizers without add_prefix_space: encodeWords puts a space before each word itself. */
  prefixWords?: boolean;
}

/** One text's tokens before special tokens are added. */
interface Sequence {
  ids: number[];
  tokens: string[];
  offsets?: Array<[number, number]>;
  wordIds?: number[];
}

const ENCODE_KEYS = ['maxLength', 'truncation'] as const;
const BATCH_KEYS = [...ENCODE_KEYS, 'padding'] as const;
const TRUNCATIONS: readonly Truncation[] = ['longest_first', 'only_second'];
const PADDINGS: readonly Padding[] = ['longest', 'max_length'];

/**
 * A BERT-family tokenizer backed by `@huggingface/tokenizers`. Create it with {@link loadTokenizer}.
 *
 * @example
 * ```ts
 * const tok = await loadTokenizer('models/bert-base-uncased');
 * tok.encode('hello world').ids;                 // [101, 7592, 2088, 102]
 * const batch = tok.encodeBatch([['a premise', 'a hypothesis'], ['short', 'pair']], { maxLength: 128 });
 * batch.inputIds.length === batch.batchSize * batch.seqLen; // true
 * ```
 */
export class Tokenizer {
  /** Rows the embedding matrix needs: the largest token id + 1. */
  readonly vocabSize: number;
  /** The special tokens and their ids, from the tokenizer files. */
  readonly special: Readonly<Record<SpecialTokenName, Readonly<SpecialToken>>>;
  /** The file the tokenizer was built from. */
  readonly source: 'tokenizer.json' | 'vocab.txt';
  readonly #hf: HfTokenizer;
  readonly #template: Template;
  readonly #files: ReadonlyMap<string, Uint8Array>;
  readonly #bert: TokenizerParts['bert'];
  readonly #byteLevel: TokenizerParts['byteLevel'];
  readonly #sentencePiece: TokenizerParts['sentencePiece'];
  readonly #prefixWords: boolean;

  /** @internal Use {@link loadTokenizer}. */
  constructor(parts: TokenizerParts) {
    this.#hf = parts.hf;
    this.#template = parts.template;
    this.#files = parts.files;
    this.#bert = parts.bert;
    this.#byteLevel = parts.byteLevel;
    this.#sentencePiece = parts.sentencePiece;
    this.#prefixWords = parts.prefixWords ?? false;
    this.vocabSize = parts.vocabSize;
    this.source = parts.source;
    this.special = Object.freeze(
      Object.fromEntries(Object.entries(parts.special).map(([k, s]) => [k, Object.freeze({ ...s })])) as Record<SpecialTokenName, SpecialToken>,
    );
  }

  /**
   * Encodes one text or a pair with special tokens ([CLS] A [SEP] B [SEP], or <s> A </s></s> B </s>).
   *
   * @example
   * ```ts
   * const e = tok.encode(['Who wrote it?', 'It was written by Ann.'], { maxLength: 384, truncation: 'only_second' });
   * const context = e.sequenceIds.map((s, i) => (s === 1 ? e.offsets![i] : null));
   * ```
   */
  encode(input: TextInput, options: EncodeOptions = {}): Encoding {
    const texts = textInput('input', input);
    return this.#encode(texts, encodeOptions(options, ENCODE_KEYS), 'input');
  }

  /**
   * Encodes pre-split words (token classification) as transformers does with `is_split_into_words=True`:
   * each word is normalized and pre-tokenized on its own (so 'don't' still gives don ' t), `wordIds`
   * holds the input word index of every token, and a word that yields no token (say a lone control
   * character) has no token. Byte-level BPE tokenizers (RoBERTa) see every word with a leading space,
   * as transformers requires there (`add_prefix_space=True`). `offsets` are into each word.
   *
   * @example
   * ```ts
   * const e = tok.encodeWords(['Paris', 'Hilton', "isn't"], { maxLength: 128 });
   * e.tokens;  // ['[CLS]', 'paris', 'hilton', 'isn', "'", 't', '[SEP]']
   * e.wordIds; // [null, 0, 1, 2, 2, 2, null]
   * e.offsets; // [[0, 0], [0, 5], [0, 6], [0, 3], [3, 4], [4, 5], [0, 0]]
   * ```
   */
  encodeWords(words: readonly string[], options: EncodeWordsOptions = {}): WordsEncoding {
    if (!Array.isArray(words)) throw invalidArg('words', 'an array of strings', words);
    const opts = encodeOptions(options, ['maxLength']);
    words.forEach((word: unknown, i) => {
      if (typeof word !== 'string') throw invalidArg(`words[${i}]`, 'a string', word);
    });
    let seq: Sequence;
    if (this.#byteLevel) {
      seq = this.#byteLevel.encodeWords(words);
    } else {
      const joined: Sequence = { ids: [], tokens: [], wordIds: [] };
      const offsets: Array<[number, number]> = [];
      words.forEach((word, i) => {
        const piece: Sequence = this.#bert || this.#sentencePiece ? this.#sequence(word) : this.#pieces(this.#prefixWords && !word.startsWith(' ') ? ` ${word}` : word);
        joined.ids.push(...piece.ids);
        joined.tokens.push(...piece.tokens);
        if (piece.offsets) offsets.push(...piece.offsets);
        for (let k = 0; k < piece.ids.length; k++) joined.wordIds!.push(i);
      });
      if (this.#bert || this.#sentencePiece) joined.offsets = offsets;
      seq = joined;
    }
    const { ids, typeIds, tokens, wordIds, offsets } = this.#fit([seq], opts, 'words', []);
    return offsets ? { ids, typeIds, tokens, wordIds: wordIds!, offsets } : { ids, typeIds, tokens, wordIds: wordIds! };
  }

  /**
   * Encodes a batch and pads it into typed arrays, row-major [batchSize, seqLen]. Padding uses the pad
   * token's id, type id 0 and attention mask 0.
   *
   * @example
   * ```ts
   * const batch = tok.encodeBatch(['a great film', 'dull'], { maxLength: 64, padding: 'max_length' });
   * // batch.seqLen === 64; batch.attentionMask[64 + 3] === 0 (row 1 is [CLS] dull [SEP] + padding)
   * ```
   */
  encodeBatch(items: readonly TextInput[], options: BatchOptions = {}): TokenBatch {
    if (!Array.isArray(items) || items.length === 0) throw invalidArg('items', 'a non-empty array of texts or [text, text] pairs', items);
    const opts = encodeOptions(options, BATCH_KEYS);
    const padding = options.padding === undefined ? 'longest' : v.oneOf('options.padding', options.padding, PADDINGS);
    if (padding === 'max_length' && opts.maxLength === undefined) {
      throw invalidArg('options.maxLength', "an integer (padding 'max_length' pads to it)", undefined);
    }
    const rows = items.map((item, i) => this.#encode(textInput(`items[${i}]`, item), opts, `items[${i}]`));
    let seqLen = opts.maxLength ?? 0;
    if (padding === 'longest') seqLen = rows.reduce((m, r) => Math.max(m, r.ids.length), 0);
    const batchSize = rows.length;
    const inputIds = new Int32Array(batchSize * seqLen).fill(this.special.pad.id);
    const attentionMask = new Int32Array(batchSize * seqLen);
    const tokenTypeIds = new Int32Array(batchSize * seqLen);
    rows.forEach((row, r) => {
      inputIds.set(row.ids, r * seqLen);
      tokenTypeIds.set(row.typeIds, r * seqLen);
      attentionMask.fill(1, r * seqLen, r * seqLen + row.ids.length);
    });
    return { inputIds, attentionMask, tokenTypeIds, batchSize, seqLen };
  }

  /**
   * Turns ids back into text (WordPiece pieces joined, byte-level BPE decoded).
   *
   * @example
   * ```ts
   * tok.decode([101, 7592, 2088, 102]);                              // '[CLS] hello world [SEP]'
   * tok.decode([101, 7592, 2088, 102], { skipSpecialTokens: true }); // 'hello world'
   * ```
   */
  decode(ids: readonly number[] | Int32Array, options: DecodeOptions = {}): string {
    if (!Array.isArray(ids) && !(ids instanceof Int32Array)) throw invalidArg('ids', 'an array of token ids or an Int32Array', ids);
    v.knownKeys('options', v.object('options', options), ['skipSpecialTokens']);
    const skip = options.skipSpecialTokens === undefined ? false : v.boolean('options.skipSpecialTokens', options.skipSpecialTokens);
    const list = Array.from(ids, (id, i) => v.integer(`ids[${i}]`, id, { min: 0, max: this.vocabSize - 1 }));
    return list.length === 0 ? '' : this.#hf.decode(list, { skip_special_tokens: skip });
  }

  /**
   * The id of a token string, or undefined if it is not in the vocabulary.
   *
   * @example
   * ```ts
   * tok.tokenToId('[MASK]'); // 103
   * ```
   */
  tokenToId(token: string): number | undefined {
    if (typeof token !== 'string') throw invalidArg('token', 'a string', token);
    return this.#hf.token_to_id(token);
  }

  /**
   * The token string of an id, or undefined outside the vocabulary.
   *
   * @example
   * ```ts
   * tok.idToToken(2088); // 'world'
   * ```
   */
  idToToken(id: number): string | undefined {
    return this.#hf.id_to_token(v.integer('id', id));
  }

  /**
   * Writes the tokenizer's files into a model folder (created if needed), each atomically: the
   * tokenizer.json it was loaded from, or vocab.txt with tokenizer_config.json and
   * special_tokens_map.json; files it was loaded with are written back byte for byte.
   *
   * @example
   * ```ts
   * await tok.save('runs/freelb-sst2/final');
   * const again = await loadTokenizer('runs/freelb-sst2/final');
   * ```
   */
  async save(dir: string): Promise<void> {
    v.string('dir', dir);
    try {
      await mkdir(dir, { recursive: true });
      for (const [name, bytes] of this.#files) await writeFileAtomic(join(dir, name), bytes);
    } catch (err) {
      throw new AdvtrainError(`Cannot save the tokenizer to ${dir}: ${(err as Error).message}`, 'ERR_CHECKPOINT', { cause: err });
    }
  }

  #encode(texts: string[], opts: ResolvedEncodeOptions, name: string): Encoding {
    return this.#fit(
      texts.map((t) => this.#sequence(t)),
      opts,
      name,
      texts,
    );
  }

  /** Truncates one or two sequences to `opts.maxLength` and adds the special tokens. */
  #fit(seqs: Sequence[], opts: ResolvedEncodeOptions, name: string, texts: readonly string[]): Encoding {
    const pieces = seqs.length === 2 ? this.#template.pair : this.#template.single;
    if (opts.maxLength !== undefined) {
      const specials = specialCount(pieces);
      const budget = opts.maxLength - specials;
      if (budget < 0) throw invalidArg('options.maxLength', `an integer >= ${specials} (the special tokens of ${name} need that many)`, opts.maxLength);
      const lengths = truncatedLengths(
        seqs.map((s) => s.ids.length),
        budget,
        opts.truncation,
      );
      if (!Array.isArray(lengths)) {
        if (lengths.reason === 'no-second-text') {
          throw invalidArg(name, `a [text, text] pair (truncation 'only_second' cuts the second text to fit maxLength ${opts.maxLength})`, texts[0]);
        }
        throw invalidArg(
          `${name}[1]`,
          `a second text of more than ${lengths.toRemove} tokens (truncation 'only_second' must cut ${lengths.toRemove} to fit maxLength ${opts.maxLength})`,
          texts[1],
        );
      }
      seqs.forEach((s, i) => cut(s, lengths[i]!));
    }
    return assemble(pieces, seqs);
  }

  #sequence(text: string): Sequence {
    if (this.#byteLevel) return this.#byteLevel.encode(text);
    const { ids, tokens } = this.#pieces(text);
    if (this.#bert) return { ids, tokens, ...this.#bert.aligner.align(text, tokens) };
    if (this.#sentencePiece) return { ids, tokens, ...this.#sentencePiece.align(text, tokens) };
    return { ids, tokens };
  }

  #pieces(text: string): { ids: number[]; tokens: string[] } {
    const bert = this.#bert;
    return this.#hf.encode(bert ? libraryInput(text, bert.normalization) : text, { add_special_tokens: false });
  }
}

interface ResolvedEncodeOptions {
  maxLength?: number;
  truncation: Truncation;
}

function encodeOptions(options: unknown, keys: readonly string[]): ResolvedEncodeOptions {
  const o = v.object('options', options);
  v.knownKeys('options', o, keys);
  return {
    maxLength: o.maxLength === undefined ? undefined : v.integer('options.maxLength', o.maxLength, { min: 0 }),
    truncation: o.truncation === undefined ? 'longest_first' : v.oneOf('options.truncation', o.truncation, TRUNCATIONS),
  };
}

function textInput(name: string, value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') return [value[0], value[1]];
  throw invalidArg(name, 'a string or a [string, string] pair', value);
}

function cut(s: Sequence, length: number): void {
  s.ids.length = Math.min(s.ids.length, length);
  s.tokens.length = s.ids.length;
  if (s.offsets) s.offsets.length = s.ids.length;
  if (s.wordIds) s.wordIds.length = s.ids.length;
}

function assemble(pieces: readonly TemplatePiece[], seqs: readonly Sequence[]): Encoding {
  // encodeWords has word ids without offsets; encode has both or neither.
  const withOffsets = seqs.every((s) => s.offsets);
  const withWordIds = seqs.every((s) => s.wordIds);
  const e: Encoding = { ids: [], typeIds: [], tokens: [], sequenceIds: [] };
  const offsets: Array<[number, number]> = [];
  const wordIds: Array<number | null> = [];
  for (const p of pieces) {
    if (p.kind === 'special') {
      for (let j = 0; j < p.ids.length; j++) {
        e.ids.push(p.ids[j]!);
        e.tokens.push(p.tokens[j]!);
        e.typeIds.push(p.typeId);
        e.sequenceIds.push(null);
        offsets.push([0, 0]);
        wordIds.push(null);
      }
      continue;
    }
    const s = seqs[p.seq]!;
    for (let j = 0; j < s.ids.length; j++) {
      e.ids.push(s.ids[j]!);
      e.tokens.push(s.tokens[j]!);
      e.typeIds.push(p.typeId);
      e.sequenceIds.push(p.seq);
      if (withOffsets) offsets.push(s.offsets![j]!);
      if (withWordIds) wordIds.push(s.wordIds![j]!);
    }
  }
  if (withOffsets) e.offsets = offsets;
  if (withWordIds) e.wordIds = wordIds;
  return e;
}
