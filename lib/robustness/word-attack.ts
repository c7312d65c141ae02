/**
 * Black-box word-substitution attacks in TextAttack's decomposition (Morris et al., 2020): a goal
 * function (untargeted classification: succeed when the predicted class leaves the label; score
 * 1 - p(label)), constraints (stop words kept, at most a fraction of the words changed, a minimum
 * word-embedding cosine between word and substitute, each word changed once, a query budget), a
 * transformation (masked-LM predictions or embedding neighbours, lib/robustness/substitutes.ts) and
 * a search (greedy by word importance, TextAttack's GreedyWordSwapWIR with `wir_method="delete"`:
 * importance = score with the word deleted; then each word in that order takes the substitute
 * scoring highest, if it beats the current text, until the prediction flips).
 *
 * Recipes:
 * - `bertattack_li_2020` (Li et al., EMNLP 2020, "BERT-ATTACK: Adversarial Attack Against BERT Using
 *   BERT"; TextAttack's recipe: 48 candidates, at most 40% of the words). Departs: the word is masked
 *   (one mask token for all its pieces) instead of read from the unmasked sentence, so substitutes are
 *   single vocabulary words; importance by deletion, not [UNK]; no sentence-encoder constraint.
 * - `textfooler_jin_2019` (Jin et al., AAAI 2020, "Is BERT Really Robust?"): 50 neighbours with cosine
 *   >= 0.5, deletion importance, stop words kept. Departs: neighbours come from the victim's own input
 *   embeddings, not counter-fitted word vectors; no part-of-speech or sentence-encoder check.
 */
import type { TextExample } from '../data/table.js';
import { invalidArg } from '../errors.js';
import type { Model } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import * as v from '../validate.js';
import { checkExamples, evalSet, type EvalSet, tokenizerOf } from './examples.js';
import { argmax, attackRates, type AttackCounts, type AttackRates, mean, softmax } from './stats.js';
import { ENGLISH_STOPWORDS } from './stopwords.js';
import { EmbeddingSpace, MaskedLmSubstitutes } from './substitutes.js';
import { matchCase, renderTexts, type Segmented, segmentWords } from './words.js';

export type WordRecipeName = 'bertattack_li_2020' | 'textfooler_jin_2019';

/** What a recipe fixes: the substitutes' source and the constraints. */
export interface WordRecipe {
  /** `'masked-lm'` needs a masked-LM model (`mlm`). */
  transformation: 'masked-lm' | 'embedding';
  /** Substitutes tried per word. */
  candidates: number;
  /** At most ceil(fraction * words) words changed. */
  maxWordsFraction: number;
  /** Minimum cosine of word and substitute in the victim's input-embedding space; null = no such constraint. */
  minCosine: number | null;
}

/**
 * The recipes' settings.
 *
 * @example
 * ```ts
 * WORD_RECIPES.textfooler_jin_2019; // { transformation: 'embedding', candidates: 50, maxWordsFraction: 1, minCosine: 0.5 }
 * ```
 */
export const WORD_RECIPES: Readonly<Record<WordRecipeName, Readonly<WordRecipe>>> = Object.freeze({
  bertattack_li_2020: Object.freeze({ transformation: 'masked-lm', candidates: 48, maxWordsFraction: 0.4, minCosine: null }),
  textfooler_jin_2019: Object.freeze({ transformation: 'embedding', candidates: 50, maxWordsFraction: 1, minCosine: 0.5 }),
});

export const WORD_RECIPE_NAMES = Object.keys(WORD_RECIPES) as WordRecipeName[];

export interface WordAttackOptions extends Partial<WordRecipe> {
  /** Default: bertattack_li_2020 when `mlm` is given, else textfooler_jin_2019. Other fields override it. */
  recipe?: WordRecipeName;
  /** Model queries per example at most, the first (unmodified) text included (default 1000). */
  queryBudget?: number;
  /** Words never replaced (default: ENGLISH_STOPWORDS); compared lowercased. */
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
  /** Word index in the attacked text. */
  index: number;
  word: string;
  substitute: string;
  /** Cosine of word and substitute in the victim's input-embedding space. */
  cosine: number;
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
  /** Model queries spent (unique texts). */
  queries: number;
  /** Words of the attacked text (with a letter or digit) and how many were replaced. */
  words: number;
  wordsPerturbed: number;
  original: string[];
  perturbed: string[];
  substitutions: Substitution[];
}

/** The `wordswap` part of a report. */
export interface WordAttackReport extends AttackRates, AttackCounts, WordRecipe {
  recipe: string;
  queryBudget: number;
  /** Mean queries over attacked (not skipped) examples, as TextAttack reports it. */
  avgQueries: number;
  /** Mean words replaced over successful attacks. */
  avgWordsPerturbed: number;
  /** Mean fraction of the words replaced over successful attacks. */
  avgPerturbedFraction: number;
  /** Some successful adversarial texts. */
  examples: WordAttackResult[];
}

