/**
 * How far an embedding perturbation moves the encoder's representations: the diagnostics of CreAT
 * (Wu & Zhao, ICLR 2023, "Toward Adversarial Training on Contextualized Language Representation",
 * Figures 1-2). With the final delta of a PGD attack, per example: the cosine similarity of the clean
 * and perturbed final representations (the lower bound over tokens, as in the paper's objective, and
 * the mean), the cosine per layer (mean over real tokens) and the KL divergence of the attention
 * probabilities, KL(clean || perturbed), per layer (mean over heads and real query tokens, keys
 * restricted to real tokens). Each figure is averaged over examples.
 */
import { layerApplications } from '../model/config.js';
import type { Model } from '../model/model.js';
import { type EvalSet, indexedBatches } from './examples.js';
import { cosine, mean } from './stats.js';

export interface DeviationOptions {
  /** l2 radius of the attack whose final delta is used. */
  epsilon: number;
  /** PGD steps (default 10, step 2.5 * epsilon / steps). */
  steps?: number;
  batchSize: number;
}

/** The `deviation` part of a report. */
export interface DeviationReport {
  epsilon: number;
  norm: 'l2';
  steps: number;
  n: number;
  /** Final representations: mean over examples of the per-example lower bound over tokens, and of the per-example mean. */
  finalCosine: { lowerBound: number; mean: number };
  /** Per layer, index 0 = the embedding output: cosine of clean and perturbed hidden states. */
  hiddenCosine: number[];
  /** Per transformer layer: KL(clean || perturbed) of the attention probabilities. */
  attentionKL: number[];
}

const KL_FLOOR = 1e-12;

/**
 * Representation deviation under the final delta of an l2 PGD attack, over every example of `set`.
 *
 * @example
 * ```ts
 * const d = await representationDeviation(model, set, { epsilon: 0.5, batchSize: 16 });
 * d.finalCosine.lowerBound; // CreAT's similarity of the final layer
 * d.attentionKL;            // one value per layer
 * ```
 */
export async function representationDeviation(model: Model, set: EvalSet, options: DeviationOptions): Promise<DeviationReport> {
  const steps = options.steps ?? 10;
  const epsilon = options.epsilon;
  const layers = layerApplications(model.config);
  const hiddenSums = new Array<number>(layers + 1).fill(0);
  const klSums = new Array<number>(layers).fill(0);
  const lowerBounds: number[] = [];
  const means: number[] = [];
  const all = set.examples.map((_, i) => i);
  for (const { batch } of indexedBatches(set, all, options.batchSize)) {
    const r = await model.attack(batch, { epsilon, norm: 'l2', steps, stepSize: (2.5 * epsilon) / steps, patience: 0, keepDelta: true });
    const clean = await model.forward(batch, { outputHiddenStates: true, outputAttentions: true });
    const adv = await model.forward(batch, { outputHiddenStates: true, outputAttentions: true, perturbation: r.delta! });
    const [rows, L, H] = clean.hiddenShape;
    const heads = model.config.numHeads;
    for (let b = 0; b < rows; b++) {
      const real: number[] = [];
      for (let t = 0; t < L; t++) if (batch.attentionMask![b * L + t] === 1) real.push(t);
      const tokenCos = (x: Float32Array, y: Float32Array) => real.map((t) => cosine(x, y, 1, (b * L + t) * H, (b * L + t) * H, H));
      const last = tokenCos(clean.lastHiddenState, adv.lastHiddenState);
      lowerBounds.push(Math.min(...last));
      means.push(mean(last));
      clean.hiddenStates!.forEach((h, l) => (hiddenSums[l]! += mean(tokenCos(h, adv.hiddenStates![l]!))));
      clean.attentions!.forEach((p, l) => {
        const q = adv.attentions![l]!;
        let kl = 0;
        for (let h = 0; h < heads; h++) {
          for (const i of real) {
            const row = ((b * heads + h) * L + i) * L;
            for (const j of real) {
              const pv = Math.max(p[row + j]!, KL_FLOOR);
              kl += pv * Math.log(pv / Math.max(q[row + j]!, KL_FLOOR));
            }
          }
        }
        klSums[l]! += kl / (heads * real.length);
      });
    }
  }
  const n = lowerBounds.length;
  return {
    epsilon,
    norm: 'l2',
    steps,
    n,
    finalCosine: { lowerBound: mean(lowerBounds), mean: mean(means) },
    hiddenCosine: hiddenSums.map((s) => s / n),
    attentionKL: klSums.map((s) => s / n),
  };
}
