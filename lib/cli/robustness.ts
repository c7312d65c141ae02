import { join } from 'node:path';
import { ensureWritableDir } from '../io/output-dir.js';
import { loadModel, type Model } from '../model/model.js';
import { evaluateRobustness, ROBUSTNESS_ATTACKS, type RobustnessAttack } from '../robustness/report.js';
import { WORD_RECIPE_NAMES, type WordRecipeName } from '../robustness/word-attack.js';
import { type Command, noTokenizerError, type ParsedArgs, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';
import { table } from './progress.js';
import { CLI_TASKS, maxLengthFlag, taskSpec } from './task-data.js';

/** A comma-separated list of numbers > 0. */
function numberList(args: ParsedArgs, flag: string): number[] | undefined {
  const raw = args[flag];
  if (typeof raw !== 'string') return undefined;
  const xs = raw.split(',').map((s) => Number(s));
  if (raw.trim() === '' || xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new UsageError(`--${flag} takes numbers > 0 separated by commas, got '${raw}'`);
  return xs;
}

function choiceList<T extends string>(args: ParsedArgs, flag: string, known: readonly T[]): T[] | undefined {
  const raw = args[flag];
  if (typeof raw !== 'string') return undefined;
  const xs = raw.split(',');
  for (const x of xs) if (!(known as readonly string[]).includes(x)) throw new UsageError(`--${flag}: unknown '${x}' (known: ${known.join(', ')})`);
  return xs as T[];
}

const fmt = (x: number | null | undefined, d = 4) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

export const robustness: Command = {
  name: 'robustness',
  summary: 'Robustness report of a classifier: loss increase in an epsilon-ball, PGD and word-substitution attacks, representation deviation, figures',
  usage: `advtrain robustness --model DIR --task ${CLI_TASKS.join('|')} --data FILE --out DIR [--attacks ${ROBUSTNESS_ATTACKS.join(',')}] [--radii 0.1,0.5,1] [--max-examples N] [--mlm DIR] [--seed N]`,
  options: {
    model: { type: 'string', help: 'classifier folder (with its tokenizer)' },
    task: { type: 'string', help: `task preset: ${CLI_TASKS.join(', ')}` },
    data: { type: 'string', help: 'labeled data file (e.g. a GLUE dev.tsv)' },
    out: { type: 'string', help: 'output folder: report.json and SVG figures' },
    columns: { type: 'string', help: 'table task: text=NAME[,pair=NAME][,label=NAME]' },
    labels: { type: 'string', help: 'table task: class names in id order' },
    attacks: { type: 'string', help: `measures, comma-separated: ${ROBUSTNESS_ATTACKS.join(', ')}`, default: ROBUSTNESS_ATTACKS.join(',') },
    radii: { type: 'string', help: 'l2 radii of the loss-increase and PGD attacks', default: '0.1,0.5,1' },
    'linf-radii': { type: 'string', help: 'linf radii of PGD (default: each l2 radius / sqrt(embedding size))' },
    norms: { type: 'string', help: 'PGD norms: l2, linf', default: 'l2,linf' },
    'max-examples': { type: 'string', help: 'examples evaluated at most (a seeded sample)', default: '200' },
    seed: { type: 'string', help: 'seed of the example sample', default: '0' },
    'dlmax-steps': { type: 'string', help: 'loss increase: iterations at most', default: '2000' },
    'dlmax-step-size': { type: 'string', help: 'loss increase: normalised step', default: '5e-3' },
    patience: { type: 'string', help: "loss increase: stop after N consecutive converged iterations (FreeLB's get_highest_loss.py rule)", default: '50' },
    'no-radius': { type: 'boolean', help: "loss increase: skip the robustness radii (each example's largest grid radius with loss <= log 2)" },
    'pgd-random-start': { type: 'boolean', help: 'PGD: start from a uniform draw in the ball (default: zero)' },
    'pgd-steps': { type: 'string', help: 'PGD (and deviation) ascent steps', default: '10' },
    recipe: { type: 'string', help: `word attack recipe: ${WORD_RECIPE_NAMES.join(', ')} (default: bertattack_li_2020 with --mlm, else textfooler_jin_2019)` },
    mlm: { type: 'string', help: 'a masked-LM model folder (e.g. from advtrain pretrain) for masked-LM substitutes' },
    'query-budget': { type: 'string', help: 'word attack: model queries per example (default: unlimited, as in TextAttack)' },
    'similarity-encoder': { type: 'string', help: "word attack: a model folder whose mean-pooled last hidden states stand in for the recipe's Universal Sentence Encoder (not USE)" },
    'similarity-threshold': { type: 'string', help: "word attack: sentence-similarity threshold (default: the recipe's, tuned on USE)" },
    candidates: { type: 'string', help: "word attack: substitutes per word (default: the recipe's)" },
    'min-cosine': { type: 'string', help: "word attack: minimum embedding cosine of word and substitute (default: the recipe's)" },
    'max-words-fraction': { type: 'string', help: "word attack: fraction of words changed at most (default: the recipe's)" },
    'max-length': { type: 'string', help: 'tokens per example (default: 128)' },
    'batch-size': { type: 'string', help: 'examples per forward pass or attack batch', default: '32' },
    device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
    json: { type: 'boolean', help: 'print the report as JSON instead of a summary table' },
  },
  async run(args) {
    const spec = taskSpec(args);
    if (spec.modelTask !== 'sequence-classification') throw new UsageError('robustness attacks need a classification task (not regression)');
    for (const flag of ['model', 'data', 'out']) if (typeof args[flag] !== 'string') throw new UsageError(`--${flag} is required`);
    const attacks = choiceList<RobustnessAttack>(args, 'attacks', ROBUSTNESS_ATTACKS) ?? [...ROBUSTNESS_ATTACKS];
    const recipe = choiceList<WordRecipeName>(args, 'recipe', WORD_RECIPE_NAMES)?.[0];
    if (recipe === 'bertattack_li_2020' && typeof args.mlm !== 'string') throw new UsageError('--recipe bertattack_li_2020 needs --mlm DIR (a masked-LM model)');
    const device = typeof args.device === 'string' ? args.device : 'cpu';
    const out = args.out as string;
    if (!spec.readTexts) throw new UsageError(`robustness attacks text classification (GLUE or table tasks), not ${spec.name}`);
    ensureWritableDir(out);
    const examples = await spec.readTexts(args.data as string);
    const labels = await spec.trainLabels(args.data as string);
    const model = await loadModel(args.model as string, { task: 'sequence-classification', ...(labels.length ? { labels } : {}), device });
    let mlm: Model | undefined;
    let encoder: Model | undefined;
    try {
      if (!model.tokenizer) throw noTokenizerError(args.model as string);
      if (typeof args.mlm === 'string' && attacks.includes('wordswap')) mlm = await loadModel(args.mlm, { task: 'masked-lm', device });
      if (typeof args['similarity-encoder'] === 'string' && attacks.includes('wordswap')) encoder = await loadModel(args['similarity-encoder'], { device });
      const optional = (flag: string, opts: { int?: boolean; min?: number; max?: number }) => (args[flag] === undefined ? undefined : numberFlag(args, flag, 0, opts));
      const report = await evaluateRobustness(model, examples, {
        task: spec.name,
        attacks,
        radii: numberList(args, 'radii'),
        maxExamples: numberFlag(args, 'max-examples', 200, { int: true, min: 1 }),
        seed: numberFlag(args, 'seed', 0, { int: true, min: 0 }),
        maxLength: maxLengthFlag(args, 128, model),
        batchSize: numberFlag(args, 'batch-size', 32, { int: true, min: 1 }),
        dlmax: {
          steps: numberFlag(args, 'dlmax-steps', 2000, { int: true, min: 1 }),
          stepSize: numberFlag(args, 'dlmax-step-size', 5e-3, { min: 0 }),
          patience: numberFlag(args, 'patience', 50, { int: true, min: 0 }),
          radius: !args['no-radius'],
        },
        pgd: {
          steps: numberFlag(args, 'pgd-steps', 10, { int: true, min: 1 }),
          norms: choiceList(args, 'norms', ['l2', 'linf'] as const),
          linfRadii: numberList(args, 'linf-radii'),
          randomStart: args['pgd-random-start'] === true,
        },
        deviation: { steps: numberFlag(args, 'pgd-steps', 10, { int: true, min: 1 }) },
        wordswap: {
          recipe,
          mlm,
          queryBudget: optional('query-budget', { int: true, min: 1 }) ?? null,
          encoder,
          encoderName: typeof args['similarity-encoder'] === 'string' ? args['similarity-encoder'] : undefined,
          ...(args['similarity-threshold'] === undefined ? {} : { sentenceSimilarity: { threshold: numberFlag(args, 'similarity-threshold', 0, { min: -1, max: 1 }) } }),
          candidates: optional('candidates', { int: true, min: 1 }),
          minCosine: optional('min-cosine', { min: -1, max: 1 }),
          maxWordsFraction: optional('max-words-fraction', { min: 0, max: 1 }),
        },
        outDir: out,
        onProgress: (stage, s) => console.error(`advtrain robustness: ${stage} done in ${s.toFixed(1)} s`),
      });
      if (args.json) {
        console.log(JSON.stringify(report));
        return 0;
      }
      const rows: [string, string][] = [
        ['examples', `${report.examples} of ${report.available}`],
        ['clean accuracy', fmt(report.cleanAccuracy)],
      ];
      for (const r of report.dlmax?.radii ?? []) rows.push([`loss increase eps ${r.epsilon}`, `median ${fmt(r.median)} (q1 ${fmt(r.q1)}, q3 ${fmt(r.q3)}, n ${r.n})`]);
      const rad = report.dlmax?.radius;
      if (rad) rows.push(['robustness radius (loss <= log 2)', `median ${fmt(rad.median)} (q1 ${fmt(rad.q1)}, q3 ${fmt(rad.q3)}, n ${rad.n}, below grid ${rad.belowGrid})`]);
      for (const r of report.pgd?.results ?? []) rows.push([`PGD-${report.pgd!.steps} ${r.norm} eps ${+r.epsilon.toPrecision(4)}`, `accuracy under attack ${fmt(r.accuracyUnderAttack)}, success rate ${fmt(r.successRate)}`]);
      if (report.deviation) rows.push(['final-layer cosine', `lower bound ${fmt(report.deviation.finalCosine.lowerBound)}, mean ${fmt(report.deviation.finalCosine.mean)}`]);
      const w = report.wordswap;
      if (w) rows.push([`word attack ${w.recipe}`, `accuracy under attack ${fmt(w.accuracyUnderAttack)}, success rate ${fmt(w.successRate)}, queries ${fmt(w.avgQueries, 1)}, words ${fmt(w.avgWordsPerturbed, 2)}`]);
      rows.push(['report', join(out, 'report.json')]);
      console.log(table(rows));
      return 0;
    } finally {
      mlm?.dispose();
      encoder?.dispose();
      model.dispose();
    }
  },
};
