/**
 * `evaluateRobustness`: every robustness measure of a classifier on one bounded set of examples, as
 * one JSON report (lib/robustness/report.schema.json) plus SVG figures.
 */
import { join } from 'node:path';
import { Random } from '../data/random.js';
import type { TextExample } from '../data/table.js';
import { invalidArg } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { ensureWritableDir } from '../io/output-dir.js';
import type { Model } from '../model/model.js';
import { packageRoot } from '../paths.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import * as v from '../validate.js';
import { representationDeviation, type DeviationReport } from './deviation.js';
import { pgdAttack, PGD_DEFAULT_STEPS, type EmbeddingAttackReport } from './embedding-attack.js';
import { checkExamples, evalSet, tokenizerOf } from './examples.js';
import { deviationSpec, lossIncreaseSpec, pgdSpec, renderSvg } from './figures.js';
import { LOSS_INCREASE_DEFAULTS, maxLossIncrease, type LossIncreaseReport } from './loss-increase.js';
import { attackWords, resolveWordAttack, type WordAttackOptions, type WordAttackReport } from './word-attack.js';

export type RobustnessAttack = 'dlmax' | 'pgd' | 'deviation' | 'wordswap';
export const ROBUSTNESS_ATTACKS: readonly RobustnessAttack[] = ['dlmax', 'pgd', 'deviation', 'wordswap'];

/** Where the report's JSON schema is installed (shipped with the package). */
export const reportSchemaPath = join(packageRoot, 'lib', 'robustness', 'report.schema.json');

export interface RobustnessOptions {
  /** Default: `model.tokenizer`. */
  tokenizer?: Tokenizer;
  /** Measures to run (default: all). */
  attacks?: readonly RobustnessAttack[];
  /** l2 radii of the loss-increase and PGD attacks (default [0.1, 0.5, 1]). */
  radii?: readonly number[];
  /** Examples evaluated at most, a seeded sample when there are more (default 200). */
  maxExamples?: number;
  /** Seed of that sample (default 0). */
  seed?: number;
  /** Tokens per example (default 128). */
  maxLength?: number;
  /** Examples per forward pass or attack batch (default 32). */
  batchSize?: number;
  /**
   * Loss increase and robustness radii (FreeLB, get_highest_loss.py): normalised step (5e-3), iterations
   * (2000), the stopping rule's patience and tolerance (50, 1e-5), whether to search radii (true), the radius
   * grid's largest value and points per half (0.2, 11).
   */
  dlmax?: { stepSize?: number; steps?: number; patience?: number; tol?: number; radius?: boolean; maxRadius?: number; gridSteps?: number };
  /** PGD: steps (10), norms (l2 and linf), linf radii (default: each l2 radius / sqrt(embeddingSize)), a uniform start (false). */
  pgd?: { steps?: number; norms?: readonly ('l2' | 'linf')[]; linfRadii?: readonly number[]; randomStart?: boolean };
  /** Representation deviation: l2 radius (default: the first radius) and PGD steps (10). */
  deviation?: { epsilon?: number; steps?: number };
  /** The word attack (see {@link wordAttack}); tokenizer, maxLength and batchSize come from here. */
  wordswap?: Omit<WordAttackOptions, 'tokenizer' | 'maxLength' | 'batchSize'>;
  /** Also write report.json and the figures into this folder. */
  outDir?: string;
  /** A name for the data (e.g. the GLUE task), recorded in the report. */
  task?: string;
  /** Called after each measure with its wall time. */
  onProgress?: (stage: 'clean' | RobustnessAttack, seconds: number) => void;
}

/** The report; measures not run are absent. NaN statistics (no example to measure) are written as null. */
export interface RobustnessReport {
  version: 2;
  task?: string;
  model: { modelType: string; numLayers: number; hiddenSize: number; numLabels: number; vocabSize: number };
  /** Examples evaluated, and how many were given. */
  examples: number;
  available: number;
  seed: number;
  maxLength: number;
  radii: number[];
  cleanAccuracy: number;
  dlmax?: LossIncreaseReport;
  pgd?: EmbeddingAttackReport;
  deviation?: DeviationReport;
  wordswap?: WordAttackReport;
  /** Wall time per measure. */
  seconds: Partial<Record<'clean' | RobustnessAttack, number>>;
  /** Figure files written beside report.json. */
  figures: string[];
}

const KEYS = ['tokenizer', 'attacks', 'radii', 'maxExamples', 'seed', 'maxLength', 'batchSize', 'dlmax', 'pgd', 'deviation', 'wordswap', 'outDir', 'task', 'onProgress'];

function radiiOf(name: string, value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidArg(name, 'a non-empty array of radii > 0', value);
  return value.map((r, i) => v.finiteNumber(`${name}[${i}]`, r, { above: 0 }));
}

