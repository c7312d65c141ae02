/**
 * Byte-level BPE pipelines (RoBERTa, GPT-2: no normalizer, a ByteLevel pre-tokenizer, a BPE model):
 * the steps before and after the BPE model, done here the way tokenizers (Rust) does them, so that
 * ids, offsets and word ids equal transformers' fast tokenizers. The library only runs the BPE model
 * on each pre-token (`model.encode`); it reports no offsets.
 *
 * Rust's order, which this follows: added tokens are split off first (AddedVocabulary::find_matches:
 * leftmost-longest, lstrip/rstrip swallow whitespace into the added token's span, single_word needs
 * non-word characters around); each remaining section gets a leading space when add_prefix_space is
 * on (aligned to the section's first character), is split by the GPT-2 regex (each piece is a word),
 * and turned into bytes, each byte aligned to the character it came from. Offsets are counted in code
 * points, as Rust reports them, trimmed as the post-processor does (trim_offsets), then turned into
 * UTF-16 offsets for JS.
 */
import { AdvtrainError, describeValue } from '../errors.js';

/** GPT-2's byte → printable character table (bytes_char in tokenizers' byte_level.rs). */
const BYTE_CHARS: readonly string[] = (() => {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : 256 + n++);
  return out;
})();
const SPACE_CHAR = BYTE_CHARS[0x20]!;

/** The byte-level characters, all of which a byte-level BPE vocabulary must hold. */
export const BYTE_LEVEL_ALPHABET: readonly string[] = BYTE_CHARS;

// The GPT-2 split regex. Rust runs it in Oniguruma, where \s is Unicode White_Space (JS's \s adds
// U+FEFF and lacks U+0085).
const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
const WHITE = /^\p{White_Space}$/u;
// Rust regex's \w (Unicode): what single_word looks at beside a match.
const WORD_CHAR = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;

/** An added token as tokenizer.json describes it. */
export interface ByteLevelAddedToken {
  id: number;
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
  /** Matched after normalization (a second pass in Rust); without a normalizer, the same text. */
  normalized: boolean;
}

/** What a byte-level pipeline needs from tokenizer.json. */
export interface ByteLevelSettings {
  /** The pre-tokenizer's add_prefix_space. */
  addPrefixSpace: boolean;
  /** The pre-tokenizer's use_regex. */
  useRegex: boolean;
  /**
   * The offset trimming passes of the post-processor (RobertaProcessing or ByteLevel with trim_offsets,
   * once each in a Sequence), each with its add_prefix_space, which spares the space the pre-tokenizer
   * added before the first token.
   */
  trims: ReadonlyArray<{ addPrefixSpace: boolean }>;
  addedTokens: readonly ByteLevelAddedToken[];
}

/** The BPE model of @huggingface/tokenizers: byte-level pre-tokens in, tokens out. */
export interface BpeModel {
  encode(pretokens: string[]): string[];
  tokens_to_ids: Map<string, number>;
}

/** One text's tokens (no special tokens), with UTF-16 offsets into it and word ids. */
export interface ByteLevelSequence {
  ids: number[];
  tokens: string[];
  offsets: Array<[number, number]>;
  wordIds: number[];
}

/** A token before trimming: code-point offsets and the spaces Rust's token value starts and ends with. */
interface RawToken {
  id: number;
  token: string;
  start: number;
  end: number;
  lead: number;
  trail: number;
  word: number;
}

/** A trie over added-token contents, UTF-16 unit by unit. */
interface TrieNode {
  next: Map<string, TrieNode>;
  token?: ByteLevelAddedToken;
}

function buildTrie(tokens: readonly ByteLevelAddedToken[]): TrieNode | undefined {
  if (tokens.length === 0) return undefined;
  const root: TrieNode = { next: new Map() };
  for (const t of tokens) {
    if (t.content.length === 0) continue;
    let node = root;
    for (const unit of t.content) {
      let child = node.next.get(unit);
      if (!child) node.next.set(unit, (child = { next: new Map() }));
      node = child;
    }
    node.token = t;
  }
  return root;
}

interface Section {
  start: number;
  end: number;
  added?: ByteLevelAddedToken;
}

