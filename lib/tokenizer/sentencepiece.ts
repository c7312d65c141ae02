/**
 * Offsets and word ids for SentencePiece-style pipelines (DeBERTa-v2/v3, ALBERT): a Unigram model
 * behind a Metaspace pre-tokenizer, with the normalizers transformers builds for them. The library
 * gives the tokens; this lays them back over the original text, tracking every normalized UTF-16 unit
 * to the original character it came from, as tokenizers (Rust) aligns them: a replacement takes the
 * place of the last character it replaces, a prepended "▁" that of the character it precedes, a
 * composed character that of its first part.
 */
import type { AdvtrainError } from '../errors.js';
import { AddedTokenSplitter, alignmentError, type Normalized } from './wordpiece.js';

type Json = Record<string, unknown>;

/** One normalizer step, applied to a section of text with its alignment. */
type Step = (n: Normalized) => Normalized;

interface PreTokenizer {
  whitespaceSplit: boolean;
  punctuation: boolean;
  replacement: string;
  prepend: 'always' | 'first' | 'never';
  split: boolean;
}

const PRECOMPILED_REMOVED = /^[\u0001-\u0008\u000B\u000E-\u001F\u007F\u008F\u009F]$/u;
const PRECOMPILED_SPACE = /^[\u0009\u000A\u000C\u000D\u00A0\u1680\u2000-\u200F\u2028\u2029\u202F\u205F\u2581\u3000\uFEFF\uFFFD]$/u;
const PUNCTUATION = /^[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]$/u;

/**
 * The aligner for a tokenizer.json, or undefined where this pipeline is not one it follows exactly
 * (then the tokenizer reports no offsets, as before): a Unigram model, normalizers among Replace, NFC,
 * NFKC, NFD, NFKD, Lowercase, StripAccents, Strip and Precompiled (as the library approximates it), a Metaspace pre-tokenizer alone or after WhitespaceSplit and Punctuation('isolated'),
 * and added tokens matched on the raw text without strip flags.
 */
export function sentencePieceAligner(spec: Json): SentencePieceAligner | undefined {
  const model = spec.model as Json;
  if (model.type !== 'Unigram') return undefined;
  const steps = normalizerSteps((spec.normalizer as Json | null) ?? null);
  const pre = preTokenizer((spec.pre_tokenizer as Json | null) ?? null);
  if (!steps || !pre) return undefined;
  const added = (spec.added_tokens as Json[]) ?? [];
  // The library's rule: normalized defaults to !special. Tokens matched after normalization or with
  // strip flags would need more than this follows.
  if (added.some((t) => (t.normalized ?? !t.special) === true || t.lstrip === true || t.rstrip === true || t.single_word === true)) return undefined;
  return new SentencePieceAligner(
    steps,
    pre,
    added.map((t) => t.content as string),
  );
}

export class SentencePieceAligner {
  readonly #steps: Step[];
  readonly #pre: PreTokenizer;
  readonly #added: AddedTokenSplitter;

  constructor(steps: Step[], pre: PreTokenizer, added: readonly string[]) {
    this.#steps = steps;
    this.#pre = pre;
    this.#added = new AddedTokenSplitter(added);
  }

