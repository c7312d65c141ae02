/**
 * Black-box word-substitution attacks in TextAttack's decomposition (Morris et al., 2020), recipe by
 * recipe as TextAttack builds them: a goal function (untargeted classification: succeed when the
 * predicted class leaves the label; score 1 - p(label)), pre-transformation constraints (each word
 * changed once, stop words kept), a transformation (lib/robustness/substitutes.ts, wordnet.ts), the
 * constraints on each candidate (word-embedding cosine, part of speech, most words changed, sentence
 * similarity) and GreedyWordSwapWIR: words ranked by importance, then each word in that order takes
 * the candidate scoring highest if it beats the current text; once that candidate succeeds, the
 * successful candidate most similar to the reference text is taken (the highest-scoring one when the
 * recipe has no similarity constraint). The query budget is unlimited unless one is set.
 *
 * Recipes (departures that remain are listed in docs/robustness.md, "Word attacks"):
 * - `bertattack_li_2020` (Li et al., EMNLP 2020): masked-LM substitutes (48, the paper's; TextAttack
 *   now uses 8), importance by [UNK], NLTK stop words, at most 40% of the words, sentence cosine >= 0.2
 *   against the original text.
 * - `textfooler_jin_2019` (Jin et al., AAAI 2020): 50 embedding neighbours with cosine >= 0.5,
 *   importance by deletion, TextFooler's stop words, the same universal part of speech in context
 *   (nouns and verbs interchangeable), angular sentence similarity >= 0.840845057 on 15-word windows
 *   against the current text (texts shorter than the window pass).
 * - `pwws_ren_2019` (Ren et al., ACL 2019): WordNet synonyms, NLTK stop words, importance by
 *   softmax([UNK] saliency) x the best score a synonym reaches.
 * The sentence similarity is an encoder's mean-pooled cosine (lib/robustness/similarity.ts), not USE.
 */
import type { TextExample } from '../data/table.js';
import { invalidArg } from '../errors.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import * as v from '../validate.js';
import { checkExamples, evalSet, type EvalSet, tokenizerOf } from './examples.js';
import { canReplacePos, PartOfSpeechTagger } from './pos.js';
import { SentenceEncoder, similarity, type SimilarityMetric, windowBounds } from './similarity.js';
import { argmax, attackRates, type AttackCounts, type AttackRates, mean, softmax } from './stats.js';
import { NLTK_ENGLISH_STOPWORDS, TEXTFOOLER_STOPWORDS } from './stopwords.js';
import { EmbeddingSpace, MaskedLmSubstitutes } from './substitutes.js';
import { WordNet } from './wordnet.js';
import { countWords, matchCase, renderSpan, renderTexts, type Segmented, segmentWords, type Word } from './words.js';

export type WordRecipeName = 'bertattack_li_2020' | 'textfooler_jin_2019' | 'pwws_ren_2019';

/** TextAttack's sentence-encoder constraint, with an advtrain encoder in the place of USE. */
export interface SentenceSimilarity {
  metric: SimilarityMetric;
  /** Candidates below it are rejected. */
  threshold: number;
  /** Words in the compared windows around the replaced word; null compares whole texts. */
  windowSize: number | null;
  /** Compare with the original text (else with the current one). */
  compareAgainstOriginal: boolean;
  /** Texts with fewer words than the window pass (TextAttack's skip_text_shorter_than_window). */
  skipShorterThanWindow: boolean;
}

/** What a recipe fixes: substitutes, word ranking and constraints. */
export interface WordRecipe {
  /** `'masked-lm'` needs a masked-LM model (`mlm`). */
  transformation: 'masked-lm' | 'embedding' | 'wordnet';
  /** Substitutes tried per word; null = all (WordNet). */
  candidates: number | null;
  /** GreedyWordSwapWIR's ranking: score with the word deleted, with [UNK], or PWWS's weighted saliency. */
  wordImportance: 'delete' | 'unk' | 'weighted-saliency';
  /** Which stop-word list is kept ('custom' when `stopwords` is given). */
  stopwordList: 'textfooler' | 'nltk' | 'custom';
  /** At most ceil(fraction * words) words changed, words of all texts counted. */
  maxWordsFraction: number;
  /** Minimum cosine of word and substitute in the victim's input-embedding space; null = no such constraint. */
  minCosine: number | null;
  /** The substitute's universal part of speech in context equals the word's. */
  partOfSpeech: boolean;
  /** With `partOfSpeech`: nouns and verbs may replace each other (TextAttack's allow_verb_noun_swap). */
  allowVerbNounSwap: boolean;
  /** Sentence similarity (needs `encoder`); null = none. */
  sentenceSimilarity: SentenceSimilarity | null;
}

