/**
 * loadTokenizer: a model folder's tokenizer.json (any WordPiece or BPE tokenizer, through
 * @huggingface/tokenizers), or a bare vocab.txt turned into the tokenizer.json that transformers'
 * BertConverter would write for it, handed to the same library.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { AdvtrainError } from '../errors.js';
import * as v from '../validate.js';
import { badFile, parseJsonObject, readOptional } from './files.js';
import { templateFromConfig, type Template } from './template.js';
import { Tokenizer, type SpecialToken, type SpecialTokenName, type TokenizerParts } from './tokenizer.js';
import { BYTE_LEVEL_ALPHABET, ByteLevelAligner, type BpeModel } from './bytelevel.js';
import { sentencePieceAligner } from './sentencepiece.js';
import { bertNormalization, WordPieceAligner, type AddedTokenInfo } from './wordpiece.js';

const TOKENIZER_JSON = 'tokenizer.json';
const VOCAB_TXT = 'vocab.txt';
const CONFIG_JSON = 'tokenizer_config.json';
const SPECIAL_MAP_JSON = 'special_tokens_map.json';

const SPECIAL_NAMES: readonly SpecialTokenName[] = ['cls', 'sep', 'pad', 'mask', 'unk'];
/** BertTokenizer's defaults, used for a vocab.txt whose config names no special tokens. */
const BERT_SPECIALS: Record<SpecialTokenName, string> = { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', mask: '[MASK]', unk: '[UNK]' };
/** Names BERT and RoBERTa give their special tokens, for a tokenizer.json that comes without configs. */
const CONVENTIONAL: Record<SpecialTokenName, readonly string[]> = {
  cls: ['[CLS]', '<s>'],
  sep: ['[SEP]', '</s>'],
  pad: ['[PAD]', '<pad>'],
  mask: ['[MASK]', '<mask>'],
  unk: ['[UNK]', '<unk>'],
};

type Json = Record<string, unknown>;

interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
  special?: boolean;
}

/** The parts of tokenizer.json we read, checked, with tokenizers' defaults filled in. */
interface TokenizerJson extends Json {
  /** `vocab` is token → id for WordPiece and BPE, [piece, score] pairs (the id is the index) for Unigram. */
  model: Json & ({ type: 'WordPiece' | 'BPE'; vocab: Record<string, number> } | { type: 'Unigram'; vocab: Array<[string, number]> });
  added_tokens: AddedTokenJson[];
  normalizer: Json | null;
  pre_tokenizer: Json | null;
  post_processor: Json | null;
  decoder: Json | null;
}