/** Rust's AddedVocabulary::find_matches over text[from, to): added-token spans and the text between. */
function findMatches(trie: TrieNode | undefined, text: string, from: number, to: number): Section[] {
  if (!trie) return [{ start: from, end: to }];
  const out: Section[] = [];
  let plain = from;
  let i = from;
  while (i < to) {
    let node: TrieNode | undefined = trie;
    let match: { end: number; token: ByteLevelAddedToken } | undefined;
    for (let j = i; j < to; j++) {
      node = node.next.get(text[j]!);
      if (!node) break;
      if (node.token) match = { end: j + 1, token: node.token };
    }
    if (!match) {
      i++;
      continue;
    }
    let start = i;
    let end = match.end;
    const t = match.token;
    i = end; // the automaton's next search starts after this match, kept or not
    if (t.singleWord) {
      const before = start > from ? lastChar(text, start) : undefined;
      const after = end < to ? String.fromCodePoint(text.codePointAt(end)!) : undefined;
      if ((before !== undefined && WORD_CHAR.test(before)) || (after !== undefined && WORD_CHAR.test(after))) continue;
    }
    if (t.lstrip) {
      let s = start;
      while (s > from && WHITE.test(lastChar(text, s))) s -= lastChar(text, s).length;
      start = Math.max(s, plain);
    }
    if (t.rstrip) {
      while (end < to && WHITE.test(String.fromCodePoint(text.codePointAt(end)!))) end += String.fromCodePoint(text.codePointAt(end)!).length;
      i = end;
    }
    if (plain < start) out.push({ start: plain, end: start });
    out.push({ start, end, added: t });
    plain = end;
  }
  if (plain < to) out.push({ start: plain, end: to });
  return out;
}

