/**
 * bench/earlyrobust: EarlyRobust's claim on a CPU-sized run. A randomly initialised BERT (default `mini`)
 * is trained plainly on SST-2 for `--warmup-steps` (the stand-in for a pre-trained encoder); from it:
 *   freelb          FreeLB (advtrain's defaults) for the whole `--budget` of optimizer steps;
 *   tickets+freelb  the ticket search (findTicket: the official FreeLB search with the L1 penalty), pruning,
 *                   then FreeLB on the ticket for the rest of the budget;
 *   tickets+vanilla the same ticket, then plain training for the rest of the budget.
 * Each prints one JSON line: wall time per stage, model size and median ms per step before and after
 * pruning, clean dev accuracy, PGD (l2 and linf, first radius) and word-attack accuracy under attack on a
 * seeded dev sample. Search points come `--points` per epoch (official: 20 per epoch of 2,105 steps; on a
 * CPU budget of a few hundred steps, more often). Not a test: minutes on two cores.
 *
 * `node dist/bench/earlyrobust.js [--budget 240] [--warmup-steps 600] [--points 400] [--max-examples 64]`
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainLoader } from '../lib/cli/task-data.js';
import { glueScores } from '../lib/metrics/glue.js';
import type { ModelSize } from '../lib/model/config.js';
import { createModel, loadModel, type Model, sizedConfig } from '../lib/model/model.js';
import { evaluateRobustness } from '../lib/robustness/report.js';
import { evaluateModel } from '../lib/train/evaluate.js';
import type { MethodConfig } from '../lib/train/methods.js';
import { findTicket } from '../lib/train/ticket-search.js';
import { Trainer } from '../lib/train/trainer.js';
import { sst2BenchData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'mini' },
    budget: { type: 'string', default: '240' },
    'warmup-steps': { type: 'string', default: '600' },
    points: { type: 'string', default: '400' },
    'batch-size': { type: 'string', default: '32' },
    lr: { type: 'string', default: '5e-4' },
    seed: { type: 'string', default: '42' },
    'max-examples': { type: 'string', default: '64' },
    'query-budget': { type: 'string', default: '100' },
    out: { type: 'string', default: join('bench', 'out', 'earlyrobust') },
  },
});

const { tok, train, devExamples, dev } = await sst2BenchData();
const seed = Number(values.seed);
const batchSize = Number(values['batch-size']);
const budget = Number(values.budget);
const scorer = (p: number[], r: number[]) => glueScores('sst2', p, r);
const optimizer = { name: 'adamw' as const, lr: Number(values.lr), weightDecay: 0.01 };
const loader = (s: number) => trainLoader(train, tok.special.pad.id, 'sequence-classification', batchSize, s);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const baseDir = join(values.out!, 'base');
rmSync(values.out!, { recursive: true, force: true });
{
  const base = await createModel(sizedConfig(values.size as ModelSize, tok.vocabSize), { task: 'sequence-classification', labels: ['negative', 'positive'], seed });
  base.tokenizer = tok;
  const warm = new Trainer({ model: base, optimizer, scheduler: { name: 'linear', warmupRatio: 0.06 }, seed, scorer });
  const t0 = performance.now();
  await warm.fit(loader(seed), { maxSteps: Number(values['warmup-steps']), epochs: 100 });
  console.log(JSON.stringify({ bench: 'earlyrobust', stage: 'base', steps: Number(values['warmup-steps']), seconds: +((performance.now() - t0) / 1000).toFixed(1), devAccuracy: +(await evaluateModel(base, dev, { scorer })).accuracy!.toFixed(4) }));
  await base.save(baseDir);
  warm.dispose();
  base.dispose();
}

/** Trains `model` for `steps` with `method`; wall seconds and median ms per step. */
async function train2(model: Model, method: MethodConfig, steps: number): Promise<{ seconds: number; msPerStep: number }> {
  const trainer = new Trainer({ model, method, optimizer, scheduler: { name: 'linear', warmupRatio: 0.06 }, seed, scorer });
  const ms: number[] = [];
  const t0 = performance.now();
  for await (const s of trainer.steps(loader(seed + 1), { maxSteps: steps, epochs: 100 })) ms.push(s.ms);
  trainer.dispose();
  return { seconds: (performance.now() - t0) / 1000, msPerStep: median(ms) };
}

async function report(run: string, model: Model, stages: Record<string, unknown>): Promise<void> {
  const devAccuracy = (await evaluateModel(model, dev, { scorer })).accuracy!;
  const r = await evaluateRobustness(model, devExamples, { task: 'sst2', attacks: ['pgd', 'wordswap'], radii: [0.1], maxExamples: Number(values['max-examples']), seed, wordswap: { queryBudget: Number(values['query-budget']) } });
  console.log(
    JSON.stringify({
      bench: 'earlyrobust',
      run,
      model: values.size,
      budget,
      ...stages,
      parameters: model.numParameters(),
      devAccuracy: +devAccuracy.toFixed(4),
      examples: r.examples,
      pgdL2AccuracyUnderAttack: r.pgd?.results.find((x) => x.norm === 'l2')?.accuracyUnderAttack ?? null,
      pgdLinfAccuracyUnderAttack: r.pgd?.results.find((x) => x.norm === 'linf')?.accuracyUnderAttack ?? null,
      wordAccuracyUnderAttack: r.wordswap?.accuracyUnderAttack ?? null,
    }),
  );
}

{
  const model = await loadModel(baseDir, { seed });
  const full = await train2(model, { name: 'freelb' }, budget);
  await report('freelb', model, { trainSeconds: +full.seconds.toFixed(1), msPerStep: +full.msPerStep.toFixed(1) });
  model.dispose();
}
for (const stage2 of ['freelb', 'vanilla'] as const) {
  const model = await loadModel(baseDir, { seed });
  const before = model.numParameters();
  const ticket = await findTicket(model, loader(seed + 1), { tickets: { pointsPerEpoch: Number(values.points), maxSearchEpochs: 1 }, optimizer, seed });
  const rest = Math.max(1, budget - ticket.searchSteps);
  const second = await train2(ticket.model, { name: stage2 }, rest);
  await report(`tickets+${stage2}`, ticket.model, {
    searchSteps: ticket.searchSteps,
    ticketStep: ticket.ticketStep,
    converged: ticket.converged,
    searchSeconds: +ticket.searchSeconds.toFixed(1),
    stage2Steps: rest,
    stage2Seconds: +second.seconds.toFixed(1),
    trainSeconds: +(ticket.searchSeconds + second.seconds).toFixed(1),
    msPerStep: +second.msPerStep.toFixed(1),
    parametersBefore: before,
    heads: `${ticket.before.heads} -> ${ticket.after.heads}`,
    ffn: `${ticket.before.ffn} -> ${ticket.after.ffn}`,
  });
  ticket.model.dispose();
}