/**
 * Loads the tokenizer of a model folder. With `tokenizer.json` it uses that (WordPiece, BPE or
 * SentencePiece-style Unigram: BERT, RoBERTa, ELECTRA, DeBERTa-v2/v3, ALBERT, ...); with only `vocab.txt` it builds the BERT WordPiece tokenizer
 * (`do_lower_case`, `strip_accents` and `tokenize_chinese_chars` from tokenizer_config.json, lowercase
 * by default). Special tokens come from special_tokens_map.json, then tokenizer_config.json, then
 * tokenizer.json itself. Truncation and padding come from each call's options; settings stored in
 * tokenizer.json are ignored, as transformers does.
 *
 * Throws `ERR_CHECKPOINT` naming the file and field for a missing folder, a folder with neither file,
 * malformed JSON or a special token missing from the vocabulary; `ERR_INVALID_ARG` for a bad `dir`.
 *
 * @example
 * ```ts
 * import { loadTokenizer } from 'advtrain';
 * const tok = await loadTokenizer('../shared/data/bert-base-uncased-tokenizer');
 * tok.encode(['A man is sleeping.', 'Nobody sleeps.']).typeIds; // [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
 * tok.special.mask.id;                                         // 103
 * ```
 */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  v.string('dir', dir);
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 'it does not exist' : err.message));
  if (typeof info === 'string' || !info.isDirectory()) {
    throw new AdvtrainError(`Expected a tokenizer folder at ${dir} but ${typeof info === 'string' ? info : 'it is not a folder'}`, 'ERR_CHECKPOINT');
  }
  const [jsonBytes, vocabBytes, configBytes, mapBytes] = await Promise.all(
    [TOKENIZER_JSON, VOCAB_TXT, CONFIG_JSON, SPECIAL_MAP_JSON].map((f) => readOptional(join(dir, f))),
  );
  const config = configBytes ? parseJsonObject(join(dir, CONFIG_JSON), configBytes) : {};
  const specialMap = mapBytes ? parseJsonObject(join(dir, SPECIAL_MAP_JSON), mapBytes) : {};
  const declared = declaredSpecials(dir, specialMap, config);
  const files = new Map<string, Uint8Array>();

  let spec: TokenizerJson;
  let specFile: string;
  let template: Template;
  let specials: Record<SpecialTokenName, string>;
  if (jsonBytes) {
    specFile = join(dir, TOKENIZER_JSON);
    spec = checkTokenizerJson(parseJsonObject(specFile, jsonBytes), specFile);
    template = templateFromConfig(spec.post_processor, specFile);
    specials = inferSpecials(dir, declared, spec, template);
    files.set(TOKENIZER_JSON, jsonBytes);
    if (configBytes) files.set(CONFIG_JSON, configBytes);
    if (mapBytes) files.set(SPECIAL_MAP_JSON, mapBytes);
  } else if (vocabBytes) {
    specFile = join(dir, VOCAB_TXT);
    specials = { ...BERT_SPECIALS, ...declared };
    const settings = bertSettings(config, join(dir, CONFIG_JSON));
    spec = bertTokenizerJson(parseVocab(vocabBytes), settings, specials, config, dir);
    template = templateFromConfig(spec.post_processor, specFile);
    files.set(VOCAB_TXT, vocabBytes);
    files.set(CONFIG_JSON, configBytes ?? json({ ...settings, clean_up_tokenization_spaces: true, ...tokenFields(specials), tokenizer_class: 'BertTokenizer' }));
    files.set(SPECIAL_MAP_JSON, mapBytes ?? json(tokenFields(specials)));
  } else {
    throw new AdvtrainError(`Expected ${TOKENIZER_JSON} or ${VOCAB_TXT} in ${dir} but found neither`, 'ERR_CHECKPOINT');
  }

  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(spec, libraryConfig(config, join(dir, CONFIG_JSON)));
  } catch (err) {
    throw new AdvtrainError(`Expected a tokenizer that @huggingface/tokenizers can load in ${specFile} but it failed: ${(err as Error).message}`, 'ERR_CHECKPOINT', {
      cause: err,
    });
  }

  matchRustWhitespace(hf, spec);

  const special = {} as Record<SpecialTokenName, SpecialToken>;
  for (const name of SPECIAL_NAMES) {
    const id = hf.token_to_id(specials[name]);
    if (id === undefined) throw badFile(specFile, `the ${name} token`, 'a token in the vocabulary', specials[name]);
    special[name] = { token: specials[name], id };
  }

  const parts: TokenizerParts = {
    hf,
    template,
    special,
    vocabSize: vocabSize(spec),
    source: jsonBytes ? 'tokenizer.json' : 'vocab.txt',
    files,
  };
  const pre = spec.pre_tokenizer;
  const norm = spec.normalizer;
  const level = byteLevel(pre);
  parts.byteLevel = byteLevelAligner(spec, hf);
  parts.sentencePiece = sentencePieceAligner(spec);
  parts.prefixWords = level !== undefined && level.add_prefix_space !== true;
  if (spec.model.type === 'WordPiece' && pre?.type === 'BertPreTokenizer' && (norm === null || norm.type === 'BertNormalizer')) {
    const normalization = bertNormalization(norm ?? {});
    const added: AddedTokenInfo[] = spec.added_tokens.map((t) => ({ content: t.content, normalized: norm !== null && (t.normalized ?? !t.special) }));
    const aligner = new WordPieceAligner(normalization, added, spec.model.unk_token as string, spec.model.continuing_subword_prefix as string);
    parts.bert = { normalization, aligner };
  }
  return new Tokenizer(parts);
}

