/**
 * Where substitute words come from (TextAttack's transformations), and the word-embedding cosine the
 * constraints use:
 * - `EmbeddingSpace`: nearest neighbours by cosine among the whole-word rows of the victim's input
 *   embedding matrix (in the place of TextFooler's counter-fitted word vectors, Jin et al., AAAI 2020);
 * - `MaskedLmSubstitutes`: a masked-LM model's top predictions at the word, replaced by one mask token
 *   (as BAE-R does, Garg & Ramakrishnan, EMNLP 2020; BERT-Attack, Li et al., EMNLP 2020, reads the
 *   unmasked sentence instead and combines sub-word predictions for multi-piece words).
 */
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { cosine } from './stats.js';
import { wordAlignment } from './words.js';

// Latin letters only: such a token is one word to BERT's pre-tokenizer (CJK characters, digits and
// punctuation would split into several words and shift the word indices of the text).
const WHOLE_WORD = /^\p{Script=Latin}+$/u;

/** Ids of vocabulary entries that are whole words (no `##` piece, special token, digit or punctuation). */
export function wholeWordIds(tokenizer: Tokenizer, limit: number): Int32Array {
  const specials = new Set(Object.values(tokenizer.special).map((s) => s.id));
  const ids: number[] = [];
  for (let id = 0; id < limit; id++) {
    const tok = tokenizer.idToToken(id);
    if (tok !== undefined && !specials.has(id) && WHOLE_WORD.test(tok)) ids.push(id);
  }
  return Int32Array.from(ids);
}

/** Word vectors as the mean of their pieces' rows of the input embedding matrix. */
export class EmbeddingSpace {
  readonly #E: Float32Array;
  readonly #dim: number;
  readonly #tokenizer: Tokenizer;
  readonly #vectors = new Map<string, Float32Array | null>();
  readonly #neighbours = new Map<string, string[]>();
  #candidates?: { ids: Int32Array; norms: Float32Array };

  constructor(embeddings: Float32Array, dim: number, tokenizer: Tokenizer) {
    this.#E = embeddings;
    this.#dim = dim;
    this.#tokenizer = tokenizer;
  }

  /**
   * The word's vector (mean of its pieces' rows, case as the tokenizer normalises it), or null
   * when it has no piece.
   */
  vector(word: string): Float32Array | null {
    const hit = this.#vectors.get(word);
    if (hit !== undefined) return hit;
    const enc = this.#tokenizer.encode(word);
    const pieces = enc.ids.filter((_, t) => enc.sequenceIds[t] !== null);
    let vec: Float32Array | null = null;
    if (pieces.length) {
      const D = this.#dim;
      vec = new Float32Array(D);
      for (const id of pieces) for (let d = 0; d < D; d++) vec[d]! += this.#E[id * D + d]! / pieces.length;
    }
    this.#vectors.set(word, vec);
    return vec;
  }

  /** Cosine of two words' vectors (NaN when either has none or is zero). */
  cosine(a: string, b: string): number {
    const x = this.vector(a);
    const y = this.vector(b);
    return x && y ? cosine(x, y, Number.NaN, 0, 0, this.#dim) : Number.NaN;
  }

  /**
   * The `k` whole-word vocabulary entries closest to `word` by cosine, at least `minCosine`, most
   * similar first; the word itself (ignoring case) left out.
   */
  neighbours(word: string, k: number, minCosine = -1): string[] {
    const key = `${word}\u0000${k}\u0000${minCosine}`;
    const hit = this.#neighbours.get(key);
    if (hit) return hit;
    const x = this.vector(word);
    if (!x) return [];
    const D = this.#dim;
    if (!this.#candidates) {
      const ids = wholeWordIds(this.#tokenizer, this.#E.length / D);
      const norms = Float32Array.from(ids, (id) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += this.#E[id * D + d]! ** 2;
        return Math.sqrt(s);
      });
      this.#candidates = { ids, norms };
    }
    let xn = 0;
    for (let d = 0; d < D; d++) xn += x[d]! ** 2;
    xn = Math.sqrt(xn);
    if (xn === 0) return [];
    const { ids, norms } = this.#candidates;
    const scored: { id: number; cos: number }[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (norms[i] === 0) continue;
      let dot = 0;
      const row = id * D;
      for (let d = 0; d < D; d++) dot += x[d]! * this.#E[row + d]!;
      const cos = dot / (xn * norms[i]!);
      if (cos >= minCosine) scored.push({ id, cos });
    }
    scored.sort((a, b) => b.cos - a.cos || a.id - b.id);
    const lower = word.toLowerCase();
    const out: string[] = [];
    for (const { id } of scored) {
      const tok = this.#tokenizer.idToToken(id)!;
      if (tok.toLowerCase() === lower) continue;
      out.push(tok);
      if (out.length === k) break;
    }
    this.#neighbours.set(key, out);
    return out;
  }
}

/** Top-k whole-word predictions of a masked-LM model at a word replaced by one mask token. */
export class MaskedLmSubstitutes {
  readonly #mlm: Model;
  readonly #tokenizer: Tokenizer;
  readonly #maxLength: number;
  #allowed?: Int32Array;

  constructor(mlm: Model, tokenizer: Tokenizer, maxLength: number) {
    this.#mlm = mlm;
    this.#tokenizer = tokenizer;
    this.#maxLength = maxLength;
  }

  /**
   * Predictions for word `wordIndex` of text `target` of `texts`, most likely first, the word itself
   * (ignoring case) left out; empty when truncation cut the word.
   */
  async predict(texts: readonly string[], target: 0 | 1, wordIndex: number, k: number): Promise<string[]> {
    const tok = this.#tokenizer;
    const enc = tok.encode(texts.length === 2 ? [texts[0]!, texts[1]!] : texts[0]!, { maxLength: this.#maxLength });
    const { wordIds } = wordAlignment(enc, 'mlmTokenizer');
    const ids: number[] = [];
    const typeIds: number[] = [];
    let maskAt = -1;
    let word = '';
    enc.ids.forEach((id, t) => {
      const inWord = enc.sequenceIds[t] === target && wordIds[t] === wordIndex;
      if (inWord) word += enc.tokens[t]!.replace(/^##/, '');
      if (inWord && maskAt >= 0) return;
      if (inWord) maskAt = ids.length;
      ids.push(inWord ? tok.special.mask.id : id);
      typeIds.push(enc.typeIds[t]!);
    });
    if (maskAt < 0) return [];
    const L = ids.length;
    // Only the masked position's logits are read: a label there (any id) makes the forward project it alone.
    const labels = new Int32Array(L).fill(-100);
    labels[maskAt] = 0;
    const out = await this.#mlm.forward({ inputIds: Int32Array.from(ids), attentionMask: new Int32Array(L).fill(1), tokenTypeIds: Int32Array.from(typeIds), labels, batchSize: 1, seqLen: L }, { labeledOnly: true, outputLastHiddenState: false });
    const V = this.#mlm.config.vocabSize;
    this.#allowed ??= wholeWordIds(tok, Math.min(V, tok.vocabSize));
    const logits = out.logits.subarray(0, V);
    const ranked = Array.from(this.#allowed).sort((a, b) => logits[b]! - logits[a]! || a - b);
    const lower = word.toLowerCase();
    const result: string[] = [];
    for (const id of ranked) {
      const s = tok.idToToken(id)!;
      if (s.toLowerCase() === lower) continue;
      result.push(s);
      if (result.length === k) break;
    }
    return result;
  }
}