interface Resolved extends WordRecipe {
  recipe: string;
  queryBudget: number;
  stopwords: Set<string>;
  maxLength: number;
  batchSize: number;
  examplesShown: number;
}

const OPTION_KEYS = ['recipe', 'transformation', 'candidates', 'maxWordsFraction', 'minCosine', 'queryBudget', 'stopwords', 'mlm', 'mlmTokenizer', 'tokenizer', 'maxLength', 'batchSize', 'examplesShown'];

/** Validates word-attack options and fills the recipe's values. */
export function resolveWordAttack(options: WordAttackOptions, name = 'options'): Resolved {
  const o = v.object(name, options) as WordAttackOptions;
  v.knownKeys(name, o as Record<string, unknown>, OPTION_KEYS);
  const recipe = o.recipe === undefined ? (o.mlm ? 'bertattack_li_2020' : 'textfooler_jin_2019') : v.oneOf(`${name}.recipe`, o.recipe, WORD_RECIPE_NAMES);
  const base = WORD_RECIPES[recipe];
  const transformation = o.transformation === undefined ? base.transformation : v.oneOf(`${name}.transformation`, o.transformation, ['masked-lm', 'embedding'] as const);
  if (transformation === 'masked-lm') {
    if (!o.mlm) throw invalidArg(`${name}.mlm`, `a masked-LM model (the ${recipe} recipe draws substitutes from one)`, o.mlm);
    if (o.mlm.task !== 'masked-lm') throw invalidArg(`${name}.mlm`, "a model with task 'masked-lm'", o.mlm.task);
  }
  const minCosine = o.minCosine === undefined ? base.minCosine : o.minCosine === null ? null : v.finiteNumber(`${name}.minCosine`, o.minCosine, { min: -1, max: 1 });
  if (o.stopwords !== undefined && (!Array.isArray(o.stopwords) || !o.stopwords.every((s) => typeof s === 'string'))) throw invalidArg(`${name}.stopwords`, 'an array of words', o.stopwords);
  const changed = Object.entries({ transformation, minCosine, candidates: o.candidates, maxWordsFraction: o.maxWordsFraction }).some(
    ([k, val]) => val !== undefined && val !== base[k as keyof WordRecipe],
  );
  return {
    // A recipe whose parts were changed is no longer the paper's.
    recipe: changed ? `${recipe}+custom` : recipe,
    transformation,
    candidates: o.candidates === undefined ? base.candidates : v.integer(`${name}.candidates`, o.candidates, { min: 1 }),
    maxWordsFraction: o.maxWordsFraction === undefined ? base.maxWordsFraction : v.finiteNumber(`${name}.maxWordsFraction`, o.maxWordsFraction, { above: 0, max: 1 }),
    minCosine,
    queryBudget: o.queryBudget === undefined ? 1000 : v.integer(`${name}.queryBudget`, o.queryBudget, { min: 1 }),
    stopwords: new Set((o.stopwords ?? ENGLISH_STOPWORDS).map((s) => s.toLowerCase())),
    maxLength: o.maxLength === undefined ? 128 : v.integer(`${name}.maxLength`, o.maxLength, { min: 8 }),
    batchSize: o.batchSize === undefined ? 32 : v.integer(`${name}.batchSize`, o.batchSize, { min: 1 }),
    examplesShown: o.examplesShown === undefined ? 5 : v.integer(`${name}.examplesShown`, o.examplesShown, { min: 0 }),
  };
}

/** The victim behind a query budget, with a cache: a text asked twice costs one query (as TextAttack counts). */
class Victim {
  queries = 0;
  readonly #cache = new Map<string, number[]>();

  constructor(
    private readonly model: Model,
    private readonly tokenizer: Tokenizer,
    private readonly cfg: Resolved,
  ) {}

  get exhausted(): boolean {
    return this.queries >= this.cfg.queryBudget;
  }

