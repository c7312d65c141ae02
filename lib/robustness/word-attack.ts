/**
 * Black-box word-substitution attacks, in TextAttack's decomposition (Morris et al. 2020): a goal
 * function (untargeted classification: change the predicted label), constraints (stop words kept, at
 * most a fraction of the words changed, a minimum embedding cosine between a word and its substitute, a
 * query budget), a transformation (substitutes from a masked-LM's predictions at the masked word, as
 * BERT-Attack (Li et al. 2020) does, or nearest neighbours in the model's input-embedding space) and a
 * search (greedy over word importance, importance = drop of the true label's probability when the word
 * is deleted, as TextFooler and BERT-Attack rank words).
 * Departures, all for simplicity: words are the whitespace-separated tokens of the text; substitutes are
 * whole-word vocabulary entries (BERT-Attack also composes sub-word substitutes); the sentence-encoder
 * similarity constraint of TextFooler is replaced by the embedding-cosine constraint.
 */
import { invalidArg } from '../errors.js';
import type { TextExample } from '../data/table.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { attackCounts, type AttackCounts } from './embedding.js';
import { softmax } from './stats.js';
import { STOP_WORDS } from './stopwords.js';

export interface WordAttackOptions {
  /** Substitute sources: a masked-LM model's predictions ('mlm', needs `mlm`) and/or embedding neighbours. */
  substitutes?: ('mlm' | 'embedding')[];
  /** A masked-LM model sharing the tokenizer (BERT-Attack); the attacked model itself when it is one. */
  mlm?: Model;
  /** Candidates per word and source (default 20). */
  candidates?: number;
  /** At most this fraction of the words is changed (default 0.4, BERT-Attack's). */
  maxWordFraction?: number;
  /** Minimum cosine between a word's and its substitute's input embeddings (default 0.2). */
  minCosine?: number;
  /** Model queries per example at most (default 1000). */
  queryBudget?: number;
  /** Which text of a pair to perturb (default: the second when there is one, as NLI attacks do). */
  field?: 'text' | 'textPair';
  maxLength?: number;
  /** Texts scored per forward pass (default 64). */
  batchSize?: number;
  /** Adversarial examples kept in the result (default 5). */
  keepExamples?: number;
}

export interface AdversarialExample {
  original: string;
  adversarial: string;
  label: number;
  adversarialPrediction: number;
  queries: number;
  wordsPerturbed: number;
}

export interface WordAttackResult extends AttackCounts {
  /** Mean model queries over attacked (not skipped) examples. */
  avgQueries: number;
  /** Mean fraction of words changed over successful attacks. */
  avgWordsPerturbed: number;
  examples: AdversarialExample[];
}

const WORD = /^[A-Za-z]+$/;

class Scorer {
  queries = 0;
  constructor(
    private readonly model: Model,
    private readonly tok: Tokenizer,
    private readonly maxLength: number,
    private readonly batchSize: number,
  ) {}

  /** Class probabilities of each (text, pair); counts one query per text. */
  async probs(items: { text: string; pair?: string }[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < items.length; i += this.batchSize) {
      const chunk = items.slice(i, i + this.batchSize);
      const batch = this.tok.encodeBatch(chunk.map((x) => (x.pair === undefined ? x.text : ([x.text, x.pair] as [string, string]))), { maxLength: this.maxLength });
      const res = await this.model.forward(batch);
      const k = res.logitsShape[1]!;
      for (let r = 0; r < chunk.length; r++) out.push(softmax(res.logits.subarray(r * k, (r + 1) * k)));
    }
    this.queries += items.length;
    return out;
  }
}

function argmax(p: number[]): number {
  return p.indexOf(Math.max(...p));
}

/** Matches the substitute's case to the original word's. */
function recase(sub: string, orig: string): string {
  if (orig === orig.toUpperCase() && orig.length > 1) return sub.toUpperCase();
  if (orig[0] === orig[0]!.toUpperCase()) return sub[0]!.toUpperCase() + sub.slice(1);
  return sub;
}

