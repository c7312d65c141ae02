/**
 * The project's own synthetic sentiment task: short movie-review sentences whose label depends on
 * negation ("not", "never", "hardly"), contrast ("..., but ...") and verb polarity, with intensifiers
 * that change nothing. A bag of words cannot solve it; word order and scope matter. Seeded: the same
 * seed gives the same examples everywhere. Used by `advtrain demo` and the tests.
 */
import { Random } from '../data/random.js';

const POSITIVE = ['good', 'great', 'wonderful', 'excellent', 'brilliant', 'delightful', 'charming', 'superb', 'enjoyable', 'moving', 'funny', 'beautiful', 'clever', 'fresh', 'solid'];
const NEGATIVE = ['bad', 'terrible', 'awful', 'boring', 'dull', 'poor', 'weak', 'bland', 'tedious', 'clumsy', 'messy', 'silly', 'painful', 'stale', 'forgettable'];
const INTENSIFIERS = ['very', 'really', 'truly', 'extremely', 'incredibly', 'quite', 'so', 'remarkably'];
const NEGATORS = ['not', 'never', 'hardly'];
const NOUNS = ['movie', 'film', 'plot', 'story', 'acting', 'script', 'cast', 'ending', 'soundtrack', 'director', 'dialogue', 'pacing', 'scenes', 'characters', 'performance'];
const LIKE = ['like', 'love', 'enjoy', 'admire'];
const DISLIKE = ['hate', 'dislike', 'loathe', 'resent'];
const FILLERS = ['the', 'was', 'is', 'i', 'did', 'a', 'it', 'but', 'at', 'all', 'this', 'and', 'honestly', ','];

export interface SentimentExample {
  text: string;
  /** 1 positive, 0 negative. */
  label: number;
}

/** Every word the generator can emit (the demo builds its WordPiece vocabulary from it). */
export function syntheticVocabulary(): string[] {
  return [...new Set([...POSITIVE, ...NEGATIVE, ...INTENSIFIERS, ...NEGATORS, ...NOUNS, ...LIKE, ...DISLIKE, ...FILLERS])].sort();
}

/**
 * `n` labeled sentences, balanced between the classes.
 *
 * @example
 * ```ts
 * generateSentiment(3, 1); // e.g. [{ text: 'the plot was not very clever', label: 0 }, ...]
 * ```
 */
export function generateSentiment(n: number, seed: number): SentimentExample[] {
  const rng = new Random(seed, 0);
  const r = () => rng.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = (p: number) => r() < p;
  const intens = () => (maybe(0.4) ? `${pick(INTENSIFIERS)} ` : '');
  // an adjective of the wanted polarity (1 = positive)
  const adj = (pol: number) => pick(pol ? POSITIVE : NEGATIVE);
  const templates: ((pol: number) => string)[] = [
    (pol) => `the ${pick(NOUNS)} was ${intens()}${adj(pol)}`,
    (pol) => `the ${pick(NOUNS)} was ${pick(NEGATORS)} ${intens()}${adj(1 - pol)}`,
    (pol) => (maybe(0.5) ? `i ${pick(pol ? LIKE : DISLIKE)} the ${pick(NOUNS)}` : `i did not ${pick(pol ? DISLIKE : LIKE)} the ${pick(NOUNS)}`),
    (pol) => `the ${pick(NOUNS)} was ${adj(1 - pol)} , but the ${pick(NOUNS)} was ${intens()}${adj(pol)}`,
    (pol) => `the ${pick(NOUNS)} was not ${adj(pol)} , but the ${pick(NOUNS)} was ${pick(NEGATORS)} ${adj(1 - pol)}`,
    (pol) => `it is ${maybe(0.5) ? `a ${intens()}${adj(pol)}` : `not a ${intens()}${adj(1 - pol)}`} ${pick(NOUNS)}`,
    (pol) => `honestly , ${intens()}${adj(pol)} and ${adj(pol)}`,
    (pol) => `not ${intens()}${adj(1 - pol)} at all`,
  ];
  const out: SentimentExample[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    out.push({ text: pick(templates)(label), label });
  }
  // Fisher-Yates with the same generator: classes interleave without a fixed pattern.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
