/**
 * Embedding-space robustness: the loss increase an attack can cause inside an epsilon-ball (FreeLB,
 * Zhu et al. 2020, Table 5), accuracy under a PGD attack (success rate as TextAttack defines it), and
 * how far the attack moves the representations (CreAT, Wu & Zhao 2023, Figures 1 and 2).
 */
import type { LabeledBatch } from '../model/batch.js';
import type { Model } from '../model/model.js';
import { argmaxRows, mean, quantile } from './stats.js';

export interface LossIncreaseOptions {
  /** Radii of the l2 ball (per example, over real tokens). */
  radii: number[];
  /** FreeLB's protocol: step 5e-3, up to 2000 iterations, stop after 50 without a larger loss. */
  stepSize?: number;
  steps?: number;
  patience?: number;
}

export interface LossIncrease {
  radius: number;
  /** Correctly classified examples the attack ran on. */
  n: number;
  median: number;
  q1: number;
  q3: number;
  mean: number;
}

function labelsOf(b: LabeledBatch): number[] {
  return Array.from(b.labels as Int32Array);
}

/**
 * Max loss increase in the ball, per radius, over the correctly classified examples.
 *
 * @example
 * ```ts
 * const rows = await maxLossIncrease(model, devBatches, { radii: [0.1, 0.5, 1] });
 * ```
 */
export async function maxLossIncrease(model: Model, batches: LabeledBatch[], options: LossIncreaseOptions): Promise<LossIncrease[]> {
  const out: LossIncrease[] = [];
  for (const radius of options.radii) {
    const inc: number[] = [];
    for (const b of batches) {
      const r = await model.attack(b, { epsilon: radius, stepSize: options.stepSize ?? 5e-3, steps: options.steps ?? 2000, patience: options.patience ?? 50 });
      const pred = argmaxRows(r.cleanLogits, r.logitsShape[r.logitsShape.length - 1]!);
      labelsOf(b).forEach((y, i) => {
        if (pred[i] === y) inc.push(Math.max(0, r.maxLoss[i]! - r.cleanLoss[i]!));
      });
    }
    out.push({ radius, n: inc.length, median: quantile(inc, 0.5), q1: quantile(inc, 0.25), q3: quantile(inc, 0.75), mean: mean(inc) });
  }
  return out;
}

export interface PgdOptions {
  radii: number[];
  norms?: ('l2' | 'linf')[];
  /** PGD-k: iterations (default 10) and step size (default radius / 4). */
  steps?: number;
  stepSize?: number;
}

/** TextAttack's counts: attacks on misclassified examples are skipped. */
export interface AttackCounts {
  total: number;
  successful: number;
  failed: number;
  skipped: number;
  /** failed / total */
  accuracyUnderAttack: number;
  /** successful / (successful + failed) */
  successRate: number;
}

export function attackCounts(successful: number, failed: number, skipped: number): AttackCounts {
  const total = successful + failed + skipped;
  return { total, successful, failed, skipped, accuracyUnderAttack: total ? failed / total : 0, successRate: successful + failed ? successful / (successful + failed) : 0 };
}

export interface PgdResult extends AttackCounts {
  norm: 'l2' | 'linf';
  radius: number;
}

/**
 * Accuracy under a PGD-k attack on the word embeddings, per norm and radius.
 *
 * @example
 * ```ts
 * const rows = await pgdAttack(model, devBatches, { radii: [0.5], norms: ['l2', 'linf'] });
 * ```
 */
export async function pgdAttack(model: Model, batches: LabeledBatch[], options: PgdOptions): Promise<PgdResult[]> {
  const out: PgdResult[] = [];
  for (const norm of options.norms ?? ['l2']) {
    for (const radius of options.radii) {
      let successful = 0;
      let failed = 0;
      let skipped = 0;
      for (const b of batches) {
        const r = await model.attack(b, { epsilon: radius, norm, steps: options.steps ?? 10, stepSize: options.stepSize ?? radius / 4 });
        const cols = r.logitsShape[r.logitsShape.length - 1]!;
        const clean = argmaxRows(r.cleanLogits, cols);
        const adv = argmaxRows(r.advLogits, cols);
        labelsOf(b).forEach((y, i) => {
          if (clean[i] !== y) skipped++;
          else if (adv[i] !== y) successful++;
          else failed++;
        });
      }
      out.push({ norm, radius, ...attackCounts(successful, failed, skipped) });
    }
  }
  return out;
}