/**
 * The recipes' settings.
 *
 * @example
 * ```ts
 * WORD_RECIPES.textfooler_jin_2019.minCosine; // 0.5
 * ```
 */
export const WORD_RECIPES: Readonly<Record<WordRecipeName, Readonly<WordRecipe>>> = Object.freeze({
  bertattack_li_2020: Object.freeze({
    transformation: 'masked-lm', candidates: 48, wordImportance: 'unk', stopwordList: 'nltk', maxWordsFraction: 0.4, minCosine: null,
    partOfSpeech: false, allowVerbNounSwap: false,
    sentenceSimilarity: Object.freeze({ metric: 'cosine', threshold: 0.2, windowSize: null, compareAgainstOriginal: true, skipShorterThanWindow: false }),
  }),
  textfooler_jin_2019: Object.freeze({
    transformation: 'embedding', candidates: 50, wordImportance: 'delete', stopwordList: 'textfooler', maxWordsFraction: 1, minCosine: 0.5,
    partOfSpeech: true, allowVerbNounSwap: true,
    sentenceSimilarity: Object.freeze({ metric: 'angular', threshold: 0.840845057, windowSize: 15, compareAgainstOriginal: false, skipShorterThanWindow: true }),
  }),
  pwws_ren_2019: Object.freeze({
    transformation: 'wordnet', candidates: null, wordImportance: 'weighted-saliency', stopwordList: 'nltk', maxWordsFraction: 1, minCosine: null,
    partOfSpeech: false, allowVerbNounSwap: false, sentenceSimilarity: null,
  }),
}) as Readonly<Record<WordRecipeName, Readonly<WordRecipe>>>;

export const WORD_RECIPE_NAMES = Object.keys(WORD_RECIPES) as WordRecipeName[];

export interface WordAttackOptions extends Partial<Omit<WordRecipe, 'stopwordList' | 'sentenceSimilarity'>> {
  /** Default: bertattack_li_2020 when `mlm` is given, else textfooler_jin_2019. Other fields override it. */
  recipe?: WordRecipeName;
  /** The recipe's sentence-similarity settings, partly overridden, or null for none. */
  sentenceSimilarity?: Partial<SentenceSimilarity> | null;
  /** The sentence encoder (any advtrain model; not USE). Without it no sentence-similarity constraint applies. */
  encoder?: Model;
  /** The encoder's tokenizer (default: its own, else the victim's). */
  encoderTokenizer?: Tokenizer;
  /** What the report calls the encoder (e.g. its folder). */
  encoderName?: string;
  /** Model queries per example at most, the first (unmodified) text included; null (default) = unlimited, as in TextAttack. */
  queryBudget?: number | null;
  /** Words never replaced (default: the recipe's list); compared lowercased. */
  stopwords?: readonly string[];
  /** A masked-LM model (task 'masked-lm') for the masked-LM transformation. */
  mlm?: Model;
  /** The masked-LM model's tokenizer (default: its own, else the victim's). */
  mlmTokenizer?: Tokenizer;
  /** The victim's tokenizer (default: `model.tokenizer`). */
  tokenizer?: Tokenizer;
  /** Tokens per example (default 128). */
  maxLength?: number;
  /** Texts per forward pass (default 32). */
  batchSize?: number;
  /** Successful attacks shown in the report (default 5). */
  examplesShown?: number;
}

