/**
 * BERT WordPiece pipelines (BertNormalizer + BertPreTokenizer + WordPiece): offsets and word ids,
 * which @huggingface/tokenizers does not report, and input fixes that bring the library's
 * BertNormalizer in line with tokenizers (Rust), which transformers' fast tokenizers use.
 *
 * The library still produces the tokens and ids. The aligner re-runs normalization one character at a
 * time, remembering where each normalized character came from, splits words the way BertPreTokenizer
 * does, and lays the library's tokens over those words.
 */
import { AdvtrainError, describeValue } from '../errors.js';

/** BertNormalizer settings, resolved the way the library reads them. */
export interface BertNormalization {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

/** Reads a BertNormalizer config; `strip_accents: null` follows `lowercase`. */
export function bertNormalization(c: Record<string, unknown>): BertNormalization {
  const lowercase = c.lowercase === true;
  return {
    cleanText: c.clean_text === true,
    handleChineseChars: c.handle_chinese_chars === true,
    stripAccents: lowercase ? c.strip_accents !== false : c.strip_accents === true,
    lowercase,
  };
}

// The CJK blocks tokenizers (Rust) spaces out, bert.rs `is_chinese_char`.
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const SUPPLEMENTARY_CJK = /[\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B920}-\u{2CEAF}\u{2F800}-\u{2FA1F}]/gu;

/**
 * The text to hand the library so that its BertNormalizer gives what tokenizers (Rust) gives:
 * - Rust lowercases one char at a time (Σ → σ); JS `toLowerCase` on the whole string applies the
 *   Final_Sigma rule (Σ → ς at the end of a word), so a final capital sigma became another token.
 * - The library tests UTF-16 code units for Chinese characters and so never spaces out the CJK blocks
 *   above U+FFFF; Rust does.
 */
export function libraryInput(text: string, n: BertNormalization): string {
  let out = text;
  if (n.lowercase) out = out.replaceAll('Σ', 'σ');
  if (n.handleChineseChars) out = out.replace(SUPPLEMENTARY_CJK, ' $& ');
  return out;
}

// The library's BertNormalizer clean_text: drop NUL, U+FFFD and control characters other than \t \n \r.
const CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const WHITESPACE = /^\s$/u;
// BertPreTokenizer: runs of non-space non-punctuation, or single punctuation characters.
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const WORD = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, 'gu');

/** Normalized text with, for every UTF-16 unit, the [start, end) of the original character it came from. */
export interface Normalized {
  text: string;
  start: number[];
  end: number[];
}

/** An aligner that cannot lay token `k` over `text`: the library and advtrain's pipeline disagree. */
export function alignmentError(text: string, tokens: readonly string[], k: number): AdvtrainError {
  return new AdvtrainError(
    `Cannot align token ${k} ('${tokens[k] ?? ''}') of ${describeValue(text)} to the text; this is an advtrain bug, please report it with the text`,
    'ERR_DATA',
  );
}

/** Longest-match splitting on added tokens, as the library's DictionarySplitter does. */
export class AddedTokenSplitter {
  readonly #root = new Map<string, TrieNode>();

  constructor(contents: readonly string[]) {
    for (const content of contents) {
      if (content.length === 0) continue;
      let nodes = this.#root;
      let node: TrieNode | undefined;
      // UTF-16 units, as split() walks the text.
      for (let i = 0; i < content.length; i++) {
        const unit = content[i]!;
        node = nodes.get(unit);
        if (!node) nodes.set(unit, (node = { next: new Map(), end: false }));
        nodes = node.next;
      }
      node!.end = true;
    }
  }

