/**
 * Entity-level precision, recall and F1 for tagged sequences, as seqeval's default mode (the rules
 * of the CoNLL-2000 `conlleval` script; Ramshaw and Marcus, 1995, for the IOB schemes). Chunks are
 * found leniently: an `I-X` after `O` (or after a different type) starts an entity, a type change
 * ends one, so IOB1 and IOB2 (BIO) both work; `E-`/`S-` of IOBES are handled as seqeval does.
 * Scores are micro-averaged over entities; 0 where a ratio would divide by zero.
 */
import { invalidArg } from '../errors.js';

/** An entity: its type and its first and last token (inclusive), as seqeval's chunks. */
export interface Entity {
  type: string;
  start: number;
  end: number;
}

/** Splits a tag into seqeval's prefix (first character) and type (after the first `-`; `_` if none). */
function split(tag: string): [string, string] {
  const rest = tag.slice(1);
  const dash = rest.indexOf('-');
  return [tag.slice(0, 1), (dash === -1 ? rest : rest.slice(dash + 1)) || '_'];
}

function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if ((prevTag === 'B' || prevTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/**
 * The entities of one tag sequence, by seqeval's `get_entities` rules.
 *
 * @example
 * ```ts
 * getEntities(['B-PER', 'I-PER', 'O', 'I-LOC', 'B-LOC']);
 * // [{ type: 'PER', start: 0, end: 1 }, { type: 'LOC', start: 3, end: 3 }, { type: 'LOC', start: 4, end: 4 }]
 * ```
 */
export function getEntities(tags: readonly string[]): Entity[] {
  const out: Entity[] = [];
  let prevTag = 'O';
  let prevType = '';
  let begin = 0;
  // A trailing 'O' closes an entity that runs to the end.
  for (let i = 0; i <= tags.length; i++) {
    const [tag, type] = i < tags.length ? split(tags[i]!) : ['O', '_'];
    if (endOfChunk(prevTag, tag, prevType, type)) out.push({ type: prevType, start: begin, end: i - 1 });
    if (startOfChunk(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  }
  return out;
}

/** Scores of one entity type; `support` is its number of reference entities. */
export interface TypeScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Micro-averaged entity scores, token accuracy, and scores by entity type. */
export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
  /** Fraction of tokens whose predicted tag equals the reference tag. */
  accuracy: number;
  byType: Record<string, TypeScores>;
}

function prf(tp: number, predicted: number, actual: number): { precision: number; recall: number; f1: number } {
  const precision = predicted === 0 ? 0 : tp / predicted;
  const recall = actual === 0 ? 0 : tp / actual;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/**
 * Entity-level scores of predicted tag sequences against reference ones (seqeval's
 * `precision_score`, `recall_score`, `f1_score` with default arguments, and `accuracy_score`). An
 * entity counts as correct only with the same type, start and end.
 *
 * @example
 * ```ts
 * // seqeval's README example
 * const refs = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
 * const preds = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
 * entityScores(preds, refs).f1; // 0.5
 * ```
 */
export function entityScores(predictions: readonly (readonly string[])[], references: readonly (readonly string[])[]): EntityScores {
  if (!Array.isArray(predictions as unknown)) throw invalidArg('predictions', 'an array of tag arrays', predictions);
  if (!Array.isArray(references as unknown) || references.length !== predictions.length) {
    throw invalidArg('references', `an array of ${predictions.length} tag arrays (as predictions)`, references);
  }
  const counts = new Map<string, { tp: number; predicted: number; actual: number }>();
  const count = (type: string) => {
    let c = counts.get(type);
    if (!c) counts.set(type, (c = { tp: 0, predicted: 0, actual: 0 }));
    return c;
  };
  let tokens = 0;
  let correctTokens = 0;
  predictions.forEach((pred, s) => {
    const ref = references[s]!;
    if (!Array.isArray(pred) || !Array.isArray(ref) || pred.length !== ref.length) {
      throw invalidArg(`predictions[${s}]`, `an array of ${Array.isArray(ref) ? ref.length : 'as many'} tags (as references[${s}])`, pred);
    }
    for (let i = 0; i < ref.length; i++) if (pred[i] === ref[i]) correctTokens++;
    tokens += ref.length;
    const gold = new Set<string>();
    for (const e of getEntities(ref)) {
      gold.add(`${e.type}\u0000${e.start}\u0000${e.end}`);
      count(e.type).actual++;
    }
    for (const e of getEntities(pred)) {
      const c = count(e.type);
      c.predicted++;
      if (gold.has(`${e.type}\u0000${e.start}\u0000${e.end}`)) c.tp++;
    }
  });
  let tp = 0;
  let predicted = 0;
  let actual = 0;
  const byType: Record<string, TypeScores> = {};
  for (const type of [...counts.keys()].sort()) {
    const c = counts.get(type)!;
    tp += c.tp;
    predicted += c.predicted;
    actual += c.actual;
    byType[type] = { ...prf(c.tp, c.predicted, c.actual), support: c.actual };
  }
  return { ...prf(tp, predicted, actual), accuracy: tokens === 0 ? 0 : correctTokens / tokens, byType };
}
