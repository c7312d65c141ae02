import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, type Model } from '../model/model.js';
import { ATTACKS, evaluateRobustness, type AttackName } from '../robustness/report.js';
import { similarityFigure } from '../robustness/figures.js';
import { type Command, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';
import { table } from './progress.js';
import { CLI_TASKS, taskSpec } from './task-data.js';

export const robustness: Command = {
  name: 'robustness',
  summary: 'Robustness report: loss increase in a ball, PGD and word-substitution attacks, representation deviation',
  usage: `advtrain robustness --model DIR --task ${CLI_TASKS.join('|')} --data FILE --out DIR [--attacks ${ATTACKS.join(',')}] [--radii 0.1,0.5,1] [--max-examples N] [--mlm DIR]`,
  options: {
    model: { type: 'string', help: 'a sequence-classification model folder (with its tokenizer)' },
    task: { type: 'string', help: `the data file's preset: ${CLI_TASKS.join(', ')}` },
    data: { type: 'string', help: 'labeled evaluation data' },
    columns: { type: 'string', help: 'table task: text=NAME[,pair=NAME][,label=NAME]' },
    labels: { type: 'string', help: 'table task: class names in id order' },
    out: { type: 'string', help: 'folder for report.json and the SVG figures' },
    attacks: { type: 'string', help: `comma-separated: ${ATTACKS.join(', ')}`, default: ATTACKS.join(',') },
    radii: { type: 'string', help: 'l2 radii of the embedding-space attacks', default: '0.1,0.5,1' },
    'max-examples': { type: 'string', help: 'examples evaluated (a seeded sample)', default: '200' },
    'dlmax-steps': { type: 'string', help: 'loss increase: iterations at most', default: '2000' },
    'pgd-steps': { type: 'string', help: 'PGD-k iterations', default: '10' },
    mlm: { type: 'string', help: 'a masked-LM model folder for BERT-Attack substitutes (same tokenizer)' },
    'query-budget': { type: 'string', help: 'word attack: model queries per example', default: '1000' },
    seed: { type: 'string', help: 'sampling seed', default: '0' },
    device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
  },
  async run(args) {
    for (const f of ['model', 'data', 'out'] as const) if (typeof args[f] !== 'string') throw new UsageError(`--${f} is required`);
    const spec = taskSpec(args);
    if (spec.modelTask !== 'sequence-classification' || !spec.readTexts) throw new UsageError('robustness evaluates classification tasks (GLUE classification presets or table)');
    const attacks = (args.attacks as string).split(',') as AttackName[];
    for (const a of attacks) if (!ATTACKS.includes(a)) throw new UsageError(`--attacks: unknown '${a}' (known: ${ATTACKS.join(', ')})`);
    const radii = (args.radii as string).split(',').map(Number);
    if (!radii.length || radii.some((r) => !(r > 0))) throw new UsageError(`--radii takes positive numbers, got '${String(args.radii)}'`);
    const device = typeof args.device === 'string' ? args.device : 'cpu';
    const model = await loadModel(args.model as string, { task: 'sequence-classification', device });
    let mlm: Model | undefined;
    try {
      if (typeof args.mlm === 'string') mlm = await loadModel(args.mlm, { task: 'masked-lm', device });
      const report = await evaluateRobustness(model, await spec.readTexts(args.data as string), {
        attacks,
        radii,
        maxExamples: numberFlag(args, 'max-examples', 200, { int: true, min: 1 }),
        seed: numberFlag(args, 'seed', 0, { int: true, min: 0 }),
        dlmax: { steps: numberFlag(args, 'dlmax-steps', 2000, { int: true, min: 1 }) },
        pgd: { steps: numberFlag(args, 'pgd-steps', 10, { int: true, min: 1 }) },
        wordswap: { mlm, substitutes: mlm ? ['mlm', 'embedding'] : ['embedding'], queryBudget: numberFlag(args, 'query-budget', 1000, { int: true, min: 1 }) },
        outDir: args.out as string,
        modelName: args.model as string,
        task: spec.name,
      });
      const rows: [string, string][] = [['examples', String(report.examples)], ['clean accuracy', report.cleanAccuracy.toFixed(4)]];
      for (const r of report.dlmax?.radii ?? []) rows.push([`loss increase r=${r.radius}`, `median ${r.median.toFixed(4)} (q1 ${r.q1.toFixed(4)}, q3 ${r.q3.toFixed(4)}, n ${r.n})`]);
      for (const r of report.pgd?.results ?? []) rows.push([`pgd ${r.norm} r=${r.radius}`, `accuracy under attack ${r.accuracyUnderAttack.toFixed(4)}, success rate ${r.successRate.toFixed(4)}`]);
      if (report.wordswap) rows.push(['word attack', `accuracy under attack ${report.wordswap.accuracyUnderAttack.toFixed(4)}, success rate ${report.wordswap.successRate.toFixed(4)}, ${report.wordswap.avgQueries.toFixed(1)} queries, ${(100 * report.wordswap.avgWordsPerturbed).toFixed(1)}% words`]);
      if (report.deviation) rows.push(['final cosine', `mean ${report.deviation.finalCosineMean.toFixed(4)}, lower bound ${report.deviation.finalCosineLowerBound.toFixed(4)}`]);
      rows.push(['report', join(args.out as string, 'report.json')]);
      console.log(table(rows));
      return 0;
    } finally {
      mlm?.dispose();
      model.dispose();
    }
  },
};

export const figures: Command = {
  name: 'figures',
  summary: "CreAT's Figure 1 for training runs: loss against representation similarity, from metrics.jsonl",
  usage: 'advtrain figures --logs RUN/metrics.jsonl[,RUN2/metrics.jsonl] --out FILE.svg',
  options: {
    logs: { type: 'string', help: 'comma-separated metrics.jsonl files written by advtrain train' },
    out: { type: 'string', help: 'the SVG file to write' },
  },
  async run(args) {
    if (typeof args.logs !== 'string' || typeof args.out !== 'string') throw new UsageError('--logs and --out are required');
    writeFileSync(args.out, await similarityFigure(args.logs.split(',')));
    console.log(`wrote ${args.out}`);
    return 0;
  },
};
