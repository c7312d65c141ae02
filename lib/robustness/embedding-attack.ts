/**
 * White-box PGD-k on the word embeddings (Madry et al., ICLR 2018, "Towards Deep Learning Models
 * Resistant to Adversarial Attacks"): k normalised ascent steps of size 2.5 * epsilon / k, projected
 * to the l2 or linf ball, in eval mode from a zero start. Outcomes are counted as TextAttack does:
 * examples the model already gets wrong are skipped, an attack succeeds when the prediction at the
 * final perturbation differs from the label.
 */
import type { Model } from '../model/model.js';
import { type EvalSet, indexedBatches } from './examples.js';
import { argmax, attackRates, type AttackCounts, type AttackRates } from './stats.js';

export interface EmbeddingAttackOptions {
  /** l2 radii (per example, over real tokens). */
  radii: readonly number[];
  /** linf radii; default: each l2 radius / sqrt(embeddingSize), the box whose corner has that l2 norm per token. */
  linfRadii?: readonly number[];
  norms?: readonly ('l2' | 'linf')[];
  /** Ascent steps k (default 10). */
  steps?: number;
  batchSize: number;
}

/** One norm and radius. */
export interface EmbeddingAttackResult extends AttackRates, AttackCounts {
  norm: 'l2' | 'linf';
  epsilon: number;
}

/** The `pgd` part of a report; the top-level rates are those of the first norm and radius. */
export interface EmbeddingAttackReport extends AttackRates {
  norm: 'l2' | 'linf';
  epsilon: number;
  steps: number;
  results: EmbeddingAttackResult[];
}

export const PGD_DEFAULT_STEPS = 10;

/**
 * Accuracy under attack and success rate of PGD-k for each norm and radius.
 *
 * @example
 * ```ts
 * const r = await pgdAttack(model, set, { radii: [0.5, 1], norms: ['l2', 'linf'], batchSize: 32 });
 * r.results.map((x) => `${x.norm} ${x.epsilon}: ${x.accuracyUnderAttack}`);
 * ```
 */
export async function pgdAttack(model: Model, set: EvalSet, options: EmbeddingAttackOptions): Promise<EmbeddingAttackReport> {
  const steps = options.steps ?? PGD_DEFAULT_STEPS;
  const norms = options.norms ?? ['l2', 'linf'];
  const linfRadii = options.linfRadii ?? options.radii.map((r) => r / Math.sqrt(model.config.embeddingSize));
  const correct = set.correct.flatMap((ok, i) => (ok ? [i] : []));
  const skipped = set.correct.length - correct.length;
  const batches = indexedBatches(set, correct, options.batchSize);
  const k = model.config.numLabels;
  const results: EmbeddingAttackResult[] = [];
  for (const norm of norms) {
    for (const epsilon of norm === 'l2' ? options.radii : linfRadii) {
      const counts: AttackCounts = { successful: 0, failed: 0, skipped };
      for (const { batch } of batches) {
        const r = await model.attack(batch, { epsilon, norm, steps, stepSize: (2.5 * epsilon) / steps, patience: 0 });
        for (let row = 0; row < batch.batchSize; row++) {
          if (argmax(r.advLogits, row * k, k) === batch.labels![row]) counts.failed++;
          else counts.successful++;
        }
      }
      results.push({ norm, epsilon, ...counts, ...attackRates(counts) });
    }
  }
  const first = results[0]!;
  return { norm: first.norm, epsilon: first.epsilon, steps, accuracyUnderAttack: first.accuracyUnderAttack, successRate: first.successRate, results };
}