// Rust's char::is_whitespace is Unicode's White_Space: U+0085 is whitespace there and U+FEFF is not,
// the reverse of JavaScript's \s and trim().
const RUST_SPACE_RUN = /[^\p{White_Space}]+/gu;
const RUST_LEADING_SPACE = /^\p{White_Space}+/u;
const RUST_TRAILING_SPACE = /\p{White_Space}+$/u;

interface LibraryPart {
  normalize?: (text: string) => string;
  pre_tokenize_text?: (text: string) => string[];
  normalizers?: LibraryPart[];
  tokenizers?: LibraryPart[];
}

/**
 * Gives the library's Strip and Lowercase normalizers and WhitespaceSplit pre-tokenizer the semantics of
 * tokenizers (Rust), which transformers runs: Unicode White_Space, and lowercasing character by character
 * (JavaScript's toLowerCase turns a final capital sigma into ς, Rust into σ). SentencePiece-style
 * pipelines (ALBERT, DeBERTa-v3) use them; the parity test's SST-2, RTE and WNUT-17 rows caught each.
 */
function matchRustWhitespace(hf: HfTokenizer, spec: TokenizerJson): void {
  const lib = hf as unknown as { normalizer?: LibraryPart | null; pre_tokenizer?: LibraryPart | null };
  const patch = (part: LibraryPart | null | undefined, config: Json | null | undefined): void => {
    if (!part || !config) return;
    if (config.type === 'Sequence') {
      const children = (config.normalizers ?? config.pretokenizers) as Json[] | undefined;
      const objects = part.normalizers ?? part.tokenizers;
      if (Array.isArray(children) && Array.isArray(objects) && children.length === objects.length) children.forEach((c, i) => patch(objects[i], c));
    } else if (config.type === 'Lowercase') {
      part.normalize = (text) => text.replaceAll('Σ', 'σ').toLowerCase();
    } else if (config.type === 'Strip') {
      const left = config.strip_left !== false;
      const right = config.strip_right !== false;
      part.normalize = (text) => {
        let out = left ? text.replace(RUST_LEADING_SPACE, '') : text;
        if (right) out = out.replace(RUST_TRAILING_SPACE, '');
        return out;
      };
    } else if (config.type === 'WhitespaceSplit') {
      part.pre_tokenize_text = (text) => text.match(RUST_SPACE_RUN) ?? [];
    }
  };
  patch(lib.normalizer, spec.normalizer);
  patch(lib.pre_tokenizer, spec.pre_tokenizer);
}

/**
 * The byte-level pipeline for offsets, where advtrain can run it as tokenizers (Rust) does: BPE over
 * the whole byte alphabet without subword affixes, a ByteLevel pre-tokenizer alone, no normalizer.
 */
function byteLevelAligner(spec: TokenizerJson, hf: HfTokenizer): ByteLevelAligner | undefined {
  const m = spec.model;
  const pre = spec.pre_tokenizer;
  if (m.type !== 'BPE' || pre?.type !== 'ByteLevel' || spec.normalizer !== null) return undefined;
  if ((m.continuing_subword_prefix ?? '') !== '' || (m.end_of_word_suffix ?? '') !== '') return undefined;
  if (!BYTE_LEVEL_ALPHABET.every((c) => c in (m.vocab as Record<string, number>))) return undefined;
  const model = hf.model as unknown as BpeModel | null;
  if (!model || typeof model.encode !== 'function' || !(model.tokens_to_ids instanceof Map)) return undefined;
  return new ByteLevelAligner(
    {
      addPrefixSpace: pre.add_prefix_space === true,
      useRegex: pre.use_regex !== false,
      trims: trimPasses(spec.post_processor),
      addedTokens: spec.added_tokens.map((t) => ({
        id: t.id,
        content: t.content,
        lstrip: t.lstrip === true,
        rstrip: t.rstrip === true,
        singleWord: t.single_word === true,
        normalized: t.normalized ?? !t.special,
      })),
    },
    model,
  );
}

