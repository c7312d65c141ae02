/**
 * Evaluation and attack speed with and without the work they can skip: a classification forward and an
 * attack with and without padding (`skipPadding` of model.forward / model.attack), on the bench's padded
 * batch (bench/batch-shape.ts: lengths spread over [seq/2, seq]); and a masked-LM forward (--mlm-seq
 * 128, 15% of real tokens labelled) as evaluateModel runs it (`labeledOnly` + `skipPadding`) against the
 * full [N, L, V] logits; and the forward with padding skipped as evaluateModel runs it (`outputLastHiddenState:
 * false`) against the same with the last hidden state copied into JS ('copy'). Interleaved rounds, each timing both settings one after the other; prints one
 * JSON line per (what, fast, round) and a summary line of medians. Not a test.
 *
 *   ADVTRAIN_ADDON=build-torch213/Release/advtrain.node node dist/bench/eval-speed.js --threads 2 --rounds 5
 */
import { parseArgs } from 'node:util';
import { native } from '../lib/binding.js';
import type { ModelSize } from '../lib/model/config.js';
import { createModel, sizedConfig } from '../lib/model/model.js';
import { paddedBatch } from './batch-shape.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mini' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '5' },
    // Forward passes timed per round (eval), and attack iterations (one attack per round).
    forwards: { type: 'string', default: '10' },
    'attack-steps': { type: 'string', default: '10' },
    'mlm-seq': { type: 'string', default: '128' },
    threads: { type: 'string' },
  },
});
// Read when the addon loads (below, at the first native call).
if (values.threads !== undefined) process.env.ADVTRAIN_NUM_THREADS = values.threads;
const seq = Number(values.seq);
const model = await createModel(sizedConfig(values.model as ModelSize, 30522, { max_position_embeddings: Math.max(512, seq) }), { task: 'sequence-classification', numLabels: 2, seed: 0 });
const { batch } = paddedBatch(Number(values.batch), seq, 12345);
const attack = { epsilon: 1, steps: Number(values['attack-steps']), stepSize: 0.1 };
const mlmSeq = Number(values['mlm-seq']);
const mlm = await createModel(sizedConfig(values.model as ModelSize, 30522, { max_position_embeddings: Math.max(512, mlmSeq) }), { task: 'masked-lm', seed: 0 });
const mlmBatch = paddedBatch(Number(values.batch), mlmSeq, 777).batch;
// Every 7th real token labelled (~15%, as BERT's masking), with its own id.
const mlmLabels = Int32Array.from(mlmBatch.inputIds, (id, i) => (mlmBatch.attentionMask[i] === 1 && i % 7 === 3 ? id : -100));

/** Mean ms of --forwards calls of one forward. */
async function perForward(forward: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < Number(values.forwards); i++) await forward();
  return (performance.now() - t0) / Number(values.forwards);
}

const timeForward = (skipPadding: boolean) => perForward(() => model.forward(batch, { skipPadding }));
const timeCopy = (fast: boolean) => perForward(() => model.forward(batch, { skipPadding: true, outputLastHiddenState: !fast }));
const timeMlm = (fast: boolean) => perForward(() => mlm.forward({ ...mlmBatch, labels: mlmLabels }, { skipPadding: fast, labeledOnly: fast, outputLastHiddenState: !fast }));

async function timeAttack(skipPadding: boolean): Promise<number> {
  const t0 = performance.now();
  await model.attack(batch, { ...attack, skipPadding });
  return performance.now() - t0;
}

const ms: Record<string, number[]> = {};
await timeForward(true);
await timeForward(false);
await timeCopy(false);
await timeAttack(true);
await timeMlm(true);
await timeMlm(false);
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [what, run] of [['forward', timeForward], ['copy', timeCopy], ['attack', timeAttack], ['mlm', timeMlm]] as const) {
    for (const fast of [true, false]) {
      const t = await run(fast);
      (ms[`${what}:${fast}`] ??= []).push(t);
      console.log(JSON.stringify({ what, fast, round, ms: +t.toFixed(2) }));
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary: Record<string, number | string> = { model: values.model!, batch: Number(values.batch), seq, mlmSeq, threads: native().info().numThreads, torch: native().info().torchVersion };
for (const what of ['forward', 'copy', 'attack', 'mlm']) {
  summary[`${what}MsFast`] = +median(ms[`${what}:true`]!).toFixed(1);
  summary[`${what}MsFull`] = +median(ms[`${what}:false`]!).toFixed(1);
  summary[`${what}SpeedUp`] = +(median(ms[`${what}:false`]!) / median(ms[`${what}:true`]!)).toFixed(2);
}
console.log(JSON.stringify({ summary }));
model.dispose();
mlm.dispose();
