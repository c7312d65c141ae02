/**
 * Where a training process's memory goes: RSS (and malloc's heap in use, the libtorch CPU allocator's figure)
 * after loading the addon, creating the model, creating the Trainer, and after each step, on the same
 * workload as bench/trial.ts (random classifier, fixed random batch, one method). The Python side of the
 * comparison is bench/peers/loops.py --milestones.
 *   node dist/bench/memory-milestones.js --method freelb --model mini --batch 32 --seq 128 --steps 4
 * Prints one JSON line: { impl, method, model, batch, seq, milestones: [{ at, rssMB, heapMB }], peakMemMB }.
 */
import { parseArgs } from 'node:util';
import { native } from '../lib/binding.js';
import type { ModelSize } from '../lib/model/config.js';
import { createModel, sizedConfig } from '../lib/model/model.js';
import type { MethodConfig, MethodName } from '../lib/train/methods.js';
import { Trainer } from '../lib/train/trainer.js';

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'vanilla' },
    model: { type: 'string', default: 'mini' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '64' },
    steps: { type: 'string', default: '4' },
  },
});
// bench/trial.ts's settings, the Python loops' (bench/peers/loops.py).
const METHOD: Record<string, MethodConfig> = {
  vanilla: { name: 'vanilla' },
  freelb: { name: 'freelb', steps: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0 },
  pgd: { name: 'pgd', steps: 2, stepSize: 0.1, epsilon: 0.1, cleanWeight: 0.5 },
};
const milestones: { at: string; rssMB: number; heapMB: number }[] = [];
const mark = (at: string) => milestones.push({ at, rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20), heapMB: Math.round(native().memory('cpu').heapMB) });
const batch = Number(values.batch);
const seq = Number(values.seq);
mark('addon');
const model = await createModel(sizedConfig(values.model as ModelSize, 30522, { max_position_embeddings: Math.max(512, seq) }), { task: 'sequence-classification', numLabels: 2, device: 'cpu', seed: 0 });
mark('model');
const method = METHOD[values.method!] ?? ({ name: values.method as MethodName } as MethodConfig);
const trainer = new Trainer({ model, method, optimizer: { name: 'adamw', lr: 1e-5 }, seed: 0 });
mark('trainer');
let s = 12345;
const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
const inputIds = Int32Array.from({ length: batch * seq }, () => 1000 + Math.floor(rand() * 29000));
const labels = Int32Array.from({ length: batch }, () => Math.floor(rand() * 2));
for (let i = 0; i < Number(values.steps); i++) {
  await trainer.step({ inputIds, batchSize: batch, seqLen: seq, labels });
  mark(`step${i + 1}`);
}
console.log(JSON.stringify({ impl: 'advtrain', method: method.name, model: values.model, batch, seq, milestones, peakMemMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
trainer.dispose();
model.dispose();