export interface Deviation {
  radius: number;
  /** Cosine between clean and perturbed final representations: mean over real tokens, then examples. */
  finalCosineMean: number;
  /** The lower bound over tokens (CreAT's S): min over each example's real tokens, averaged over examples. */
  finalCosineLowerBound: number;
  /** Per layer (embedding output first): mean cosine over real tokens. */
  layerCosine: number[];
  /** Per layer: KL(clean || perturbed) of attention probabilities, mean over heads and real query tokens. */
  attentionKl: number[];
}

/**
 * Representation deviation under a PGD attack of the given radius (CreAT's Figures 1 and 2).
 *
 * @example
 * ```ts
 * const d = await representationDeviation(model, devBatches, { radius: 0.5 });
 * ```
 */
export async function representationDeviation(model: Model, batches: LabeledBatch[], options: { radius: number; steps?: number; stepSize?: number }): Promise<Deviation> {
  const layerSums: number[] = [];
  const klSums: number[] = [];
  let tokens = 0;
  const finalMeans: number[] = [];
  const finalMins: number[] = [];
  for (const b of batches) {
    const r = await model.attack(b, { epsilon: options.radius, steps: options.steps ?? 10, stepSize: options.stepSize ?? options.radius / 4, keepDelta: true });
    const clean = await model.forward(b, { outputHiddenStates: true, outputAttentions: true, attention: 'math' });
    const adv = await model.forward(b, { perturbation: r.delta!, outputHiddenStates: true, outputAttentions: true, attention: 'math' });
    const [rows, L, H] = clean.hiddenShape;
    const mask = b.attentionMask ?? new Int32Array(rows * L).fill(1);
    clean.hiddenStates!.forEach((hc, layer) => {
      const ha = adv.hiddenStates![layer]!;
      for (let row = 0; row < rows; row++) {
        let min = Infinity;
        let sum = 0;
        let n = 0;
        for (let t = 0; t < L; t++) {
          if (!mask[row * L + t]) continue;
          const o = (row * L + t) * H;
          let dot = 0;
          let na = 0;
          let nb = 0;
          for (let k = 0; k < H; k++) {
            dot += hc[o + k]! * ha[o + k]!;
            na += hc[o + k]! ** 2;
            nb += ha[o + k]! ** 2;
          }
          const cos = dot / Math.max(Math.sqrt(na) * Math.sqrt(nb), 1e-12);
          layerSums[layer] = (layerSums[layer] ?? 0) + cos;
          sum += cos;
          n++;
          min = Math.min(min, cos);
        }
        if (layer === clean.hiddenStates!.length - 1 && n) {
          finalMeans.push(sum / n);
          finalMins.push(min);
        }
      }
    });
    const heads = adv.attentions![0]!.length / (rows * L * L);
    clean.attentions!.forEach((pc, layer) => {
      const pa = adv.attentions![layer]!;
      for (let row = 0; row < rows; row++) {
        for (let h = 0; h < heads; h++) {
          for (let q = 0; q < L; q++) {
            if (!mask[row * L + q]) continue;
            const o = ((row * heads + h) * L + q) * L;
            let kl = 0;
            for (let k = 0; k < L; k++) {
              const p = pc[o + k]!;
              if (p > 0) kl += p * (Math.log(p) - Math.log(Math.max(pa[o + k]!, 1e-30)));
            }
            klSums[layer] = (klSums[layer] ?? 0) + kl / heads;
          }
        }
      }
    });
    for (let i = 0; i < rows * L; i++) tokens += mask[i] ? 1 : 0;
  }
  return {
    radius: options.radius,
    finalCosineMean: mean(finalMeans),
    finalCosineLowerBound: mean(finalMins),
    layerCosine: layerSums.map((s) => s / tokens),
    attentionKl: klSums.map((s) => s / tokens),
  };
}
