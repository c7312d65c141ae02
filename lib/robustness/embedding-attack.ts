/**
 * White-box PGD-k on the word embeddings (Madry et al., ICLR 2018, "Towards Deep Learning Models
 * Resistant to Adversarial Attacks"), in eval mode: k steps of size 2.5 * epsilon / k, Madry's sign
 * step in linf (delta + a * sign(g), clipped to the box), the normalised step a * g / ||g|| in l2
 * (projected to the ball); a zero start, or with `randomStart` a uniform one (linf: U(-eps, eps),
 * Madry's; l2: FreeLB's U(-1, 1) * eps / sqrt(n * D)). Outcomes are counted as TextAttack does:
 * examples the model already gets wrong are skipped; an attack succeeds when the prediction differs
 * from the label at any iterate (the start, each step, the final point), not only the last.
 */
import type { Model } from '../model/model.js';
import { type EvalSet, indexedBatches } from './examples.js';
import { attackRates, type AttackCounts, type AttackRates } from './stats.js';

export interface EmbeddingAttackOptions {
  /** l2 radii (per example, over real tokens). */
  radii: readonly number[];
  /** linf radii; default: each l2 radius / sqrt(embeddingSize), the box whose corner has that l2 norm per token. */
  linfRadii?: readonly number[];
  norms?: readonly ('l2' | 'linf')[];
  /** Ascent steps k (default 10). */
  steps?: number;
  /** Start from a uniform draw in the ball instead of zero (default false). */
  randomStart?: boolean;
  /** Seed of the random start (default 0). */
  seed?: number;
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
  /** The attack's definition, so that numbers are compared only across equal ones. */
  definition: PgdDefinition;
  results: EmbeddingAttackResult[];
}

/** What a PGD number means: step rule per norm, step size, start, when an attack counts as successful. */
export interface PgdDefinition {
  reference: string;
  step: { l2: 'normalized'; linf: 'sign' };
  stepSize: '2.5 * epsilon / steps';
  start: 'zero' | 'uniform';
  success: 'any-iterate';
}

export function pgdDefinition(randomStart: boolean): PgdDefinition {
  return {
    reference: 'Madry et al. 2018 (PGD-k); l2 step and start as FreeLB',
    step: { l2: 'normalized', linf: 'sign' },
    stepSize: '2.5 * epsilon / steps',
    start: randomStart ? 'uniform' : 'zero',
    success: 'any-iterate',
  };
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
  const randomStart = options.randomStart ?? false;
  const seed = options.seed ?? 0;
  const norms = options.norms ?? ['l2', 'linf'];
  const linfRadii = options.linfRadii ?? options.radii.map((r) => r / Math.sqrt(model.config.embeddingSize));
  const correct = set.correct.flatMap((ok, i) => (ok ? [i] : []));
  const skipped = set.correct.length - correct.length;
  const batches = indexedBatches(set, correct, options.batchSize);
  const results: EmbeddingAttackResult[] = [];
  for (const norm of norms) {
    for (const epsilon of norm === 'l2' ? options.radii : linfRadii) {
      const counts: AttackCounts = { successful: 0, failed: 0, skipped };
      for (const [b, { batch }] of batches.entries()) {
        const r = await model.attack(batch, {
          epsilon,
          norm,
          steps,
          step: norm === 'linf' ? 'sign' : 'normalized',
          start: randomStart ? 'uniform' : 'zero',
          seed: seed + b,
          stepSize: (2.5 * epsilon) / steps,
        });
        for (let row = 0; row < batch.batchSize; row++) {
          if (r.succeeded[row]! > 0) counts.successful++;
          else counts.failed++;
        }
      }
      results.push({ norm, epsilon, ...counts, ...attackRates(counts) });
    }
  }
  const first = results[0]!;
  return { norm: first.norm, epsilon: first.epsilon, steps, definition: pgdDefinition(randomStart), accuracyUnderAttack: first.accuracyUnderAttack, successRate: first.successRate, results };
}
