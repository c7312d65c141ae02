/**
 * Truncation with tokenizers' (Rust) semantics, `truncate_encodings` in tokenizers/src/utils/truncation.rs,
 * which transformers' fast tokenizers use: tokens are cut from the right, special tokens are added
 * afterwards and so always kept.
 */

/** How a pair (or a single text) is cut to fit `maxLength`. */
export type Truncation = 'longest_first' | 'only_second';

/** Why truncation could not fit the texts; the caller words the error. */
export type TruncationFailure = { reason: 'no-second-text' } | { reason: 'second-text-too-short'; toRemove: number };

/**
 * The sequence lengths after truncating `lengths` (one or two) to at most `budget` tokens in all.
 *
 * longest_first on a pair keeps the shorter sequence whole when it fits in half the budget and gives
 * the longer the rest; otherwise both get half, the odd token going to the longer one (to the second
 * when they are equally long). This is what removing one token at a time from the longer sequence
 * gives, except on that tie: transformers' slow tokenizers remove from the second first and so give
 * the odd token to the first.
 */
export function truncatedLengths(lengths: readonly number[], budget: number, strategy: Truncation): number[] | TruncationFailure {
  // tokenizers special-cases a zero budget: every sequence is emptied, whatever the strategy.
  if (budget === 0) return lengths.map(() => 0);
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total <= budget) return [...lengths];
  const toRemove = total - budget;
  if (strategy === 'only_second') {
    if (lengths.length < 2) return { reason: 'no-second-text' };
    if (lengths[1]! <= toRemove) return { reason: 'second-text-too-short', toRemove };
    return [lengths[0]!, lengths[1]! - toRemove];
  }
  if (lengths.length < 2) return [budget];
  const [a, b] = lengths as [number, number];
  const swap = a > b;
  let short = Math.min(a, b);
  let long = short > budget ? short : Math.max(short, budget - short);
  if (short + long > budget) {
    short = Math.floor(budget / 2);
    long = short + (budget % 2);
  }
  return swap ? [long, short] : [short, long];
}