  /** Spans of `text`: added-token matches and the text between them. */
  split(text: string): Array<{ start: number; end: number; added: boolean }> {
    const spans: Array<{ start: number; end: number; added: boolean }> = [];
    if (this.#root.size === 0) return text.length ? [{ start: 0, end: text.length, added: false }] : spans;
    let plainStart = 0;
    let i = 0;
    while (i < text.length) {
      let nodes = this.#root;
      let matchEnd = -1;
      for (let j = i; j < text.length; j++) {
        const node = nodes.get(text[j]!);
        if (!node) break;
        if (node.end) matchEnd = j + 1;
        nodes = node.next;
      }
      if (matchEnd < 0) {
        i++;
        continue;
      }
      if (i > plainStart) spans.push({ start: plainStart, end: i, added: false });
      spans.push({ start: i, end: matchEnd, added: true });
      i = plainStart = matchEnd;
    }
    if (plainStart < text.length) spans.push({ start: plainStart, end: text.length, added: false });
    return spans;
  }
}

interface TrieNode {
  next: Map<string, TrieNode>;
  end: boolean;
}

/** An added token; `normalized`: matched in the normalized text (the library's rule: `normalized ?? !special`, and never without a normalizer). */
export interface AddedTokenInfo {
  content: string;
  normalized: boolean;
}

/**
 * Lays WordPiece tokens over the text they came from: per token, [start, end) UTF-16 offsets into the
 * original text and the index of its word (a BertPreTokenizer word or an added token).
 */
export class WordPieceAligner {
  readonly #n: BertNormalization;
  readonly #raw: AddedTokenSplitter;
  readonly #normalized: AddedTokenSplitter;
  readonly #unk: string;
  readonly #prefix: string;

  constructor(n: BertNormalization, addedTokens: readonly AddedTokenInfo[], unkToken: string, prefix: string) {
    this.#n = n;
    this.#unk = unkToken;
    this.#prefix = prefix;
    // As in the library: tokens with normalized=false match the raw text, the others the normalized text.
    this.#raw = new AddedTokenSplitter(addedTokens.filter((t) => !t.normalized).map((t) => t.content));
    this.#normalized = new AddedTokenSplitter(addedTokens.filter((t) => t.normalized).map((t) => this.#normalize(t.content, 0, t.content.length).text));
  }

  align(text: string, tokens: readonly string[]): { offsets: Array<[number, number]>; wordIds: number[] } {
    const offsets: Array<[number, number]> = [];
    const wordIds: number[] = [];
    let k = 0;
    let word = 0;
    const fail = (): AdvtrainError => alignmentError(text, tokens, k);
    const emit = (start: number, end: number): void => {
      if (k >= tokens.length) throw fail();
      offsets.push([start, end]);
      wordIds.push(word);
      k++;
    };
    for (const section of this.#raw.split(text)) {
      if (section.added) {
        emit(section.start, section.end);
        word++;
        continue;
      }
      const norm = this.#normalize(text, section.start, section.end);
      for (const sub of this.#normalized.split(norm.text)) {
        if (sub.added) {
          emit(norm.start[sub.start]!, norm.end[sub.end - 1]!);
          word++;
          continue;
        }
        for (const m of norm.text.slice(sub.start, sub.end).matchAll(WORD)) {
          const ws = sub.start + m.index;
          const we = ws + m[0].length;
          if (tokens[k] === this.#unk) {
            emit(norm.start[ws]!, norm.end[we - 1]!);
          } else {
            // Advance by piece length: the pieces spell the word, minus the continuation prefix.
            for (let p = ws; p < we; ) {
              const token = tokens[k];
              if (token === undefined) throw fail();
              const len = p === ws || !token.startsWith(this.#prefix) ? token.length : token.length - this.#prefix.length;
              if (len === 0 || p + len > we) throw fail();
              emit(norm.start[p]!, norm.end[p + len - 1]!);
              p += len;
            }
          }
          word++;
        }
      }
    }
    if (k !== tokens.length) throw fail();
    return { offsets, wordIds };
  }

  /** BertNormalizer over text[from, to), one code point at a time, in the library's order. */
  #normalize(text: string, from: number, to: number): Normalized {
    const n = this.#n;
    const out: Normalized = { text: '', start: [], end: [] };
    const parts: string[] = [];
    for (let i = from; i < to; ) {
      const cp = text.codePointAt(i)!;
      const width = cp > 0xffff ? 2 : 1;
      let s = text.slice(i, i + width);
      if (n.cleanText && (cp === 0 || cp === 0xfffd || (CONTROL.test(s) && s !== '\t' && s !== '\n' && s !== '\r'))) s = '';
      else if (n.cleanText && WHITESPACE.test(s)) s = ' ';
      if (n.handleChineseChars && isChineseChar(cp)) s = ` ${s} `;
      if (n.lowercase) s = s.toLowerCase();
      if (n.stripAccents) s = s.normalize('NFD').replace(/\p{Mn}/gu, '');
      parts.push(s);
      for (let u = 0; u < s.length; u++) {
        out.start.push(i);
        out.end.push(i + width);
      }
      i += width;
    }
    out.text = parts.join('');
    return out;
  }
}
