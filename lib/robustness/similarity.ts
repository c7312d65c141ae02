/**
 * The sentence-similarity constraint in the place of TextAttack's UniversalSentenceEncoder. USE is a
 * TensorFlow Hub model that cannot be had offline, so advtrain embeds a text with any advtrain model
 * (the mean over real tokens, special tokens included, of its last hidden states) and compares two
 * embeddings by cosine or by TextAttack's angular similarity, 1 - arccos(cos)/pi. This is NOT USE: the
 * recipes' thresholds were tuned on USE, and an encoder's scale differs, so a threshold is an option.
 */
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { cosine } from './stats.js';

export type SimilarityMetric = 'cosine' | 'angular';

/** Cosine of two vectors, or TextAttack's angular similarity of them (cosine clamped to [-1, 1]). */
export function similarity(a: Float32Array, b: Float32Array, metric: SimilarityMetric): number {
  const cos = Math.min(1, Math.max(-1, cosine(a, b, Number.NaN)));
  return metric === 'cosine' ? cos : 1 - Math.acos(cos) / Math.PI;
}

/** Mean-pooled last hidden states of an encoder, cached per text. */
export class SentenceEncoder {
  readonly #cache = new Map<string, Float32Array>();

  constructor(
    readonly model: Model,
    readonly tokenizer: Tokenizer,
    readonly maxLength: number,
    readonly batchSize: number,
  ) {}

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const fresh = [...new Set(texts.filter((s) => !this.#cache.has(s)))];
    for (let i = 0; i < fresh.length; i += this.batchSize) {
      const chunk = fresh.slice(i, i + this.batchSize);
      const batch = this.tokenizer.encodeBatch(chunk, { maxLength: this.maxLength });
      // Mean over real tokens only: the padding need not be computed.
      const out = await this.model.forward(batch, { skipPadding: true });
      const [, L, H] = out.hiddenShape;
      chunk.forEach((text, r) => {
        const v = new Float32Array(H);
        let n = 0;
        for (let t = 0; t < L; t++) {
          if (batch.attentionMask && batch.attentionMask[r * L + t] === 0) continue;
          n++;
          const row = (r * L + t) * H;
          for (let d = 0; d < H; d++) v[d]! += out.lastHiddenState[row + d]!;
        }
        for (let d = 0; d < H; d++) v[d]! /= n;
        this.#cache.set(text, v);
      });
    }
    if (this.#cache.size > 1 << 15) {
      const keep = new Map(texts.map((s) => [s, this.#cache.get(s)!]));
      this.#cache.clear();
      for (const [k, val] of keep) this.#cache.set(k, val);
    }
    return texts.map((s) => this.#cache.get(s)!);
  }
}

/**
 * TextAttack's AttackedText.text_window_around_index: the first and last of the `size` words centred
 * on `index` among `length` words (shifted inside the text at its ends).
 */
export function windowBounds(length: number, index: number, size: number): [number, number] {
  const half = (size - 1) / 2;
  if (index - half < 0) return [0, Math.min(size - 1, length - 1)];
  if (index + half >= length) return [Math.max(0, length - size), length - 1];
  return [index - Math.ceil(half), index + Math.floor(half)];
}