  /** Class probabilities per input; undefined for inputs past the budget. */
  async probs(inputs: string[][]): Promise<(number[] | undefined)[]> {
    const keys = inputs.map((t) => JSON.stringify(t));
    const fresh = [...new Set(keys.filter((k) => !this.#cache.has(k)))].slice(0, Math.max(0, this.cfg.queryBudget - this.queries));
    const k = this.model.config.numLabels;
    for (let i = 0; i < fresh.length; i += this.cfg.batchSize) {
      const chunk = fresh.slice(i, i + this.cfg.batchSize);
      const items = chunk.map((key) => JSON.parse(key) as string[]).map((t) => (t.length === 2 ? ([t[0]!, t[1]!] as const) : t[0]!));
      const out = await this.model.forward(this.tokenizer.encodeBatch(items, { maxLength: this.cfg.maxLength }));
      chunk.forEach((key, r) => this.#cache.set(key, softmax(out.logits, r * k, k)));
      this.queries += chunk.length;
    }
    return keys.map((key) => this.#cache.get(key));
  }
}

const HAS_ALNUM = /[\p{L}\p{N}]/u;
const HAS_LETTER = /\p{L}/u;

/** The greedy word-importance search on one correctly classified example. */
async function attackOne(
  victim: Victim,
  seg: Segmented,
  label: number,
  cfg: Resolved,
  space: EmbeddingSpace,
  mlm: MaskedLmSubstitutes | undefined,
): Promise<{ status: WordAttackResult['status']; probs: number[]; replacements: Map<number, Substitution> }> {
  const score = (p: number[]) => 1 - p[label]!;
  const [initial] = await victim.probs([seg.texts]);
  let current = { probs: initial!, replacements: new Map<number, Substitution>() };
  if (argmax(initial!) !== label) return { status: 'skipped', ...current };
  const maxChanged = Math.ceil(cfg.maxWordsFraction * seg.words.filter((w) => HAS_ALNUM.test(w.text)).length);
  const attackable = seg.words.filter((w) => HAS_LETTER.test(w.text) && !cfg.stopwords.has(w.text.toLowerCase()));
  const deleted = await victim.probs(attackable.map((w) => renderTexts(seg, new Map([[w.index, '']]))));
  if (deleted.some((p) => p === undefined)) return { status: 'failed', ...current };
  const order = attackable.map((w, i) => ({ w, s: score(deleted[i]!) })).sort((a, b) => b.s - a.s || a.w.index - b.w.index);
  const textOf = (replacements: Map<number, Substitution>) => renderTexts(seg, new Map([...replacements].map(([i, s]) => [i, s.substitute])));
  for (const { w } of order) {
    if (current.replacements.size >= maxChanged || victim.exhausted) break;
    const proposals =
      cfg.transformation === 'masked-lm'
        ? await mlm!.predict(textOf(current.replacements), seg.target, w.index, cfg.candidates)
        : space.neighbours(w.text, cfg.candidates, cfg.minCosine ?? -1);
    const subs: Substitution[] = [];
    for (const p of proposals) {
      const cosine = space.cosine(w.text, p);
      if (cfg.minCosine !== null && !(cosine >= cfg.minCosine)) continue;
      subs.push({ index: w.index, word: w.text, substitute: matchCase(w.text, p), cosine });
    }
    if (subs.length === 0) continue;
    const candidates = subs.map((s) => new Map(current.replacements).set(w.index, s));
    const probs = await victim.probs(candidates.map(textOf));
    let best = -1;
    let bestSuccess = -1;
    probs.forEach((p, i) => {
      if (!p) return;
      if (best < 0 || score(p) > score(probs[best]!)) best = i;
      if (argmax(p) !== label && (bestSuccess < 0 || score(p) > score(probs[bestSuccess]!))) bestSuccess = i;
    });
    if (bestSuccess >= 0) return { status: 'successful', probs: probs[bestSuccess]!, replacements: candidates[bestSuccess]! };
    if (best >= 0 && score(probs[best]!) > score(current.probs)) current = { probs: probs[best]!, replacements: candidates[best]! };
  }
  return { status: 'failed', ...current };
}

/**
 * Runs a word attack over the examples of `set` (its clean pass decides what is skipped).
 * @internal evaluateRobustness and wordAttack share it.
 */
export async function attackWords(model: Model, tokenizer: Tokenizer, set: EvalSet, options: WordAttackOptions): Promise<{ report: WordAttackReport; results: WordAttackResult[] }> {
  const cfg = resolveWordAttack(options);
  const space = new EmbeddingSpace(await model.wordEmbeddings(), model.config.embeddingSize, tokenizer);
  const mlm = cfg.transformation === 'masked-lm' ? new MaskedLmSubstitutes(options.mlm!, options.mlmTokenizer ?? options.mlm!.tokenizer ?? tokenizer, cfg.maxLength) : undefined;
  const results: WordAttackResult[] = [];
  for (let i = 0; i < set.examples.length; i++) {
    const ex = set.examples[i]!;
    const texts = ex.textPair === undefined ? [ex.text] : [ex.text, ex.textPair];
    const seg = segmentWords(tokenizer, texts, cfg.maxLength);
    const base = { example: i, label: ex.label!, prediction: set.predictions[i]!, original: texts, words: seg.words.filter((w) => HAS_ALNUM.test(w.text)).length };
    if (!set.correct[i]) {
      results.push({ ...base, status: 'skipped', advPrediction: set.predictions[i]!, queries: 0, wordsPerturbed: 0, perturbed: texts, substitutions: [] });
      continue;
    }
    const victim = new Victim(model, tokenizer, cfg);
    const r = await attackOne(victim, seg, ex.label!, cfg, space, mlm);
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
    maxWordsFraction: cfg.maxWordsFraction,
    minCosine: cfg.minCosine,
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
