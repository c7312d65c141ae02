/**
 * `evaluateRobustness`: one JSON report (validated by report.schema.json) plus SVG figures, from a
 * classification model and labeled examples.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collateTexts, encodeTexts } from '../data/batching.js';
import { Random } from '../data/random.js';
import type { TextExample } from '../data/table.js';
import { invalidArg } from '../errors.js';
import type { LabeledBatch } from '../model/batch.js';
import type { Model } from '../model/model.js';
import { evaluateModel } from '../train/evaluate.js';
import { maxLossIncrease, pgdAttack, representationDeviation, type Deviation, type LossIncrease, type PgdResult } from './embedding.js';
import { deviationFigure, lossIncreaseFigure } from './figures.js';
import { wordAttack, type WordAttackOptions, type WordAttackResult } from './word-attack.js';

export const ATTACKS = ['dlmax', 'pgd', 'wordswap', 'deviation'] as const;
export type AttackName = (typeof ATTACKS)[number];

export interface RobustnessOptions {
  /** Which evaluations to run (default all). */
  attacks?: AttackName[];
  /** l2 radii of the ball (default [0.1, 0.5, 1]). */
  radii?: number[];
  /** Examples used (a seeded sample of the data; default 200). */
  maxExamples?: number;
  seed?: number;
  maxLength?: number;
  batchSize?: number;
  /** Loss increase protocol (FreeLB: 5e-3, 2000, 50). */
  dlmax?: { stepSize?: number; steps?: number; patience?: number };
  /** PGD-k: steps (default 10) and norms (default l2 and linf). */
  pgd?: { steps?: number; norms?: ('l2' | 'linf')[] };
  wordswap?: WordAttackOptions;
  /** Where report.json and the figures go. */
  outDir?: string;
  /** Recorded in the report. */
  modelName?: string;
  task?: string;
}

export interface RobustnessReport {
  version: 1;
  model: string;
  task: string;
  examples: number;
  cleanAccuracy: number;
  dlmax?: { median: number; q1: number; q3: number; radii: LossIncrease[] };
  pgd?: { accuracyUnderAttack: number; successRate: number; results: PgdResult[] };
  wordswap?: WordAttackResult;
  deviation?: Deviation;
  figures: string[];
}

/**
 * Runs the robustness evaluations on a sequence-classification model.
 *
 * @example
 * ```ts
 * const report = await evaluateRobustness(model, await readGlue('sst2', 'sst2/dev.tsv'), { outDir: 'runs/robustness', radii: [0.5, 1] });
 * console.log(report.cleanAccuracy, report.pgd?.accuracyUnderAttack, report.wordswap?.successRate);
 * ```
 */
export async function evaluateRobustness(model: Model, examples: TextExample[], options: RobustnessOptions = {}): Promise<RobustnessReport> {
  if (model.task !== 'sequence-classification') throw invalidArg('model', 'a sequence-classification model', model.task);
  const tok = model.tokenizer;
  if (!tok) throw invalidArg('model.tokenizer', 'a tokenizer (load the model from a folder with tokenizer files)', undefined);
  const attacks = options.attacks ?? [...ATTACKS];
  const radii = options.radii ?? [0.1, 0.5, 1];
  const maxLength = options.maxLength ?? 128;
  // A seeded sample keeps long evaluations bounded and repeatable.
  const sample = [...examples];
  new Random(options.seed ?? 0, 17).shuffle(sample);
  const chosen = sample.slice(0, options.maxExamples ?? 200);
  const encoded = encodeTexts(chosen, (a, b) => tok.encode(b === undefined ? a : [a, b], { maxLength }), { maxLength });
  const batches: LabeledBatch[] = [];
  for (let i = 0; i < encoded.length; i += options.batchSize ?? 32) batches.push(collateTexts(encoded.slice(i, i + (options.batchSize ?? 32)), { padId: tok.special.pad.id }));
  const report: RobustnessReport = {
    version: 1,
    model: options.modelName ?? 'model',
    task: options.task ?? 'classification',
    examples: chosen.length,
    cleanAccuracy: (await evaluateModel(model, batches)).accuracy ?? 0,
    figures: [],
  };
  const figures: [string, Promise<string>][] = [];
  if (attacks.includes('dlmax')) {
    const rows = await maxLossIncrease(model, batches, { radii, ...options.dlmax });
    report.dlmax = { median: rows[0]!.median, q1: rows[0]!.q1, q3: rows[0]!.q3, radii: rows };
    figures.push(['loss-increase.svg', lossIncreaseFigure(rows)]);
  }
  if (attacks.includes('pgd')) {
    const results = await pgdAttack(model, batches, { radii, norms: options.pgd?.norms ?? ['l2', 'linf'], steps: options.pgd?.steps });
    report.pgd = { accuracyUnderAttack: results[0]!.accuracyUnderAttack, successRate: results[0]!.successRate, results };
  }
  if (attacks.includes('deviation')) {
    report.deviation = await representationDeviation(model, batches, { radius: radii[radii.length - 1]! });
    figures.push(['representation-deviation.svg', deviationFigure(report.deviation)]);
  }
  if (attacks.includes('wordswap')) report.wordswap = await wordAttack(model, tok, chosen, { maxLength, ...options.wordswap });
  if (options.outDir) {
    mkdirSync(options.outDir, { recursive: true });
    for (const [name, svg] of figures) {
      writeFileSync(join(options.outDir, name), await svg);
      report.figures.push(name);
    }
    writeFileSync(join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  }
  return report;
}
