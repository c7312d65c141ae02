/**
 * Words of a text as the model sees them: BERT's pre-tokenizer splits on whitespace and punctuation,
 * and the WordPiece encoding's `wordIds` and `offsets` tie each token to its word and its characters,
 * so a word of several pieces (un ##bel ##ie ##va ##bly) is one unit to delete or replace.
 */
import { invalidArg } from '../errors.js';
import type { Encoding, Tokenizer } from '../tokenizer/tokenizer.js';

/** One word of the attacked text: its index (the tokenizer's word id), characters and token pieces. */
export interface Word {
  index: number;
  start: number;
  end: number;
  text: string;
  pieces: number[];
}

/** Texts of an example, which of them is attacked, and that text's words within the truncated encoding. */
export interface Segmented {
  texts: string[];
  /** 0 for single texts; 1 (the hypothesis, question, second sentence) for pairs. */
  target: 0 | 1;
  words: Word[];
}

/** The encoding's offsets and word ids, or an error naming what the word attacks need. */
export function wordAlignment(enc: Encoding, name: string): { offsets: Array<[number, number]>; wordIds: Array<number | null> } {
  if (!enc.offsets || !enc.wordIds) throw invalidArg(name, 'a tokenizer with token offsets and word ids (BERT WordPiece, byte-level BPE or SentencePiece Unigram: word-level attacks need them)', undefined);
  return { offsets: enc.offsets, wordIds: enc.wordIds };
}

/**
 * The words of an example's attacked text that survive truncation to `maxLength`. For a pair the second
 * text is attacked, as TextAttack's InputColumnModification does for premise/hypothesis.
 *
 * @example
 * ```ts
 * segmentWords(tok, ['A man sleeps.', 'Nobody sleeps.'], 128).words.map((w) => w.text); // ['Nobody', 'sleeps', '.']
 * ```
 */
export function segmentWords(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): Segmented {
  const target = texts.length === 2 ? 1 : 0;
  const enc = tokenizer.encode(texts.length === 2 ? [texts[0]!, texts[1]!] : texts[0]!, { maxLength });
  const { offsets, wordIds } = wordAlignment(enc, 'tokenizer');
  const byIndex = new Map<number, Word>();
  enc.ids.forEach((id, t) => {
    const w = wordIds[t];
    if (enc.sequenceIds[t] !== target || w === null || w === undefined) return;
    const [s, e] = offsets[t]!;
    const word = byIndex.get(w);
    if (word) {
      word.end = Math.max(word.end, e);
      word.pieces.push(id);
    } else {
      byIndex.set(w, { index: w, start: s, end: e, text: '', pieces: [id] });
    }
  });
  const words = [...byIndex.values()].sort((a, b) => a.index - b.index);
  for (const w of words) w.text = texts[target]!.slice(w.start, w.end);
  return { texts: [...texts], target, words };
}

/**
 * The attacked text with some words replaced ('' deletes a word and the space before it); the other
 * texts unchanged.
 *
 * @example
 * ```ts
 * renderTexts(seg, new Map([[0, 'Someone']])); // ['A man sleeps.', 'Someone sleeps.']
 * ```
 */
export function renderTexts(seg: Segmented, replacements: ReadonlyMap<number, string>): string[] {
  const text = seg.texts[seg.target]!;
  let out = '';
  let pos = 0;
  for (const w of seg.words) {
    const r = replacements.get(w.index);
    if (r === undefined) continue;
    let start = w.start;
    if (r === '' && start > pos && text[start - 1] === ' ') start--;
    out += text.slice(pos, start) + r;
    pos = w.end;
  }
  out += text.slice(pos);
  const texts = [...seg.texts];
  texts[seg.target] = out;
  return texts;
}

/**
 * The attacked text after `replacements`, from the first character of word `first` to the last of word
 * `last` (TextAttack's text windows are such substrings).
 */
export function renderSpan(seg: Segmented, replacements: ReadonlyMap<number, string>, first: number, last: number): string {
  const text = seg.texts[seg.target]!;
  let out = '';
  let pos = 0;
  let from = -1;
  let to = -1;
  for (const w of seg.words) {
    const r = replacements.get(w.index);
    if (w.index === first) from = out.length + (w.start - pos);
    if (r !== undefined) {
      out += text.slice(pos, w.start) + r;
      pos = w.end;
    }
    if (w.index === last) to = r !== undefined ? out.length : out.length + (w.end - pos);
  }
  out += text.slice(pos);
  return out.slice(from, to);
}

/** Matches the substitute's case to the word's: Capitalised or UPPER. */
export function matchCase(word: string, substitute: string): string {
  if (word.length > 1 && word === word.toUpperCase() && word !== word.toLowerCase()) return substitute.toUpperCase();
  if (word[0] !== undefined && word[0] !== word[0].toLowerCase()) return substitute[0]!.toUpperCase() + substitute.slice(1);
  return substitute;
}

/** TextAttack's word count of an example: words with a letter or digit, over all its texts (within `maxLength`). */
export function countWords(tokenizer: Tokenizer, texts: readonly string[], maxLength: number): number {
  const enc = tokenizer.encode(texts.length === 2 ? [texts[0]!, texts[1]!] : texts[0]!, { maxLength });
  const { offsets, wordIds } = wordAlignment(enc, 'tokenizer');
  const spans = new Map<string, [number, number, number]>();
  enc.sequenceIds.forEach((s, t) => {
    const w = wordIds[t];
    if (s === null || w === null || w === undefined) return;
    const key = `${s}:${w}`;
    const [a, b] = offsets[t]!;
    const span = spans.get(key);
    if (span) span[2] = Math.max(span[2], b);
    else spans.set(key, [s, a, b]);
  });
  let n = 0;
  for (const [s, a, b] of spans.values()) if (/[\p{L}\p{N}]/u.test(texts[s]!.slice(a, b))) n++;
  return n;
}