/** One replaced word. */
export interface Substitution {
  /** Word index in the attacked text (the tokenizer's word id). */
  index: number;
  word: string;
  substitute: string;
  /** Cosine of word and substitute in the victim's input-embedding space. */
  cosine: number;
  /** Order of the replacement (0 = first); each is checked against the text as it was then. */
  step: number;
  /** The sentence similarity when this word was replaced (with a sentence-similarity constraint). */
  similarity?: number;
}

/** The attack on one example. */
export interface WordAttackResult {
  /** Index into the examples. */
  example: number;
  status: 'successful' | 'failed' | 'skipped';
  label: number;
  /** Clean and final predicted class. */
  prediction: number;
  advPrediction: number;
  /** Model queries spent (texts sent to the victim, repeats included, as TextAttack counts). */
  queries: number;
  /** Words (with a letter or digit) of all texts of the example, and how many were replaced. */
  words: number;
  wordsPerturbed: number;
  original: string[];
  perturbed: string[];
  substitutions: Substitution[];
}

/** The `wordswap` part of a report. */
export interface WordAttackReport extends AttackRates, AttackCounts, Omit<WordRecipe, 'sentenceSimilarity'> {
  recipe: string;
  /** The sentence-similarity constraint applied, with the encoder that stands in for USE; null = none. */
  sentenceSimilarity: (SentenceSimilarity & { encoder: string; note: string }) | null;
  /** Every constraint applied, in words, so that reports with different definitions are not compared. */
  constraints: string[];
  /** null = unlimited. */
  queryBudget: number | null;
  /** Mean queries over attacked (not skipped) examples, as TextAttack reports it. */
  avgQueries: number;
  /** Mean words replaced over successful attacks. */
  avgWordsPerturbed: number;
  /** Mean fraction of the words (of all texts) replaced over successful attacks. */
  avgPerturbedFraction: number;
  /** Some successful adversarial texts. */
  examples: WordAttackResult[];
}

interface Resolved extends WordRecipe {
  recipe: string;
  queryBudget: number | null;
  stopwords: Set<string>;
  maxLength: number;
  batchSize: number;
  examplesShown: number;
}

const OPTION_KEYS = [
  'recipe', 'transformation', 'candidates', 'wordImportance', 'maxWordsFraction', 'minCosine', 'partOfSpeech', 'allowVerbNounSwap', 'sentenceSimilarity',
  'encoder', 'encoderTokenizer', 'encoderName', 'queryBudget', 'stopwords', 'mlm', 'mlmTokenizer', 'tokenizer', 'maxLength', 'batchSize', 'examplesShown',
];

const NOT_USE = 'mean-pooled last hidden states of an advtrain encoder, not the Universal Sentence Encoder: thresholds are not comparable with TextAttack\'s';