/** The offset-trimming steps of a post-processor: RobertaProcessing and ByteLevel with trim_offsets (tokenizers' defaults: true). */
function trimPasses(post: Json | null): Array<{ addPrefixSpace: boolean }> {
  if (post?.type === 'Sequence' && Array.isArray(post.processors)) return (post.processors as Json[]).flatMap((p) => trimPasses(p));
  if ((post?.type === 'RobertaProcessing' || post?.type === 'ByteLevel') && post.trim_offsets !== false) {
    return [{ addPrefixSpace: post.add_prefix_space !== false }];
  }
  return [];
}

/** The ByteLevel pre-tokenizer, alone or in a Sequence. */
function byteLevel(pre: Json | null): Json | undefined {
  if (pre?.type === 'ByteLevel') return pre;
  if (pre?.type === 'Sequence' && Array.isArray(pre.pretokenizers)) return (pre.pretokenizers as Json[]).find((p) => p?.type === 'ByteLevel');
  return undefined;
}

/** Special tokens named in special_tokens_map.json (first) or tokenizer_config.json. */
function declaredSpecials(dir: string, specialMap: Json, config: Json): Partial<Record<SpecialTokenName, string>> {
  const out: Partial<Record<SpecialTokenName, string>> = {};
  for (const name of SPECIAL_NAMES) {
    const key = `${name}_token`;
    for (const [file, obj] of [[SPECIAL_MAP_JSON, specialMap], [CONFIG_JSON, config]] as const) {
      const value = obj[key];
      if (value === undefined || value === null) continue;
      // transformers writes either the string or an AddedToken object with `content`.
      const content = typeof value === 'object' ? (value as Json).content : value;
      if (typeof content !== 'string') throw badFile(join(dir, file), key, 'a token string or an object with a string content', value);
      out[name] = content;
      break;
    }
  }
  return out;
}

/** For a tokenizer.json without configs: unk from the model, cls/sep from the post-processor, then conventional names. */
function inferSpecials(dir: string, declared: Partial<Record<SpecialTokenName, string>>, spec: TokenizerJson, template: Template): Record<SpecialTokenName, string> {
  const singleSpecials = template.single.filter((p) => p.kind === 'special');
  const m = spec.model;
  const unigramUnk = m.type === 'Unigram' && typeof m.unk_id === 'number' ? m.vocab[m.unk_id]?.[0] : undefined;
  const fromFile: Partial<Record<SpecialTokenName, string>> = {
    unk: typeof m.unk_token === 'string' ? m.unk_token : unigramUnk,
    cls: singleSpecials.length > 0 ? singleSpecials[0]!.tokens[0] : undefined,
    sep: singleSpecials.length > 1 ? singleSpecials.at(-1)!.tokens.at(-1) : undefined,
  };
  const added = new Set(spec.added_tokens.map((t) => t.content));
  // A file may list [PAD] etc. only in its vocabulary, not as added tokens.
  const pieces = m.type === 'Unigram' ? new Set(m.vocab.map(([piece]) => piece)) : undefined;
  const known = (t: string) => added.has(t) || (pieces ? pieces.has(t) : Object.hasOwn(m.vocab, t));
  const out = {} as Record<SpecialTokenName, string>;
  for (const name of SPECIAL_NAMES) {
    const token = declared[name] ?? fromFile[name] ?? CONVENTIONAL[name].find(known);
    if (token === undefined) {
      throw new AdvtrainError(
        `Expected a ${name} token in ${dir}: ${name}_token in ${SPECIAL_MAP_JSON} or ${CONFIG_JSON}, or a token in ${TOKENIZER_JSON} (added or in the vocabulary) named ${CONVENTIONAL[name].join(' or ')}; found none`,
        'ERR_CHECKPOINT',
      );
    }
    out[name] = token;
  }
  return out;
}

