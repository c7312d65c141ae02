/**
 * bench/sst2-cpu: trains a randomly initialised BERT (default `mini`, 4 x 256) on the full SST-2
 * training set and reports dev accuracy and time, one JSON line per method. Not a test: it takes
 * minutes. `node dist/bench/sst2-cpu.js [--size mini] [--methods vanilla,freelb] [--epochs 3]
 * [--device cpu] [--precision fp32]`. With `--device cuda --size base --precision bf16` it is the
 * GPU variant (examples per second).
 */
import { parseArgs } from 'node:util';
import { encodeExamples, evalBatches, trainLoader } from '../lib/cli/task-data.js';
import { readGlue } from '../lib/data/glue.js';
import { glueScores } from '../lib/metrics/glue.js';
import type { ModelSize } from '../lib/model/config.js';
import { createModel, sizedConfig } from '../lib/model/model.js';
import { loadTokenizer } from '../lib/tokenizer/load.js';
import { evaluateModel } from '../lib/train/evaluate.js';
import type { MethodConfig, MethodName } from '../lib/train/methods.js';
import { Trainer } from '../lib/train/trainer.js';
import { sharedData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'mini' },
    methods: { type: 'string', default: 'vanilla' },
    epochs: { type: 'string', default: '3' },
    'max-steps': { type: 'string' },
    'batch-size': { type: 'string', default: '32' },
    lr: { type: 'string', default: '5e-4' },
    device: { type: 'string', default: 'cpu' },
    precision: { type: 'string', default: 'fp32' },
    seed: { type: 'string', default: '42' },
  },
});

const tok = await loadTokenizer(sharedData('bert-base-uncased-tokenizer'));
const train = encodeExamples(tok, await readGlue('sst2', sharedData('sst2', 'train.tsv')), 66);
const dev = evalBatches(encodeExamples(tok, await readGlue('sst2', sharedData('sst2', 'dev.tsv')), 128), tok.special.pad.id, 'sequence-classification', 128);
const seed = Number(values.seed);
const batchSize = Number(values['batch-size']);
for (const name of values.methods!.split(',') as MethodName[]) {
  const model = await createModel(sizedConfig(values.size as ModelSize, tok.vocabSize), { task: 'sequence-classification', labels: ['negative', 'positive'], device: values.device, seed });
  const trainer = new Trainer({
    model,
    method: { name } as MethodConfig,
    optimizer: { name: 'adamw', lr: Number(values.lr), weightDecay: 0.01 },
    scheduler: { name: 'linear', warmupRatio: 0.06 },
    precision: values.precision as 'fp32' | 'bf16',
    seed,
    scorer: (p, r) => glueScores('sst2', p, r),
  });
  const t0 = performance.now();
  let steps = 0;
  const stepMs: number[] = [];
  for await (const s of trainer.steps(trainLoader(train, tok.special.pad.id, 'sequence-classification', batchSize, seed), {
    epochs: Number(values.epochs),
    maxSteps: values['max-steps'] ? Number(values['max-steps']) : undefined,
  })) {
    steps = s.step;
    stepMs.push(s.ms);
  }
  const seconds = (performance.now() - t0) / 1000;
  const metrics = await evaluateModel(model, dev, { scorer: (p, r) => glueScores('sst2', p, r) });
  stepMs.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: 'sst2-cpu',
      model: values.size,
      method: name,
      device: values.device,
      precision: values.precision,
      batch: batchSize,
      steps,
      seconds: +seconds.toFixed(1),
      examplesPerSec: +((steps * batchSize) / seconds).toFixed(1),
      msPerStepMedian: +stepMs[Math.floor(stepMs.length / 2)]!.toFixed(2),
      devAccuracy: +metrics.accuracy!.toFixed(4),
      devLoss: +metrics.loss!.toFixed(4),
    }),
  );
  trainer.dispose();
  model.dispose();
}
