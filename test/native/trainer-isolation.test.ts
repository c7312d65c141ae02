// A trainer's randomness is its own, and a skipped step leaves everything as it was (issue 17, items 10
// and 11): weights, optimizer state and the method's own state (TextAT's table), for every method,
// FreeAT's multi-update steps included.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { createModel } from '../../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff, readParams, worstDiff } from '../helpers/params.js';

const skip = nativeSkipReason();
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dropCfg = tinyConfig('bert', { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });

/** Weights plus the optimizer and method tensors of a checkpoint (RNG and step counters left out). */
async function trainerTensors(tr: Trainer, dir: string): Promise<Map<string, Float64Array>> {
  const ckpt = await tr.saveCheckpoint(dir);
  const out = readParams(join(ckpt, 'model.safetensors'));
  const state = readParams(join(ckpt, 'trainer_state.safetensors'));
  for (const [k, v] of state) if (k.startsWith('optimizer.exp_avg') || k.startsWith('method.')) out.set(k, v);
  return out;
}

t.test('a non-finite step leaves weights, optimizer and method state untouched, for every method', { skip }, async (t) => {
  const good = randomBatch({ task: 'regression', lengths: [7, 5, 6, 3], seqLen: 7, seed: 41 });
  // Labels near float32's limit: the loss overflows to inf and the gradient follows.
  const bad = { ...good, labels: Float32Array.from([3e38, -3e38, 3e38, -3e38]) };
  // R4F's power iteration moves u and v on every training forward: they are method state too.
  // SiFT is refused for regression (its symmetric KL of one output is 0); it keeps no state of its own.
  const methods: MethodConfig[] = [...METHOD_NAMES.filter((n) => n !== 'sift').map((name) => ({ name }) as MethodConfig), { name: 'rpt', spectralNorm: true }];
  for (const method of methods) {
    const name = method.name === 'rpt' && method.spectralNorm ? 'rpt (R4F)' : method.name;
    const m = await createModel(dropCfg, { task: 'regression', seed: 7 });
    const tr = new Trainer({ model: m, method, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 5 });
    await tr.step(good);
    const before = await trainerTensors(tr, join(t.testdir(), `${name}-before`));
    const r = await tr.step(bad);
    t.equal(r.skipped, true, `${name}: skipped`);
    const after = await trainerTensors(tr, join(t.testdir(), `${name}-after`));
    const { worst, where } = worstDiff(before, after);
    t.equal(worst, 0, `${name}: nothing changed${where ? ` (largest change ${worst} in ${where})` : ''}`);
    const next = await tr.step(good);
    t.ok(!next.skipped && Number.isFinite(next.loss), `${name}: the next good step trains (loss ${next.loss})`);
    tr.dispose();
    m.dispose();
  }
});

t.test('FreeAT: a replay that turns non-finite rolls back the replays already applied', { skip }, async (t) => {
  const b = randomBatch({ task: 'regression', lengths: [7, 5, 6, 3], seqLen: 7, seed: 43 });
  const m = await createModel(tinyConfig('bert'), { task: 'regression', seed: 8 });
  // SGD with an absurd learning rate: the first replay is finite, its update sends the weights to
  // ~1e30, and the second replay's forward overflows.
  const tr = new Trainer({ model: m, method: { name: 'freeat', replays: 3 }, optimizer: { name: 'sgd', lr: 1e30 }, maxGradNorm: 0, seed: 5 });
  const before = await trainerTensors(tr, join(t.testdir(), 'before'));
  const r = await tr.step(b);
  t.equal(r.skipped, true, 'the step is skipped');
  t.equal(r.step, 3, 'the schedule still advances by the replays');
  const after = await trainerTensors(tr, join(t.testdir(), 'after'));
  const { worst, where } = worstDiff(before, after);
  t.equal(worst, 0, `weights and optimizer as before the step${where ? ` (largest change ${worst} in ${where})` : ''}`);
  tr.dispose();
  m.dispose();
});