/** Validates word-attack options and fills the recipe's values. */
export function resolveWordAttack(options: WordAttackOptions, name = 'options'): Resolved {
  const o = v.object(name, options) as WordAttackOptions;
  v.knownKeys(name, o as Record<string, unknown>, OPTION_KEYS);
  const recipe = o.recipe === undefined ? (o.mlm ? 'bertattack_li_2020' : 'textfooler_jin_2019') : v.oneOf(`${name}.recipe`, o.recipe, WORD_RECIPE_NAMES);
  const base = WORD_RECIPES[recipe];
  const transformation = o.transformation === undefined ? base.transformation : v.oneOf(`${name}.transformation`, o.transformation, ['masked-lm', 'embedding', 'wordnet'] as const);
  if (transformation === 'masked-lm') {
    if (!o.mlm) throw invalidArg(`${name}.mlm`, `a masked-LM model (the ${recipe} recipe draws substitutes from one)`, o.mlm);
    if (o.mlm.task !== 'masked-lm') throw invalidArg(`${name}.mlm`, "a model with task 'masked-lm'", o.mlm.task);
  }
  const minCosine = o.minCosine === undefined ? base.minCosine : o.minCosine === null ? null : v.finiteNumber(`${name}.minCosine`, o.minCosine, { min: -1, max: 1 });
  if (o.stopwords !== undefined && (!Array.isArray(o.stopwords) || !o.stopwords.every((s) => typeof s === 'string'))) throw invalidArg(`${name}.stopwords`, 'an array of words', o.stopwords);
  let sentenceSimilarity: SentenceSimilarity | null = null;
  const sim = o.sentenceSimilarity === undefined ? base.sentenceSimilarity : o.sentenceSimilarity;
  if (sim !== null) {
    const s = v.object(`${name}.sentenceSimilarity`, sim) as Partial<SentenceSimilarity>;
    v.knownKeys(`${name}.sentenceSimilarity`, s as Record<string, unknown>, ['metric', 'threshold', 'windowSize', 'compareAgainstOriginal', 'skipShorterThanWindow']);
    const d = base.sentenceSimilarity ?? { metric: 'cosine', threshold: 0.8, windowSize: null, compareAgainstOriginal: true, skipShorterThanWindow: false };
    sentenceSimilarity = {
      metric: s.metric === undefined ? d.metric : v.oneOf(`${name}.sentenceSimilarity.metric`, s.metric, ['cosine', 'angular'] as const),
      threshold: s.threshold === undefined ? d.threshold : v.finiteNumber(`${name}.sentenceSimilarity.threshold`, s.threshold, { min: -1, max: 1 }),
      windowSize: s.windowSize === undefined ? d.windowSize : s.windowSize === null ? null : v.integer(`${name}.sentenceSimilarity.windowSize`, s.windowSize, { min: 1 }),
      compareAgainstOriginal: s.compareAgainstOriginal === undefined ? d.compareAgainstOriginal : v.boolean(`${name}.sentenceSimilarity.compareAgainstOriginal`, s.compareAgainstOriginal),
      skipShorterThanWindow: s.skipShorterThanWindow === undefined ? d.skipShorterThanWindow : v.boolean(`${name}.sentenceSimilarity.skipShorterThanWindow`, s.skipShorterThanWindow),
    };
  }
  if (o.encoder !== undefined && (typeof o.encoder !== 'object' || o.encoder === null || typeof o.encoder.forward !== 'function')) throw invalidArg(`${name}.encoder`, 'an advtrain model', o.encoder);
  const values = {
    transformation,
    candidates: o.candidates === undefined ? base.candidates : o.candidates === null ? null : v.integer(`${name}.candidates`, o.candidates, { min: 1 }),
    wordImportance: o.wordImportance === undefined ? base.wordImportance : v.oneOf(`${name}.wordImportance`, o.wordImportance, ['delete', 'unk', 'weighted-saliency'] as const),
    stopwordList: o.stopwords === undefined ? base.stopwordList : ('custom' as const),
    maxWordsFraction: o.maxWordsFraction === undefined ? base.maxWordsFraction : v.finiteNumber(`${name}.maxWordsFraction`, o.maxWordsFraction, { above: 0, max: 1 }),
    minCosine,
    partOfSpeech: o.partOfSpeech === undefined ? base.partOfSpeech : v.boolean(`${name}.partOfSpeech`, o.partOfSpeech),
    allowVerbNounSwap: o.allowVerbNounSwap === undefined ? base.allowVerbNounSwap : v.boolean(`${name}.allowVerbNounSwap`, o.allowVerbNounSwap),
    sentenceSimilarity,
  };
  // A recipe whose parts were changed is no longer the paper's (a missing encoder shows in `constraints`).
  const changed = (Object.keys(values) as (keyof WordRecipe)[]).some((k) => JSON.stringify(values[k]) !== JSON.stringify(base[k]));
  return {
    recipe: changed ? `${recipe}+custom` : recipe,
    ...values,
    queryBudget: o.queryBudget === undefined || o.queryBudget === null ? null : v.integer(`${name}.queryBudget`, o.queryBudget, { min: 1 }),
    stopwords: new Set((o.stopwords ?? (values.stopwordList === 'textfooler' ? TEXTFOOLER_STOPWORDS : NLTK_ENGLISH_STOPWORDS)).map((s) => s.toLowerCase())),
    maxLength: o.maxLength === undefined ? 128 : v.integer(`${name}.maxLength`, o.maxLength, { min: 8 }),
    batchSize: o.batchSize === undefined ? 32 : v.integer(`${name}.batchSize`, o.batchSize, { min: 1 }),
    examplesShown: o.examplesShown === undefined ? 5 : v.integer(`${name}.examplesShown`, o.examplesShown, { min: 0 }),
  };
}