function normsOf(value: unknown): ('l2' | 'linf')[] {
  if (!Array.isArray(value) || value.length === 0) throw invalidArg('options.pgd.norms', "a non-empty array of 'l2', 'linf'", value);
  return value.map((n, i) => v.oneOf(`options.pgd.norms[${i}]`, n, ['l2', 'linf'] as const));
}

/** Validates the options up front, so a typo fails before minutes of attacks. */
function resolve(options: RobustnessOptions) {
  const o = v.object('options', options) as RobustnessOptions;
  v.knownKeys('options', o as Record<string, unknown>, KEYS);
  if (o.attacks !== undefined && (!Array.isArray(o.attacks) || o.attacks.length === 0)) throw invalidArg('options.attacks', `a non-empty array of ${ROBUSTNESS_ATTACKS.join(', ')}`, o.attacks);
  const attacks = (o.attacks ?? ROBUSTNESS_ATTACKS).map((a, i) => v.oneOf(`options.attacks[${i}]`, a, ROBUSTNESS_ATTACKS));
  const radii = o.radii === undefined ? [0.1, 0.5, 1] : radiiOf('options.radii', o.radii);
  const dl = v.object('options.dlmax', o.dlmax ?? {});
  v.knownKeys('options.dlmax', dl, ['stepSize', 'steps', 'patience', 'tol', 'radius', 'maxRadius', 'gridSteps']);
  const pgd = v.object('options.pgd', o.pgd ?? {});
  v.knownKeys('options.pgd', pgd, ['steps', 'norms', 'linfRadii', 'randomStart']);
  const dev = v.object('options.deviation', o.deviation ?? {});
  v.knownKeys('options.deviation', dev, ['epsilon', 'steps']);
  const maxLength = o.maxLength === undefined ? 128 : v.integer('options.maxLength', o.maxLength, { min: 8 });
  const batchSize = o.batchSize === undefined ? 32 : v.integer('options.batchSize', o.batchSize, { min: 1 });
  const wordswap = { ...(o.wordswap ?? {}), maxLength, batchSize };
  if (attacks.includes('wordswap')) resolveWordAttack(wordswap, 'options.wordswap');
  if (o.outDir !== undefined) v.string('options.outDir', o.outDir);
  // Before the attacks, not after them.
  if (o.outDir !== undefined) ensureWritableDir(o.outDir);
  if (o.task !== undefined) v.string('options.task', o.task);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw invalidArg('options.onProgress', 'a function', o.onProgress);
  return {
    attacks,
    radii,
    maxExamples: o.maxExamples === undefined ? 200 : v.integer('options.maxExamples', o.maxExamples, { min: 1 }),
    seed: o.seed === undefined ? 0 : v.integer('options.seed', o.seed, { min: 0, max: 0xffffffff }),
    maxLength,
    batchSize,
    dlmax: {
      stepSize: dl.stepSize === undefined ? LOSS_INCREASE_DEFAULTS.stepSize : v.finiteNumber('options.dlmax.stepSize', dl.stepSize, { above: 0 }),
      steps: dl.steps === undefined ? LOSS_INCREASE_DEFAULTS.steps : v.integer('options.dlmax.steps', dl.steps, { min: 1 }),
      patience: dl.patience === undefined ? LOSS_INCREASE_DEFAULTS.patience : v.integer('options.dlmax.patience', dl.patience, { min: 0 }),
      tol: dl.tol === undefined ? LOSS_INCREASE_DEFAULTS.tol : v.finiteNumber('options.dlmax.tol', dl.tol, { above: 0 }),
      radius: dl.radius === undefined ? true : v.boolean('options.dlmax.radius', dl.radius),
      maxRadius: dl.maxRadius === undefined ? LOSS_INCREASE_DEFAULTS.maxRadius : v.finiteNumber('options.dlmax.maxRadius', dl.maxRadius, { above: 0.01 }),
      gridSteps: dl.gridSteps === undefined ? LOSS_INCREASE_DEFAULTS.gridSteps : v.integer('options.dlmax.gridSteps', dl.gridSteps, { min: 2, max: 1000 }),
    },
    pgd: {
      steps: pgd.steps === undefined ? PGD_DEFAULT_STEPS : v.integer('options.pgd.steps', pgd.steps, { min: 1 }),
      norms: pgd.norms === undefined ? (['l2', 'linf'] as const) : normsOf(pgd.norms),
      linfRadii: pgd.linfRadii === undefined ? undefined : radiiOf('options.pgd.linfRadii', pgd.linfRadii),
      randomStart: pgd.randomStart === undefined ? false : v.boolean('options.pgd.randomStart', pgd.randomStart),
    },
    deviation: {
      epsilon: dev.epsilon === undefined ? radii[0]! : v.finiteNumber('options.deviation.epsilon', dev.epsilon, { above: 0 }),
      steps: dev.steps === undefined ? PGD_DEFAULT_STEPS : v.integer('options.deviation.steps', dev.steps, { min: 1 }),
    },
    wordswap,
  };
}

