/**
 * SQuAD v1.1 exact match and token F1, as the official `evaluate-v1.1.py`: answers are normalised
 * (lowercase, ASCII punctuation removed, the articles a/an/the removed, whitespace collapsed), each
 * question scores the best over its gold answers, and an unanswered question scores 0. Scores here
 * are fractions in [0, 1]; the official script prints them times 100.
 */
import { invalidArg } from '../errors.js';

/** Python's `string.punctuation`. */
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
/** Python's `\b(a|an|the)\b` on str: a word character is a letter, a number or `_`. */
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
/** What Python's `str.split()` splits on (`str.isspace`). */
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/**
 * The official normalisation: lowercase, drop punctuation, drop articles, collapse whitespace.
 *
 * @example
 * ```ts
 * normalizeAnswer('The  Eiffel-Tower!'); // 'eiffeltower'
 * ```
 */
export function normalizeAnswer(s: string): string {
  return tokens(s).join(' ');
}

function tokens(s: string): string[] {
  return s
    .toLowerCase()
    .replace(PUNCTUATION, '')
    .replace(ARTICLES, ' ')
    .split(WHITESPACE)
    .filter((t) => t !== '');
}

function checkGolds(golds: readonly string[]): void {
  if (!Array.isArray(golds)) throw invalidArg('golds', 'an array of answer texts', golds);
}

/**
 * 1 if the normalised prediction equals any normalised gold answer, else 0 (also for no golds).
 *
 * @example
 * ```ts
 * squadExactMatch('the Eiffel Tower', ['Eiffel Tower', 'tower']); // 1
 * ```
 */
export function squadExactMatch(prediction: string, golds: readonly string[]): number {
  checkGolds(golds);
  const p = normalizeAnswer(prediction);
  return golds.some((g) => normalizeAnswer(g) === p) ? 1 : 0;
}

function tokenF1(pred: readonly string[], gold: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const t of gold) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * The best token-overlap F1 between the normalised prediction and a gold answer (0 for no golds, and
 * 0 when either side normalises to nothing, as the official script).
 *
 * @example
 * ```ts
 * squadF1('Eiffel Tower in Paris', ['the Eiffel Tower']); // 2 * (2/4) * (2/2) / (2/4 + 2/2) = 0.666...
 * ```
 */
export function squadF1(prediction: string, golds: readonly string[]): number {
  checkGolds(golds);
  const p = tokens(prediction);
  let best = 0;
  for (const g of golds) best = Math.max(best, tokenF1(p, tokens(g)));
  return best;
}

/** SQuAD scores over a data set. */
export interface SquadScores {
  /** Mean exact match in [0, 1]. */
  exactMatch: number;
  /** Mean F1 in [0, 1]. */
  f1: number;
  /** Questions scored. */
  total: number;
  /** Questions with no prediction (scored 0). */
  unanswered: number;
}

/**
 * Scores predicted answer texts (by question id) against the gold answers of `examples` (what
 * `readSquad` returns); questions without a prediction score 0.
 *
 * @example
 * ```ts
 * const dev = await readSquad('dev-v1.1.json');
 * const { exactMatch, f1 } = squadScores({ '56be4db0acb8001400a502ec': 'Denver Broncos' }, dev);
 * ```
 */
export function squadScores(
  predictions: Readonly<Record<string, string>> | ReadonlyMap<string, string>,
  examples: readonly { id: string; answers: readonly { text: string }[] }[],
): SquadScores {
  if (typeof predictions !== 'object' || predictions === null) throw invalidArg('predictions', 'an object or Map from question id to answer', predictions);
  if (!Array.isArray(examples as unknown)) throw invalidArg('examples', 'an array of SQuAD examples', examples);
  const lookup = predictions instanceof Map ? (id: string) => predictions.get(id) : (id: string) => (Object.hasOwn(predictions, id) ? (predictions as Record<string, string>)[id] : undefined);
  let em = 0;
  let f = 0;
  let unanswered = 0;
  for (const ex of examples) {
    const prediction = lookup(ex.id);
    if (prediction === undefined) {
      unanswered++;
      continue;
    }
    const golds = ex.answers.map((a) => a.text);
    em += squadExactMatch(prediction, golds);
    f += squadF1(prediction, golds);
  }
  const total = examples.length;
  return { exactMatch: total === 0 ? 0 : em / total, f1: total === 0 ? 0 : f / total, total, unanswered };
}