/** The constraints of a resolved attack, in words (the report's `constraints`). */
function describeConstraints(cfg: Resolved, encoder: string | null): string[] {
  const out = ['each word replaced at most once', `stop words kept (${cfg.stopwordList} list, ${cfg.stopwords.size} words)`];
  if (cfg.maxWordsFraction < 1) out.push(`at most ceil(${cfg.maxWordsFraction} x words) words replaced, words of all texts counted`);
  if (cfg.minCosine !== null) out.push(`word-embedding cosine >= ${cfg.minCosine} (victim's input embeddings, not counter-fitted vectors)`);
  if (cfg.partOfSpeech) out.push(`same universal part of speech in context (wink-nlp tagger, not NLTK's)${cfg.allowVerbNounSwap ? ', nouns and verbs interchangeable' : ''}`);
  const s = cfg.sentenceSimilarity;
  if (s && encoder !== null) {
    out.push(
      `sentence ${s.metric} similarity >= ${s.threshold} ${s.windowSize === null ? 'on whole texts' : `on ${s.windowSize}-word windows${s.skipShorterThanWindow ? ' (shorter texts pass)' : ''}`} against the ${s.compareAgainstOriginal ? 'original' : 'current'} text, encoder ${encoder}: NOT the Universal Sentence Encoder`,
    );
  } else if (s) {
    out.push('no sentence-similarity constraint (the recipe has one; no encoder was given)');
  }
  out.push('model queries per example: ' + (cfg.queryBudget === null ? 'unlimited' : `at most ${cfg.queryBudget}`));
  return out;
}

/**
 * The victim behind a query budget. As TextAttack's goal function counts them, every text asked for is
 * a query, repeats included (its cache saves compute, not queries), and a request is cut to the
 * queries left.
 */
class Victim {
  queries = 0;
  readonly #cache = new Map<string, number[]>();
  readonly #budget: number;

  constructor(
    private readonly model: Model,
    private readonly tokenizer: Tokenizer,
    private readonly cfg: Resolved,
  ) {
    this.#budget = cfg.queryBudget ?? Number.POSITIVE_INFINITY;
  }

  get exhausted(): boolean {
    return this.queries >= this.#budget;
  }