function lastChar(text: string, end: number): string {
  const low = text.charCodeAt(end - 1);
  if (end >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(end - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.slice(end - 2, end);
  }
  return text.slice(end - 1, end);
}

/** Code points at the start (or end) of `s` that are whitespace or the byte-level space. */
function spaces(s: string, fromEnd: boolean): number {
  const chars = [...s];
  if (fromEnd) chars.reverse();
  let n = 0;
  for (const c of chars) {
    if (c !== SPACE_CHAR && !WHITE.test(c)) break;
    n++;
  }
  return n;
}

/**
 * Runs a byte-level pipeline around the library's BPE model and computes offsets and word ids.
 */
export class ByteLevelAligner {
  readonly #s: ByteLevelSettings;
  readonly #model: BpeModel;
  readonly #raw: TrieNode | undefined;
  readonly #normalized: TrieNode | undefined;
  readonly #encoder = new TextEncoder();

  constructor(settings: ByteLevelSettings, model: BpeModel) {
    this.#s = settings;
    this.#model = model;
    this.#raw = buildTrie(settings.addedTokens.filter((t) => !t.normalized));
    this.#normalized = buildTrie(settings.addedTokens.filter((t) => t.normalized));
  }

  /** Encodes one text as transformers does, special tokens left out. */
  encode(text: string): ByteLevelSequence {
    const raw = this.#tokens(text, this.#s.addPrefixSpace);
    for (const pass of this.#s.trims) trim(raw, pass.addPrefixSpace);
    return finish(text, raw);
  }

  /**
   * Pre-split words (`is_split_into_words=True`) with add_prefix_space on, as transformers requires for
   * byte-level BPE: each word on its own, word ids by input word, offsets into each word; trimming runs
   * once over the whole sequence, as Rust's post-processor does.
   */
  encodeWords(words: readonly string[]): ByteLevelSequence {
    const perWord = words.map((w) => this.#tokens(w, true));
    const all = perWord.flat();
    // transformers' add_prefix_space=True sets it on the post-processor too.
    this.#s.trims.forEach(() => trim(all, true));
    const out: ByteLevelSequence = { ids: [], tokens: [], offsets: [], wordIds: [] };
    perWord.forEach((raw, i) => {
      const seq = finish(words[i]!, raw);
      out.ids.push(...seq.ids);
      out.tokens.push(...seq.tokens);
      out.offsets.push(...seq.offsets);
      for (let k = 0; k < seq.ids.length; k++) out.wordIds.push(i);
    });
    return out;
  }

  #tokens(text: string, prefix: boolean): RawToken[] {
    const out: RawToken[] = [];
    const cp = codePointIndex(text);
    let word = 0;
    const addedToken = (sec: Section): void => {
      const value = text.slice(sec.start, sec.end);
      out.push({ id: sec.added!.id, token: sec.added!.content, start: cp[sec.start]!, end: cp[sec.end]!, lead: spaces(value, false), trail: spaces(value, true), word: word++ });
    };
    for (const sec of findMatches(this.#raw, text, 0, text.length)) {
      if (sec.added) {
        addedToken(sec);
        continue;
      }
      for (const sub of findMatches(this.#normalized, text, sec.start, sec.end)) {
        if (sub.added) {
          addedToken(sub);
          continue;
        }
        const body = text.slice(sub.start, sub.end);
        // add_prefix_space: the space shares the alignment of the first character (NormalizedString::prepend).
        const withSpace = prefix && !body.startsWith(' ');
        const piece = withSpace ? ` ${body}` : body;
        const pieceStart = withSpace ? sub.start - 1 : sub.start;
        const origin = (unit: number): number => Math.max(unit, sub.start);
        const matches = this.#s.useRegex ? isolated(piece) : [[0, piece.length] as [number, number]];
        for (const [ms, me] of matches) {
          // Bytes of the piece, each with the code-point range of its character.
          const chars: string[] = [];
          const starts: number[] = [];
          const ends: number[] = [];
          for (let u = ms; u < me; ) {
            const c = String.fromCodePoint(piece.codePointAt(u)!);
            const at = origin(pieceStart + u);
            for (const b of this.#encoder.encode(c)) {
              chars.push(BYTE_CHARS[b]!);
              starts.push(cp[at]!);
              ends.push(cp[at]! + 1);
            }
            u += c.length;
          }
          const pretoken = chars.join('');
          let p = 0;
          for (const token of this.#model.encode([pretoken])) {
            const id = this.#model.tokens_to_ids.get(token);
            if (id === undefined || !pretoken.startsWith(token, p) || token.length === 0) {
              throw new AdvtrainError(
                `Cannot align BPE token '${token}' of ${describeValue(text)} to its bytes; this is an advtrain bug, please report it with the text`,
                'ERR_DATA',
              );
            }
            const len = token.length; // byte-level characters are one UTF-16 unit each
            out.push({ id, token, start: starts[p]!, end: ends[p + len - 1]!, lead: spaces(token, false), trail: spaces(token, true), word });
            p += len;
          }
          word++;
        }
      }
    }
    return out;
  }

}

/** tokenizers' byte_level.rs `process_offsets` over one encoding's tokens (code-point offsets). */
function trim(raw: readonly RawToken[], addPrefixSpace: boolean): void {
  raw.forEach((t, i) => {
    let lead = t.lead;
    if (lead > 0) {
      // Rust: "is_first = i == 0 || offsets.0 == 0" (pre-split words each start at 0).
      if ((i === 0 || t.start === 0) && addPrefixSpace && lead === 1) lead = 0;
      t.start = Math.min(t.start + lead, t.end);
    }
    if (t.trail > 0 && t.end >= t.trail) t.end = Math.max(t.end - t.trail, t.start);
  });
}

/** The pieces of Rust's regex split with SplitDelimiterBehavior::Isolated: matches and the gaps between. */
function isolated(s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let last = 0;
  for (const m of s.matchAll(SPLIT)) {
    if (m.index > last) out.push([last, m.index]);
    out.push([m.index, m.index + m[0].length]);
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push([last, s.length]);
  return out;
}

/** For each UTF-16 position of `text` (and its end), the number of code points before it. */
function codePointIndex(text: string): number[] {
  const idx = new Array<number>(text.length + 1);
  let n = 0;
  for (let u = 0; u < text.length; ) {
    const width = (text.codePointAt(u) ?? 0) > 0xffff ? 2 : 1;
    idx[u] = n;
    if (width === 2) idx[u + 1] = n;
    n++;
    u += width;
  }
  idx[text.length] = n;
  return idx;
}

/** Code-point offsets back to UTF-16 offsets into `text`. */
function finish(text: string, raw: readonly RawToken[]): ByteLevelSequence {
  const units: number[] = [];
  let u = 0;
  for (const c of text) {
    units.push(u);
    u += c.length;
  }
  units.push(u);
  return {
    ids: raw.map((t) => t.id),
    tokens: raw.map((t) => t.token),
    offsets: raw.map((t) => [units[t.start]!, units[t.end]!]),
    wordIds: raw.map((t) => t.word),
  };
}