/**
 * Writes report.json and the report's figures (loss-increase.svg, pgd.svg, deviation.svg: those whose
 * measure ran) into `dir`; returns the figure file names, also recorded in `report.figures`.
 *
 * @example
 * ```ts
 * await writeRobustnessReport(JSON.parse(readFileSync('old/report.json', 'utf8')), 'redrawn');
 * ```
 */
export async function writeRobustnessReport(report: RobustnessReport, dir: string): Promise<string[]> {
  ensureWritableDir(dir);
  const figures: [string, Promise<string>][] = [];
  if (report.dlmax) figures.push(['loss-increase.svg', renderSvg(lossIncreaseSpec(report.dlmax))]);
  if (report.pgd) figures.push(['pgd.svg', renderSvg(pgdSpec(report.pgd, report.cleanAccuracy))]);
  if (report.deviation) figures.push(['deviation.svg', renderSvg(deviationSpec(report.deviation))]);
  for (const [name, svg] of figures) await writeFileAtomic(join(dir, name), await svg);
  report.figures = figures.map(([name]) => name);
  await writeFileAtomic(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  return report.figures;
}

/**
 * Robustness of a classifier on labeled examples (at most `maxExamples`, a seeded sample): clean
 * accuracy; FreeLB's max loss increase in l2 balls and robustness radii (`dlmax`); accuracy under PGD-k
 * attack on the embeddings, l2 and linf (`pgd`); CreAT's representation deviation under that attack (`deviation`);
 * a black-box word-substitution attack (`wordswap`, see {@link wordAttack}). With `outDir` it also
 * writes report.json and SVG figures there.
 *
 * @example
 * ```ts
 * const model = await loadModel('runs/creat-sst2');
 * const dev = await readGlue('sst2', 'glue/SST-2/dev.tsv');
 * const report = await evaluateRobustness(model, dev, { radii: [0.1, 0.5], maxExamples: 100, outDir: 'runs/creat-sst2/robustness' });
 * console.log(report.cleanAccuracy, report.dlmax?.median, report.pgd?.accuracyUnderAttack, report.wordswap?.accuracyUnderAttack);
 * ```
 */
export async function evaluateRobustness(model: Model, examples: readonly TextExample[], options: RobustnessOptions = {}): Promise<RobustnessReport> {
  const checked = checkExamples(model, examples);
  const o = resolve(options);
  const tokenizer = tokenizerOf(model, options.tokenizer);
  let chosen = checked;
  if (checked.length > o.maxExamples) {
    const idx = new Random(o.seed, 0).shuffle(checked.map((_, i) => i)).slice(0, o.maxExamples).sort((a, b) => a - b);
    chosen = idx.map((i) => checked[i]!);
  }
  const seconds: RobustnessReport['seconds'] = {};
  const timed = async <T>(stage: 'clean' | RobustnessAttack, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await work();
    seconds[stage] = (performance.now() - t0) / 1000;
    options.onProgress?.(stage, seconds[stage]!);
    return out;
  };
  const set = await timed('clean', () => evalSet(model, tokenizer, chosen, o));
  const c = model.config;
  const report: RobustnessReport = {
    version: 2,
    ...(options.task !== undefined ? { task: options.task } : {}),
    model: { modelType: c.modelType, numLayers: c.numLayers, hiddenSize: c.hiddenSize, numLabels: c.numLabels, vocabSize: c.vocabSize },
    examples: chosen.length,
    available: checked.length,
    seed: o.seed,
    maxLength: o.maxLength,
    radii: o.radii,
    cleanAccuracy: set.correct.filter(Boolean).length / set.correct.length,
    seconds,
    figures: [],
  };
  if (o.attacks.includes('dlmax')) report.dlmax = await timed('dlmax', () => maxLossIncrease(model, set, { radii: o.radii, batchSize: o.batchSize, seed: o.seed, ...o.dlmax }));
  if (o.attacks.includes('pgd')) report.pgd = await timed('pgd', () => pgdAttack(model, set, { radii: o.radii, batchSize: o.batchSize, seed: o.seed, ...o.pgd }));
  if (o.attacks.includes('deviation')) report.deviation = await timed('deviation', () => representationDeviation(model, set, { batchSize: o.batchSize, ...o.deviation }));
  if (o.attacks.includes('wordswap')) report.wordswap = await timed('wordswap', async () => (await attackWords(model, tokenizer, set, { ...o.wordswap, tokenizer })).report);
  if (options.outDir !== undefined) await writeRobustnessReport(report, options.outDir);
  return report;
}