t.test('FreeAT with atomicSteps false: no copy, the same steps, and a non-finite replay keeps the earlier updates', { skip }, async (t) => {
  const b = randomBatch({ task: 'regression', lengths: [7, 5, 6, 3], seqLen: 7, seed: 43 });
  // Finite steps: bit-equal to the default (the copy only matters when a step fails).
  const run = async (atomicSteps: boolean) => {
    const m = await createModel(tinyConfig('bert'), { task: 'regression', seed: 8 });
    const tr = new Trainer({ model: m, method: { name: 'freeat', replays: 3 }, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 5, atomicSteps });
    const losses = [(await tr.step(b)).loss, (await tr.step(b)).loss];
    const tensors = await trainerTensors(tr, join(t.testdir(), `finite-${atomicSteps}`));
    tr.dispose();
    m.dispose();
    return { losses, tensors };
  };
  const [atomic, loose] = [await run(true), await run(false)];
  t.same(loose.losses, atomic.losses, 'the same losses');
  t.equal(worstDiff(atomic.tensors, loose.tensors).worst, 0, 'the same weights and optimizer state');
  // The rollback case above, without the copy: the first replay's update stays.
  const m = await createModel(tinyConfig('bert'), { task: 'regression', seed: 8 });
  const tr = new Trainer({ model: m, method: { name: 'freeat', replays: 3 }, optimizer: { name: 'sgd', lr: 1e30 }, maxGradNorm: 0, seed: 5, atomicSteps: false });
  const before = await trainerTensors(tr, join(t.testdir(), 'before'));
  const r = await tr.step(b);
  t.equal(r.skipped, true, 'the step is reported skipped');
  t.equal(r.step, 3, 'the schedule advances by the replays');
  const after = await trainerTensors(tr, join(t.testdir(), 'after'));
  const { worst } = worstDiff(before, after);
  t.ok(worst > 1e20, `the first replay's update stays (largest change ${worst.toExponential(2)})`);
  t.throws(() => new Trainer({ model: m, method: { name: 'freeat' }, optimizer: { name: 'sgd', lr: 1 }, atomicSteps: 'no' as unknown as boolean }), { code: 'ERR_INVALID_ARG', message: /atomicSteps/ });
  tr.dispose();
  m.dispose();
});

t.test('four trainers stepping concurrently in one process: each gives what it gives alone', { skip }, async (t) => {
  const batches = [1, 2, 3].map((s) => randomBatch({ task: 'sequence-classification', lengths: [9, 7, 5, 3], seqLen: 9, seed: s }));
  // Dropout, random starts, noise and TextAT's table all draw from the trainers' generators.
  const methods: MethodConfig[] = [
    { name: 'freelb', steps: 2, initMag: 0.5 },
    { name: 'smart' },
    { name: 'rpt' },
    { name: 'textat', initMag: 0.5 },
  ];
  const train = async (method: MethodConfig, i: number) => {
    const m = await createModel(dropCfg, { task: 'sequence-classification', numLabels: 3, seed: 12 + i });
    const tr = new Trainer({ model: m, method, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 21 + i });
    const losses: number[] = [];
    for (const b of batches) losses.push((await tr.step(b)).loss);
    const logits = (await m.forward(batches[0]!)).logits as Float32Array;
    tr.dispose();
    m.dispose();
    return { losses, logits };
  };
  const alone = [];
  for (const [i, method] of methods.entries()) alone.push(await train(method, i));
  const together = await Promise.all(methods.map((method, i) => train(method, i)));
  for (const [i, method] of methods.entries()) {
    t.same(together[i]!.losses, alone[i]!.losses, `${method.name}: the same losses, bit for bit`);
    t.equal(maxDiff(together[i]!.logits, alone[i]!.logits), 0, `${method.name}: the same weights`);
  }
});

t.test('OMP_NUM_THREADS sets the intra-op threads unless ADVTRAIN_NUM_THREADS does', { skip }, async (t) => {
  const script = `import('${pathToFileURL(join(root, 'lib', 'info.ts')).href}').then((m) => console.log(m.info().numThreads))`;
  const threads = (env: Record<string, string>) => {
    const clean = { ...process.env };
    delete clean.OMP_NUM_THREADS;
    delete clean.ADVTRAIN_NUM_THREADS;
    return Number(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...clean, ...env }, encoding: 'utf8' }).trim());
  };
  t.equal(threads({ OMP_NUM_THREADS: '1' }), 1, 'OMP_NUM_THREADS=1');
  t.equal(threads({ OMP_NUM_THREADS: '1', ADVTRAIN_NUM_THREADS: '2' }), 2, 'ADVTRAIN_NUM_THREADS wins');
});