function checkTokenizerJson(raw: Json, file: string): TokenizerJson {
  const model = raw.model;
  if (typeof model !== 'object' || model === null || Array.isArray(model)) throw badFile(file, 'model', 'an object', model);
  const m = model as Json;
  if (m.type !== 'WordPiece' && m.type !== 'BPE' && m.type !== 'Unigram') throw badFile(file, 'model.type', "'WordPiece', 'BPE' or 'Unigram'", m.type);
  if (m.type === 'Unigram') checkUnigram(m, file);
  else checkVocab(m.vocab, file);
  if (m.type === 'BPE' && !Array.isArray(m.merges)) throw badFile(file, 'model.merges', 'an array', m.merges);
  const addedRaw = raw.added_tokens ?? [];
  if (!Array.isArray(addedRaw)) throw badFile(file, 'added_tokens', 'an array', addedRaw);
  addedRaw.forEach((t: unknown, i) => {
    const a = t as Partial<AddedTokenJson> | null;
    if (typeof a !== 'object' || a === null || typeof a.content !== 'string' || !Number.isInteger(a.id) || a.id! < 0) {
      throw badFile(file, `added_tokens[${i}]`, 'an object with an integer id and a string content', t);
    }
  });
  const parts: Json = {};
  for (const key of ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
    const part = raw[key] ?? null;
    if (part !== null && (typeof part !== 'object' || Array.isArray(part))) throw badFile(file, key, 'an object or null', part);
    parts[key] = part;
  }
  // tokenizers' defaults for WordPiece fields a file may leave out.
  const modelWithDefaults = m.type === 'WordPiece' ? { unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, ...m } : m;
  return { ...raw, ...parts, model: modelWithDefaults, added_tokens: addedRaw } as TokenizerJson;
}

/** A Unigram model: [piece, score] pairs, `unk_id` (or null) an index into them. */
function checkUnigram(m: Json, file: string): void {
  const vocab = m.vocab;
  if (!Array.isArray(vocab) || vocab.length === 0) throw badFile(file, 'model.vocab', 'a non-empty array of [piece, score] pairs', vocab);
  vocab.forEach((entry: unknown, i) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
      throw badFile(file, `model.vocab[${i}]`, 'a [piece, score] pair', entry);
    }
  });
  const unk = m.unk_id ?? null;
  if (unk !== null && (!Number.isInteger(unk) || (unk as number) < 0 || (unk as number) >= vocab.length)) {
    throw badFile(file, 'model.unk_id', `null or an index into model.vocab (0 to ${vocab.length - 1})`, unk);
  }
}

function checkVocab(vocab: unknown, file: string): void {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw badFile(file, 'model.vocab', 'an object of token → id', vocab);
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw badFile(file, `model.vocab['${token}']`, 'a token id (an integer >= 0)', id);
  }
}

interface BertSettings {
  do_lower_case: boolean;
  strip_accents: boolean | null;
  tokenize_chinese_chars: boolean;
}

function bertSettings(config: Json, file: string): BertSettings {
  const flag = (key: string, fallback: boolean): boolean => {
    const value = config[key] ?? fallback;
    if (typeof value !== 'boolean') throw badFile(file, key, 'a boolean', value);
    return value;
  };
  const strip = config.strip_accents ?? null;
  if (strip !== null && typeof strip !== 'boolean') throw badFile(file, 'strip_accents', 'a boolean or null', strip);
  return { do_lower_case: flag('do_lower_case', true), strip_accents: strip, tokenize_chinese_chars: flag('tokenize_chinese_chars', true) };
}

/** vocab.txt as transformers reads it: one token per line (universal newlines), the line number is the id, a repeated token keeps its last line. */
function parseVocab(bytes: Buffer): Map<string, number> {
  const lines = bytes.toString('utf8').split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((token, id) => vocab.set(token, id));
  return vocab;
}