  /** Class probabilities per input; undefined for inputs past the budget. */
  async probs(inputs: string[][]): Promise<(number[] | undefined)[]> {
    const keys = inputs.map((t) => JSON.stringify(t)).slice(0, Math.max(0, this.#budget - this.queries));
    this.queries += keys.length;
    const fresh = [...new Set(keys.filter((k) => !this.#cache.has(k)))];
    const k = this.model.config.numLabels;
    for (let i = 0; i < fresh.length; i += this.cfg.batchSize) {
      const chunk = fresh.slice(i, i + this.cfg.batchSize);
      const items = chunk.map((key) => JSON.parse(key) as string[]).map((t) => (t.length === 2 ? ([t[0]!, t[1]!] as const) : t[0]!));
      const out = await this.model.forward(this.tokenizer.encodeBatch(items, { maxLength: this.cfg.maxLength }), { skipPadding: true, outputLastHiddenState: false });
      chunk.forEach((key, r) => this.#cache.set(key, softmax(out.logits, r * k, k)));
    }
    return inputs.map((_, i) => (i < keys.length ? this.#cache.get(keys[i]!) : undefined));
  }
}

const HAS_ALNUM = /[\p{L}\p{N}]/u;
const HAS_LETTER = /\p{L}/u;
// A substitute must stay one word to the tokenizer (TextAttack's is_one_word).
const ONE_WORD = /^\p{Script=Latin}+$/u;

/** What the search needs besides the victim: substitute sources and constraint checkers. */
interface Tools {
  space: EmbeddingSpace;
  mlm?: MaskedLmSubstitutes;
  wordnet?: WordNet;
  tagger?: PartOfSpeechTagger;
  encoder?: SentenceEncoder;
  unk: string;
}

type Replacements = Map<number, Substitution>;
interface State {
  probs: number[];
  replacements: Replacements;
}
interface Candidate extends State {
  similarity?: number;
}

/**
 * Candidate texts for word `w` (position `p` among `words`) of the current state that pass every
 * constraint, with their sentence similarity when there is that constraint.
 */
async function candidatesAt(seg: Segmented, words: readonly Word[], p: number, current: Replacements, cfg: Resolved, tools: Tools, maxChanged: number): Promise<{ replacements: Replacements; similarity?: number }[]> {
  if (current.size + 1 > maxChanged) return [];
  const w = words[p]!;
  const textOf = (r: Replacements) => renderTexts(seg, new Map([...r].map(([i, s]) => [i, s.substitute])));
  let proposals: string[];
  if (cfg.transformation === 'masked-lm') proposals = await tools.mlm!.predict(textOf(current), seg.target, w.index, cfg.candidates ?? 48);
  else if (cfg.transformation === 'embedding') proposals = tools.space.neighbours(w.text, cfg.candidates ?? 50, cfg.minCosine ?? -1);
  else {
    const all = tools.wordnet!.synonyms(w.text).filter((s) => ONE_WORD.test(s) && s.toLowerCase() !== w.text.toLowerCase());
    proposals = cfg.candidates === null ? all : all.slice(0, cfg.candidates);
  }
  const original = words.map((x) => x.text);
  const out: { replacements: Replacements; sub: Substitution }[] = [];
  for (const proposal of proposals) {
    const cosine = tools.space.cosine(w.text, proposal);
    if (cfg.minCosine !== null && !(cosine >= cfg.minCosine)) continue;
    const substitute = matchCase(w.text, proposal);
    if (tools.tagger) {
      // TextAttack's PartOfSpeech compares against the original text.
      const swapped = [...original];
      swapped[p] = substitute;
      if (!canReplacePos(tools.tagger.tagInContext(original, p), tools.tagger.tagInContext(swapped, p), cfg.allowVerbNounSwap)) continue;
    }
    const sub: Substitution = { index: w.index, word: w.text, substitute, cosine, step: current.size };
    out.push({ replacements: new Map(current).set(w.index, sub), sub });
  }
  const s = cfg.sentenceSimilarity;
  if (!s || !tools.encoder || out.length === 0) return out;
  const asText = (r: Replacements) => new Map([...r].map(([i, x]) => [i, x.substitute]));
  // Whole texts, or TextAttack's window of words around the replaced one (a substring of the text).
  const [lo, hi] = s.windowSize === null ? [0, 0] : windowBounds(words.length, p, s.windowSize);
  const view = (r: Replacements) => (s.windowSize === null ? textOf(r).join(' ') : renderSpan(seg, asText(r), words[lo]!.index, words[hi]!.index));
  const refText = view(s.compareAgainstOriginal ? new Map() : current);
  const texts = out.map((c) => view(c.replacements));
  const [ref, ...embs] = await tools.encoder.embed([refText, ...texts]);
  const kept: { replacements: Replacements; similarity: number }[] = [];
  out.forEach((c, i) => {
    const score = s.windowSize !== null && s.skipShorterThanWindow && words.length < s.windowSize ? 1 : similarity(ref!, embs[i]!, s.metric);
    c.sub.similarity = score;
    if (score >= s.threshold) kept.push({ replacements: c.replacements, similarity: score });
  });
  return kept;
}

/** GreedyWordSwapWIR on one correctly classified example. */
async function attackOne(victim: Victim, seg: Segmented, allWords: number, label: number, cfg: Resolved, tools: Tools): Promise<{ status: WordAttackResult['status']; probs: number[]; replacements: Replacements }> {
  const score = (p: number[]) => 1 - p[label]!;
  const textOf = (r: Replacements) => renderTexts(seg, new Map([...r].map(([i, s]) => [i, s.substitute])));
  const [initial] = await victim.probs([seg.texts]);
  let current: State = { probs: initial!, replacements: new Map() };
  if (argmax(initial!) !== label) return { status: 'skipped', ...current };
  const maxChanged = Math.ceil(cfg.maxWordsFraction * allWords);
  const words = seg.words.filter((w) => HAS_ALNUM.test(w.text));
  const attackable = words.map((w, p) => ({ w, p })).filter(({ w }) => HAS_LETTER.test(w.text) && !cfg.stopwords.has(w.text.toLowerCase()));
  const leaveOne = await victim.probs(attackable.map(({ w }) => renderTexts(seg, new Map([[w.index, cfg.wordImportance === 'delete' ? '' : tools.unk]]))));
  if (leaveOne.some((p) => p === undefined)) return { status: 'failed', ...current };
  let importance = leaveOne.map((p) => score(p!));
  if (cfg.wordImportance === 'weighted-saliency') {
    // PWWS: softmax of the saliencies times the best score a substitute of the word reaches.
    const m = Math.max(...importance);
    const e = importance.map((s) => Math.exp(s - m));
    const z = e.reduce((a, b) => a + b, 0);
    const best: number[] = [];
    for (const { p } of attackable) {
      if (victim.exhausted) {
        best.push(0);
        continue;
      }
      const cands = await candidatesAt(seg, words, p, new Map(), cfg, tools, maxChanged);
      const probs = (await victim.probs(cands.map((c) => textOf(c.replacements)))).filter((x): x is number[] => x !== undefined);
      best.push(probs.length ? Math.max(...probs.map(score)) : 0);
    }
    importance = e.map((x, i) => (x / z) * best[i]!);
    if (victim.exhausted) return { status: 'failed', ...current };
  }
  const order = attackable.map((a, i) => ({ ...a, s: importance[i]! })).sort((a, b) => b.s - a.s || a.p - b.p);
  for (const { p } of order) {
    if (victim.exhausted) break;
    const cands = await candidatesAt(seg, words, p, current.replacements, cfg, tools, maxChanged);
    if (cands.length === 0) continue;
    const probs = await victim.probs(cands.map((c) => textOf(c.replacements)));
    // TextAttack sorts the results by score (stably) and keeps the best if it beats the current text.
    const results: Candidate[] = cands.flatMap((c, i) => (probs[i] ? [{ probs: probs[i]!, replacements: c.replacements, similarity: c.similarity }] : []));
    if (results.length === 0) break;
    results.sort((a, b) => score(b.probs) - score(a.probs));
    if (!(score(results[0]!.probs) > score(current.probs))) continue;
    current = results[0]!;
    if (argmax(current.probs) !== label) {
      // Among the leading successful results, the one most similar to the reference text.
      let best: Candidate = results[0]!;
      let maxSimilarity = Number.NEGATIVE_INFINITY;
      for (const r of results) {
        if (argmax(r.probs) === label || r.similarity === undefined) break;
        if (r.similarity > maxSimilarity) {
          maxSimilarity = r.similarity;
          best = r;
        }
      }
      return { status: 'successful', probs: best.probs, replacements: best.replacements };
    }
  }
  return { status: 'failed', ...current };
}

/**
 * Runs a word attack over the examples of `set` (its clean pass decides what is skipped).
 * @internal evaluateRobustness and wordAttack share it.
 */
export async function attackWords(model: Model, tokenizer: Tokenizer, set: EvalSet, options: WordAttackOptions): Promise<{ report: WordAttackReport; results: WordAttackResult[] }> {
  const cfg = resolveWordAttack(options);
  const encoderName = cfg.sentenceSimilarity && options.encoder ? (options.encoderName ?? 'given model') : null;
  const tools: Tools = {
    space: new EmbeddingSpace(await model.wordEmbeddings(), model.config.embeddingSize, tokenizer),
    mlm: cfg.transformation === 'masked-lm' ? new MaskedLmSubstitutes(options.mlm!, options.mlmTokenizer ?? options.mlm!.tokenizer ?? tokenizer, cfg.maxLength) : undefined,
    wordnet: cfg.transformation === 'wordnet' ? new WordNet() : undefined,
    tagger: cfg.partOfSpeech ? new PartOfSpeechTagger() : undefined,
    encoder: encoderName !== null ? new SentenceEncoder(options.encoder!, options.encoderTokenizer ?? options.encoder!.tokenizer ?? tokenizer, cfg.maxLength, cfg.batchSize) : undefined,
    unk: tokenizer.special.unk?.token ?? '[UNK]',
  };
  const results: WordAttackResult[] = [];
  for (let i = 0; i < set.examples.length; i++) {
    const ex = set.examples[i]!;
    const texts = ex.textPair === undefined ? [ex.text] : [ex.text, ex.textPair];
    const seg = segmentWords(tokenizer, texts, cfg.maxLength);
    const base = { example: i, label: ex.label!, prediction: set.predictions[i]!, original: texts, words: countWords(tokenizer, texts, cfg.maxLength) };
    if (!set.correct[i]) {
      results.push({ ...base, status: 'skipped', advPrediction: set.predictions[i]!, queries: 0, wordsPerturbed: 0, perturbed: texts, substitutions: [] });
      continue;
    }
    const victim = new Victim(model, tokenizer, cfg);
    const r = await attackOne(victim, seg, base.words, ex.label!, cfg, tools);
    const substitutions = [...r.replacements.values()].sort((a, b) => a.index - b.index);
    results.push({
      ...base,
      status: r.status,
      advPrediction: argmax(r.probs),
      queries: victim.queries,
      wordsPerturbed: substitutions.length,
      perturbed: renderTexts(seg, new Map(substitutions.map((s) => [s.index, s.substitute]))),
      substitutions,
    });
  }
  const counts: AttackCounts = { successful: 0, failed: 0, skipped: 0 };
  for (const r of results) counts[r.status]++;
  const attacked = results.filter((r) => r.status !== 'skipped');
  const successful = results.filter((r) => r.status === 'successful');
  const report: WordAttackReport = {
    recipe: cfg.recipe,
    transformation: cfg.transformation,
    candidates: cfg.candidates,
    wordImportance: cfg.wordImportance,
    stopwordList: cfg.stopwordList,
    maxWordsFraction: cfg.maxWordsFraction,
    minCosine: cfg.minCosine,
    partOfSpeech: cfg.partOfSpeech,
    allowVerbNounSwap: cfg.allowVerbNounSwap,
    sentenceSimilarity: cfg.sentenceSimilarity && encoderName !== null ? { ...cfg.sentenceSimilarity, encoder: encoderName, note: NOT_USE } : null,
    constraints: describeConstraints(cfg, encoderName),
    queryBudget: cfg.queryBudget,
    ...counts,
    ...attackRates(counts),
    avgQueries: mean(attacked.map((r) => r.queries)),
    avgWordsPerturbed: mean(successful.map((r) => r.wordsPerturbed)),
    avgPerturbedFraction: mean(successful.map((r) => r.wordsPerturbed / Math.max(1, r.words))),
    examples: successful.slice(0, cfg.examplesShown),
  };
  return { report, results };
}

/**
 * A black-box word-substitution attack on each correctly classified example: the report (TextAttack's
 * accuracy under attack, success rate, average queries and words perturbed, some adversarial texts)
 * and every example's result.
 *
 * @example
 * ```ts
 * const mlm = await loadModel('runs/mlm', { task: 'masked-lm' });
 * const { report } = await wordAttack(model, dev.slice(0, 100), { recipe: 'bertattack_li_2020', mlm, queryBudget: 500 });
 * console.log(report.accuracyUnderAttack, report.examples[0]?.perturbed);
 * ```
 */
export async function wordAttack(model: Model, examples: readonly TextExample[], options: WordAttackOptions = {}): Promise<{ report: WordAttackReport; results: WordAttackResult[] }> {
  const checked = checkExamples(model, examples);
  const cfg = resolveWordAttack(options);
  const tokenizer = tokenizerOf(model, options.tokenizer);
  const set = await evalSet(model, tokenizer, checked, { maxLength: cfg.maxLength, batchSize: cfg.batchSize });
  return attackWords(model, tokenizer, set, options);
}
