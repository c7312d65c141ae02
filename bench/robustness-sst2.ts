/**
 * The robustness bench (robustness issue): trains the `mini` BERT from scratch on ../shared/data/sst2
 * with vanilla, FreeLB and CreAT (same seed, data order and steps), then runs the robustness report on
 * a sample of the dev set. One JSON line per method: clean accuracy, loss increase in the ball (median),
 * PGD accuracy under attack, word-attack accuracy under attack.
 *   node dist/bench/robustness-sst2.js [--max-steps 1500] [--examples 100] [--radius 1] [--dlmax-steps 300]
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { encodeExamples, trainLoader } from '../lib/cli/task-data.js';
import { readGlue } from '../lib/data/glue.js';
import type { ModelSize } from '../lib/model/config.js';
import { createModel, sizedConfig } from '../lib/model/model.js';
import { evaluateRobustness } from '../lib/robustness/report.js';
import { loadTokenizer } from '../lib/tokenizer/load.js';
import type { MethodConfig } from '../lib/train/methods.js';
import { Trainer } from '../lib/train/trainer.js';
import { sharedData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'mini' },
    methods: { type: 'string', default: 'vanilla,freelb,creat' },
    'max-steps': { type: 'string', default: '1500' },
    lr: { type: 'string', default: '5e-4' },
    examples: { type: 'string', default: '100' },
    radius: { type: 'string', default: '1' },
    'dlmax-steps': { type: 'string', default: '300' },
    device: { type: 'string', default: 'cpu' },
    seed: { type: 'string', default: '42' },
  },
});
const tok = await loadTokenizer(sharedData('bert-base-uncased-tokenizer'));
const train = encodeExamples(tok, await readGlue('sst2', sharedData('sst2', 'train.tsv')), 66);
const dev = await readGlue('sst2', sharedData('sst2', 'dev.tsv'));
const seed = Number(values.seed);
const methods: Record<string, MethodConfig> = {
  vanilla: { name: 'vanilla' },
  freelb: { name: 'freelb' },
  creat: { name: 'creat' },
  pgd: { name: 'pgd', cleanWeight: 0.5 },
  smart: { name: 'smart' },
};
for (const name of values.methods!.split(',')) {
  const model = await createModel(sizedConfig(values.size as ModelSize, tok.vocabSize), { task: 'sequence-classification', labels: ['negative', 'positive'], device: values.device, seed });
  model.tokenizer = tok;
  const trainer = new Trainer({ model, method: methods[name] ?? ({ name } as MethodConfig), optimizer: { name: 'adamw', lr: Number(values.lr), weightDecay: 0.01 }, scheduler: { name: 'linear', warmupRatio: 0.06 }, seed });
  const t0 = performance.now();
  await trainer.fit(trainLoader(train, tok.special.pad.id, 'sequence-classification', 32, seed), { maxSteps: Number(values['max-steps']), epochs: 10 });
  const trainSeconds = (performance.now() - t0) / 1000;
  const radius = Number(values.radius);
  const t1 = performance.now();
  const report = await evaluateRobustness(model, dev, {
    radii: [radius],
    maxExamples: Number(values.examples),
    seed,
    dlmax: { steps: Number(values['dlmax-steps']) },
    pgd: { norms: ['l2'] },
    outDir: join(tmpdir(), `advtrain-robustness-${name}`),
    modelName: `${values.size}-${name}`,
    task: 'sst2',
  });
  console.log(
    JSON.stringify({
      bench: 'robustness-sst2',
      method: name,
      model: values.size,
      steps: Number(values['max-steps']),
      trainSeconds: +trainSeconds.toFixed(1),
      evalSeconds: +((performance.now() - t1) / 1000).toFixed(1),
      examples: report.examples,
      cleanAccuracy: +report.cleanAccuracy.toFixed(4),
      lossIncreaseMedian: +report.dlmax!.median.toFixed(4),
      pgdAccuracyUnderAttack: +report.pgd!.accuracyUnderAttack.toFixed(4),
      wordAccuracyUnderAttack: +report.wordswap!.accuracyUnderAttack.toFixed(4),
      wordSuccessRate: +report.wordswap!.successRate.toFixed(4),
      repCosFinal: +report.deviation!.finalCosineMean.toFixed(4),
    }),
  );
  trainer.dispose();
  model.dispose();
}