/**
 * Runs the attack on labeled examples of a sequence-classification model.
 *
 * @example
 * ```ts
 * const r = await wordAttack(model, model.tokenizer!, dev.slice(0, 100), { substitutes: ['embedding'] });
 * console.log(r.accuracyUnderAttack, r.successRate, r.avgQueries);
 * ```
 */
export async function wordAttack(model: Model, tok: Tokenizer, examples: TextExample[], options: WordAttackOptions = {}): Promise<WordAttackResult> {
  if (model.task !== 'sequence-classification') throw invalidArg('model', 'a sequence-classification model', model.task);
  const sources = options.substitutes ?? (options.mlm ? ['mlm', 'embedding'] : ['embedding']);
  const mlm = options.mlm;
  if (sources.includes('mlm') && (!mlm || mlm.task !== 'masked-lm')) throw invalidArg('options.mlm', "a masked-LM model for 'mlm' substitutes", mlm?.task);
  const k = options.candidates ?? 20;
  const maxFraction = options.maxWordFraction ?? 0.4;
  const minCos = options.minCosine ?? 0.2;
  const budget = options.queryBudget ?? 1000;
  const maxLength = options.maxLength ?? 128;
  // Normalised input embeddings and the vocabulary entries that can replace a word.
  const E = await model.wordEmbeddings();
  const V = tok.vocabSize;
  const D = E.length / V;
  const norms = new Float32Array(V);
  const usable = new Uint8Array(V);
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += E[v * D + d]! ** 2;
    norms[v] = Math.sqrt(s) || 1;
    const t = tok.idToToken(v);
    usable[v] = t !== undefined && WORD.test(t) && !STOP_WORDS.has(t.toLowerCase()) ? 1 : 0;
  }
  const wordVector = (word: string): Float32Array => {
    const ids = tok.encode(word).ids.filter((_, i, all) => i > 0 && i < all.length - 1);
    const v = new Float32Array(D);
    for (const id of ids) for (let d = 0; d < D; d++) v[d]! += E[id * D + d]! / norms[id]!;
    return v;
  };
  const cosine = (a: Float32Array, id: number): number => {
    let dot = 0;
    let na = 0;
    for (let d = 0; d < D; d++) {
      dot += a[d]! * E[id * D + d]!;
      na += a[d]! ** 2;
    }
    return dot / (Math.sqrt(na) * norms[id]! || 1);
  };
  const neighbours = (word: string): string[] => {
    const v = wordVector(word);
    const scored: [number, number][] = [];
    for (let id = 0; id < V; id++) if (usable[id]) scored.push([cosine(v, id), id]);
    scored.sort((a, b) => b[0] - a[0]);
    return scored
      .filter(([c]) => c >= minCos)
      .map(([, id]) => tok.idToToken(id)!)
      .filter((t) => t.toLowerCase() !== word.toLowerCase())
      .slice(0, k);
  };
  const mlmSubstitutes = async (words: string[], i: number, pairOther: string | undefined, first: boolean): Promise<string[]> => {
    const masked = words.map((w, j) => (j === i ? tok.special.mask.token : w)).join(' ');
    const input = pairOther === undefined ? masked : first ? ([masked, pairOther] as [string, string]) : ([pairOther, masked] as [string, string]);
    const enc = tok.encode(input, { maxLength });
    const pos = enc.ids.indexOf(tok.special.mask.id);
    if (pos < 0) return [];
    const res = await mlm!.forward({ inputIds: Int32Array.from(enc.ids), tokenTypeIds: Int32Array.from(enc.typeIds), batchSize: 1, seqLen: enc.ids.length });
    const row = res.logits.subarray(pos * V, (pos + 1) * V);
    const v = wordVector(words[i]!);
    return Array.from(row.keys())
      .filter((id) => usable[id])
      .sort((a, b) => row[b]! - row[a]!)
      .slice(0, 4 * k)
      .filter((id) => cosine(v, id) >= minCos)
      .map((id) => tok.idToToken(id)!)
      .filter((t) => t.toLowerCase() !== words[i]!.toLowerCase())
      .slice(0, k);
  };

  let successful = 0;
  let failed = 0;
  let skipped = 0;
  let queriesSum = 0;
  let perturbedSum = 0;
  const kept: AdversarialExample[] = [];
  for (const ex of examples) {
    if (ex.label === undefined) throw invalidArg('examples[].label', 'a label', undefined);
    const label = ex.label;
    const field = options.field ?? (ex.textPair !== undefined ? 'textPair' : 'text');
    const attacked = field === 'textPair' ? ex.textPair! : ex.text;
    const other = field === 'textPair' ? ex.text : ex.textPair;
    const item = (text: string) => (field === 'textPair' ? { text: other!, pair: text } : { text, pair: other });
    const scorer = new Scorer(model, tok, maxLength, options.batchSize ?? 64);
    const [p0] = await scorer.probs([item(attacked)]);
    if (argmax(p0!) !== label) {
      skipped++;
      continue;
    }
    const words = attacked.split(/\s+/).filter(Boolean);
    // Within the budget: one query was spent on the clean text, one per word on its importance.
    const candidatesIdx = words
      .map((_, i) => i)
      .filter((i) => WORD.test(words[i]!) && !STOP_WORDS.has(words[i]!.toLowerCase()))
      .slice(0, Math.max(0, budget - 1));
    const maxChanges = Math.max(1, Math.floor(maxFraction * words.length));
    // Importance: how much the true label's probability drops without the word.
    const deleted = await scorer.probs(candidatesIdx.map((i) => item(words.filter((_, j) => j !== i).join(' '))));
    const order = candidatesIdx.map((i, n) => ({ i, drop: p0![label]! - deleted[n]![label]! })).sort((a, b) => b.drop - a.drop);
    let current = [...words];
    let pTrue = p0![label]!;
    let changed = 0;
    let success = false;
    let advPred = label;
    for (const { i } of order) {
      if (changed >= maxChanges || scorer.queries >= budget) break;
      const subs = new Set<string>();
      if (sources.includes('mlm')) for (const s of await mlmSubstitutes(current, i, other, field === 'text')) subs.add(s);
      if (sources.includes('embedding')) for (const s of neighbours(words[i]!)) subs.add(s);
      const list = [...subs].slice(0, Math.max(0, budget - scorer.queries)).map((s) => recase(s, words[i]!));
      if (!list.length) continue;
      const texts = list.map((s) => current.map((w, j) => (j === i ? s : w)).join(' '));
      const probs = await scorer.probs(texts.map(item));
      let best = -1;
      for (let c = 0; c < probs.length; c++) {
        const flips = argmax(probs[c]!) !== label;
        const bestFlips = best >= 0 && argmax(probs[best]!) !== label;
        if (best < 0 || (flips && !bestFlips) || (flips === bestFlips && probs[c]![label]! < probs[best]![label]!)) best = c;
      }
      if (argmax(probs[best]!) !== label) {
        current = texts[best]!.split(' ');
        changed++;
        success = true;
        advPred = argmax(probs[best]!);
        break;
      }
      if (probs[best]![label]! < pTrue) {
        current = texts[best]!.split(' ');
        pTrue = probs[best]![label]!;
        changed++;
      }
    }
    queriesSum += scorer.queries;
    if (success) {
      successful++;
      perturbedSum += changed / words.length;
      if (kept.length < (options.keepExamples ?? 5)) kept.push({ original: attacked, adversarial: current.join(' '), label, adversarialPrediction: advPred, queries: scorer.queries, wordsPerturbed: changed });
    } else {
      failed++;
    }
  }
  return {
    ...attackCounts(successful, failed, skipped),
    avgQueries: successful + failed ? queriesSum / (successful + failed) : 0,
    avgWordsPerturbed: successful ? perturbedSum / successful : 0,
    examples: kept,
  };
}