/** The tokenizer.json transformers' BertConverter writes for a BertTokenizer with this vocabulary and config. */
function bertTokenizerJson(
  vocab: Map<string, number>,
  settings: BertSettings,
  specials: Record<SpecialTokenName, string>,
  config: Json,
  dir: string,
): TokenizerJson {
  const vocabFile = join(dir, VOCAB_TXT);
  const idOf = (name: SpecialTokenName): number => {
    const id = vocab.get(specials[name]);
    if (id === undefined) {
      throw new AdvtrainError(`Expected the ${name} token '${specials[name]}' (${name}_token) as a line of ${vocabFile} but it is not there`, 'ERR_CHECKPOINT');
    }
    return id;
  };
  // Tokens the config registers (transformers' added_tokens_decoder: id → token), then the special tokens.
  const added = new Map<string, AddedTokenJson>();
  const decoder = config.added_tokens_decoder ?? {};
  if (typeof decoder !== 'object' || decoder === null || Array.isArray(decoder)) {
    throw badFile(join(dir, CONFIG_JSON), 'added_tokens_decoder', 'an object of id → token', decoder);
  }
  for (const [key, value] of Object.entries(decoder)) {
    const t = value as Partial<AddedTokenJson> | null;
    if (!/^\d+$/.test(key) || typeof t !== 'object' || t === null || typeof t.content !== 'string') {
      throw badFile(join(dir, CONFIG_JSON), `added_tokens_decoder['${key}']`, 'an object with a string content under an integer id', value);
    }
    added.set(t.content, { ...t, id: Number(key), content: t.content });
  }
  for (const name of SPECIAL_NAMES) {
    if (!added.has(specials[name])) {
      added.set(specials[name], { id: idOf(name), content: specials[name], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    }
  }
  const template = (typeId: number, token: string): Json => ({ SpecialToken: { id: token, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number): Json => ({ Sequence: { id, type_id: typeId } });
  const { cls, sep } = specials;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...added.values()].sort((a, b) => a.id - b.id),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: settings.tokenize_chinese_chars,
      strip_accents: settings.strip_accents,
      lowercase: settings.do_lower_case,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [template(0, cls), sequence('A', 0), template(0, sep)],
      pair: [template(0, cls), sequence('A', 0), template(0, sep), sequence('B', 1), template(1, sep)],
      special_tokens: {
        [cls]: { id: cls, ids: [idOf('cls')], tokens: [cls] },
        [sep]: { id: sep, ids: [idOf('sep')], tokens: [sep] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: specials.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

/** What the library reads from tokenizer_config.json: decode's space clean-up and extra special tokens. */
function libraryConfig(config: Json, file: string): Json {
  const out: Json = {};
  const cleanup = config.clean_up_tokenization_spaces;
  if (cleanup !== undefined) {
    if (typeof cleanup !== 'boolean') throw badFile(file, 'clean_up_tokenization_spaces', 'a boolean', cleanup);
    out.clean_up_tokenization_spaces = cleanup;
  }
  const extra = config.additional_special_tokens;
  if (extra !== undefined) {
    if (!Array.isArray(extra)) throw badFile(file, 'additional_special_tokens', 'an array', extra);
    out.additional_special_tokens = extra.map((t: unknown) => (typeof t === 'object' && t !== null ? (t as Json).content : t));
  }
  return out;
}

function vocabSize(spec: TokenizerJson): number {
  let max = -1;
  const m = spec.model;
  if (m.type === 'Unigram') max = m.vocab.length - 1;
  else for (const id of Object.values(m.vocab)) if (id > max) max = id;
  for (const t of spec.added_tokens) if (t.id > max) max = t.id;
  return max + 1;
}

function tokenFields(specials: Record<SpecialTokenName, string>): Json {
  return Object.fromEntries(SPECIAL_NAMES.map((n) => [`${n}_token`, specials[n]]));
}

function json(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
}