  /** [start, end) UTF-16 offsets into `text` and the word (pre-token or added token) of each token. */
  align(text: string, tokens: readonly string[]): { offsets: Array<[number, number]>; wordIds: number[] } {
    const offsets: Array<[number, number]> = [];
    const wordIds: number[] = [];
    let k = 0;
    let word = 0;
    let section = 0;
    const fail = (): AdvtrainError => alignmentError(text, tokens, k);
    for (const span of this.#added.split(text)) {
      if (span.added) {
        if (k >= tokens.length) throw fail();
        offsets.push([span.start, span.end]);
        wordIds.push(word++);
        k++;
        continue;
      }
      let n: Normalized = { text: text.slice(span.start, span.end), start: [], end: [] };
      for (let i = span.start; i < span.end; i++) {
        const width = i + 1 < span.end && isHighSurrogate(text.charCodeAt(i)) ? 2 : 1;
        for (let u = 0; u < width; u++) {
          n.start.push(i);
          n.end.push(i + width);
        }
        i += width - 1;
      }
      for (const step of this.#steps) n = step(n);
      for (const piece of this.#preTokenize(n, section++)) {
        // The pieces of one pre-token spell it (an unknown run included): advance by their lengths.
        for (let p = 0; p < piece.text.length; ) {
          const token = tokens[k];
          if (token === undefined || token.length === 0 || p + token.length > piece.text.length || piece.text.slice(p, p + token.length) !== token) throw fail();
          offsets.push([piece.start[p]!, piece.end[p + token.length - 1]!]);
          wordIds.push(word);
          p += token.length;
          k++;
        }
        word++;
      }
    }
    if (k !== tokens.length) throw fail();
    return { offsets, wordIds };
  }

  #preTokenize(n: Normalized, section: number): Normalized[] {
    const pre = this.#pre;
    let pieces = [n];
    if (pre.whitespaceSplit) pieces = pieces.flatMap((p) => splitWhere(p, (c) => /^\p{White_Space}$/u.test(c), 'remove'));
    if (pre.punctuation) pieces = pieces.flatMap((p) => splitWhere(p, (c) => PUNCTUATION.test(c), 'isolate'));
    const out: Normalized[] = [];
    pieces.forEach((p) => {
      let m = mapUnits(p, (c) => (c === ' ' ? pre.replacement : c));
      const prepend = pre.prepend === 'always' || (pre.prepend === 'first' && section === 0);
      if (prepend && m.text.length > 0 && !m.text.startsWith(pre.replacement)) {
        m = { text: pre.replacement + m.text, start: [m.start[0]!, ...m.start], end: [m.end[0]!, ...m.end] };
      }
      if (!pre.split) {
        if (m.text.length > 0) out.push(m);
        return;
      }
      // MergedWithNext: every replacement character starts a piece.
      let from = 0;
      for (let i = 1; i <= m.text.length; i++) {
        if (i === m.text.length || m.text[i] === pre.replacement) {
          if (i > from) out.push(slice(m, from, i));
          from = i;
        }
      }
    });
    return out;
  }
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function slice(n: Normalized, from: number, to: number): Normalized {
  return { text: n.text.slice(from, to), start: n.start.slice(from, to), end: n.end.slice(from, to) };
}

/** Code points of n.text with the index of their first unit. */
function* codePoints(text: string): Generator<[string, number]> {
  for (let i = 0; i < text.length; ) {
    const c = String.fromCodePoint(text.codePointAt(i)!);
    yield [c, i];
    i += c.length;
  }
}

/** Maps each code point to a string; every unit it becomes keeps the code point's alignment. */
function mapUnits(n: Normalized, f: (c: string) => string): Normalized {
  const out: Normalized = { text: '', start: [], end: [] };
  const parts: string[] = [];
  for (const [c, i] of codePoints(n.text)) {
    const s = f(c);
    parts.push(s);
    for (let u = 0; u < s.length; u++) {
      out.start.push(n.start[i]!);
      out.end.push(n.end[i]!);
    }
  }
  out.text = parts.join('');
  return out;
}

/** Splits at code points matching `is`: dropping them (WhitespaceSplit) or keeping each as its own piece (isolated). */
function splitWhere(n: Normalized, is: (c: string) => boolean, behavior: 'remove' | 'isolate'): Normalized[] {
  const out: Normalized[] = [];
  let from = 0;
  for (const [c, i] of codePoints(n.text)) {
    if (!is(c)) continue;
    if (i > from) out.push(slice(n, from, i));
    if (behavior === 'isolate') out.push(slice(n, i, i + c.length));
    from = i + c.length;
  }
  if (from < n.text.length) out.push(slice(n, from, n.text.length));
  return out;
}

/** Unicode normalization per combining sequence; output code point i takes input code point min(i, last)'s alignment. */
function unicodeForm(form: 'NFC' | 'NFKC' | 'NFD' | 'NFKD', keep?: string): Step {
  return (n) => {
    const out: Normalized = { text: '', start: [], end: [] };
    const parts: string[] = [];
    const cps = [...codePoints(n.text)];
    for (let a = 0; a < cps.length; ) {
      let b = a + 1;
      while (b < cps.length && /^\p{M}$/u.test(cps[b]![0])) b++;
      const seq = cps.slice(a, b);
      const joined = seq.map(([c]) => c).join('');
      const s = keep !== undefined && joined.startsWith(keep) ? keep + joined.slice(keep.length).normalize(form) : joined.normalize(form);
      parts.push(s);
      let j = 0;
      for (const [c] of codePoints(s)) {
        const [, at] = seq[Math.min(j, seq.length - 1)]!;
        for (let u = 0; u < c.length; u++) {
          out.start.push(n.start[at]!);
          out.end.push(n.end[at]!);
        }
        j++;
      }
      a = b;
    }
    out.text = parts.join('');
    return out;
  };
}

/** Replace: each match gives way to `content`, whose units take the alignment of the match's last unit. */
function replace(pattern: RegExp, content: string): Step {
  return (n) => {
    const out: Normalized = { text: '', start: [], end: [] };
    const parts: string[] = [];
    let last = 0;
    const keep = (from: number, to: number): void => {
      parts.push(n.text.slice(from, to));
      out.start.push(...n.start.slice(from, to));
      out.end.push(...n.end.slice(from, to));
    };
    for (const m of n.text.matchAll(pattern)) {
      if (m[0].length === 0) continue;
      keep(last, m.index);
      const tail = m.index + m[0].length - 1;
      parts.push(content);
      for (let u = 0; u < content.length; u++) {
        out.start.push(n.start[tail]!);
        out.end.push(n.end[tail]!);
      }
      last = m.index + m[0].length;
    }
    keep(last, n.text.length);
    out.text = parts.join('');
    return out;
  };
}

function strip(left: boolean, right: boolean): Step {
  return (n) => {
    let from = 0;
    let to = n.text.length;
    if (left) from = n.text.length - n.text.replace(/^\p{White_Space}+/u, '').length;
    if (right) to = n.text.replace(/\p{White_Space}+$/u, '').length;
    return to > from ? slice(n, from, to) : { text: '', start: [], end: [] };
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The steps of a normalizer, or undefined when one is not followed. */
function normalizerSteps(config: Json | null): Step[] | undefined {
  if (config === null) return [];
  switch (config.type) {
    case 'Sequence': {
      const all = (config.normalizers as Json[]).map((c) => normalizerSteps(c));
      return all.every((s) => s !== undefined) ? (all as Step[][]).flat() : undefined;
    }
    case 'NFC':
    case 'NFKC':
    case 'NFD':
    case 'NFKD':
      return [unicodeForm(config.type)];
    case 'Lowercase':
      // Character by character, as tokenizers (Rust): a final capital sigma becomes σ.
      return [(n) => mapUnits(n, (c) => (c === 'Σ' ? 'σ' : c.toLowerCase()))];
    case 'StripAccents':
      // What the library removes (every mark), so the text matches the tokens it gives.
      return [(n) => mapUnits(n, (c) => (/^\p{M}$/u.test(c) ? '' : c))];
    case 'Strip':
      return [strip(config.strip_left !== false, config.strip_right !== false)];
    case 'Precompiled':
      // The library does not read the SentencePiece character map: it removes control characters, turns
      // some spaces into ' ' and applies NFKC (leaving U+FF5E). Its tokens follow that, so the offsets do.
      return [
        (n) => mapUnits(n, (c) => (PRECOMPILED_REMOVED.test(c) ? '' : PRECOMPILED_SPACE.test(c) ? ' ' : c)),
        unicodeForm('NFKC', '\uFF5E'),
      ];
    case 'Replace': {
      const pattern = config.pattern as Json;
      const content = config.content;
      if (typeof content !== 'string') return undefined;
      if (typeof pattern.String === 'string') return [replace(new RegExp(escapeRegExp(pattern.String), 'gu'), content)];
      if (typeof pattern.Regex === 'string') {
        // Oniguruma's \s is Unicode's White_Space (not JavaScript's, which adds U+FEFF and lacks U+0085).
        const source = pattern.Regex.replace(/\\s/g, '\\p{White_Space}');
        try {
          return [replace(new RegExp(source, 'gu'), content)];
        } catch {
          return undefined;
        }
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

function preTokenizer(config: Json | null): PreTokenizer | undefined {
  const parts = config?.type === 'Sequence' ? (config.pretokenizers as Json[]) : config ? [config] : [];
  const meta = parts.at(-1);
  if (meta?.type !== 'Metaspace') return undefined;
  const out: PreTokenizer = {
    whitespaceSplit: false,
    punctuation: false,
    replacement: typeof meta.replacement === 'string' ? meta.replacement : '▁',
    prepend: meta.prepend_scheme === 'first' || meta.prepend_scheme === 'never' ? meta.prepend_scheme : meta.add_prefix_space === false ? 'never' : 'always',
    split: meta.split !== false,
  };
  if (out.replacement.length !== 1) return undefined;
  for (const p of parts.slice(0, -1)) {
    if (p.type === 'WhitespaceSplit') out.whitespaceSplit = true;
    else if (p.type === 'Punctuation' && (p.behavior ?? 'isolated') === 'isolated') out.punctuation = true;
    else return undefined;
  }
  return out;
}
