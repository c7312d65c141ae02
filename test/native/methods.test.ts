// Invariants of the adversarial methods on tiny models (algorithms.md; the methods issue's list).
import { join } from 'node:path';
import t from 'tap';
import { native } from '../../lib/binding.js';
import type { Task } from '../../lib/model/config.js';
import { createModel } from '../../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import type { OptimizerOptions } from '../../lib/train/config.js';
import type { LabeledBatch } from '../../lib/model/batch.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff, readParams, snapshot, worstDiff } from '../helpers/params.js';

const skip = nativeSkipReason();
const lengths = [9, 7, 4, 2];
const batch = randomBatch({ task: 'sequence-classification', lengths, seqLen: 9, seed: 21, types: true });
const dropCfg = tinyConfig('bert', { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });

async function model(seed = 1, config = tinyConfig('bert'), task: Task = 'sequence-classification') {
  return createModel(config, { task, numLabels: 3, seed });
}

function exampleNorms(data: Float32Array, rows: number, norm: 'l2' | 'linf'): number[] {
  const per = data.length / rows;
  return Array.from({ length: rows }, (_, r) => {
    let acc = 0;
    for (let i = r * per; i < (r + 1) * per; i++) acc = norm === 'l2' ? acc + data[i]! ** 2 : Math.max(acc, Math.abs(data[i]!));
    return norm === 'l2' ? Math.sqrt(acc) : acc;
  });
}

const attacks: MethodConfig[] = [
  { name: 'pgd', steps: 3, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'freelb', steps: 3, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'freeat', replays: 3, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'yopo', outer: 2, inner: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'textat', steps: 3, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'creat', steps: 3, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
];

t.test('the final perturbation respects epsilon (l2 and linf) and leaves padding untouched', { skip }, async (t) => {
  for (const base of attacks) {
    for (const norm of ['l2', 'linf'] as const) {
      if (base.name === 'textat' && norm === 'linf') continue;
      const m = await model(2, dropCfg);
      const tr = new Trainer({ model: m, method: { ...base, norm } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 } });
      const r = await tr.step(batch);
      const p = tr.lastPerturbation()!;
      t.same(p.shape, [4, 9, 32]);
      const norms = exampleNorms(p.data, 4, norm);
      t.ok(Math.max(...norms) <= 0.2 + 1e-6, `${base.name}/${norm}: max per-example norm ${Math.max(...norms).toFixed(6)} <= 0.2`);
      t.ok(Math.max(...norms) > 0.05, `${base.name}/${norm}: the attack moved`);
      let padMass = 0;
      lengths.forEach((len, row) => {
        for (let j = len; j < 9; j++) for (let d = 0; d < 32; d++) padMass += Math.abs(p.data[(row * 9 + j) * 32 + d]!);
      });
      t.equal(padMass, 0, `${base.name}/${norm}: padding carries no perturbation`);
      t.ok(Number.isFinite(r.loss) && Number.isFinite(r.deltaNorm!));
      m.dispose();
    }
  }
});

t.test('freelb with one pass and no random start is vanilla', { skip }, async (t) => {
  const dir = t.testdir();
  const a = await model(3, dropCfg);
  const b = await model(3, dropCfg);
  const ra = await new Trainer({ model: a, method: { name: 'freelb', steps: 1, initMag: 0 }, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 5 }).step(batch);
  const rb = await new Trainer({ model: b, method: { name: 'vanilla' }, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 5 }).step(batch);
  t.equal(ra.loss, rb.loss);
  const pa = await snapshot(a, `${dir}/a`);
  const pb = await snapshot(b, `${dir}/b`);
  for (const [k, v] of pa) t.equal(maxDiff(v, pb.get(k)!), 0, `${k} identical`);
});

t.test('creat with tau 0 is pgd with cleanWeight 0.5, dropout and random start included', { skip }, async (t) => {
  const dir = t.testdir();
  const opts = { steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.2 };
  const a = await model(4, dropCfg);
  const b = await model(4, dropCfg);
  const ra = await new Trainer({ model: a, method: { name: 'creat', tau: 0, ...opts }, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 9 }).step(batch);
  const rb = await new Trainer({ model: b, method: { name: 'pgd', cleanWeight: 0.5, ...opts }, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 9 }).step(batch);
  t.equal(ra.loss, rb.loss);
  t.equal(ra.advLoss, rb.advLoss);
  const pa = await snapshot(a, `${dir}/a`);
  const pb = await snapshot(b, `${dir}/b`);
  const { worst } = worstDiff(pa, pb);
  t.equal(worst, 0, 'identical weights');
  // With tau > 0 the attack differs, and repCos is reported.
  const c = await model(4, dropCfg);
  const rc = await new Trainer({ model: c, method: { name: 'creat', tau: 5, ...opts }, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 9 }).step(batch);
  t.not(rc.advLoss, ra.advLoss);
  t.ok(rc.repCos! > -1 && rc.repCos! < 1);
});

t.test('syncDropout replays the same dropout masks in every pass', { skip }, async (t) => {
  // epsilon 1e-12 keeps delta at ~0 in every pass: equal masks give equal losses in all passes.
  const run = async (syncDropout: boolean) => {
    const m = await model(6, tinyConfig('bert', { hidden_dropout_prob: 0.3, attention_probs_dropout_prob: 0.3 }));
    const r = await new Trainer({ model: m, method: { name: 'freelb', steps: 3, initMag: 0, epsilon: 1e-12, syncDropout }, optimizer: { name: 'adamw', lr: 1e-3 } }).step(batch);
    m.dispose();
    return r;
  };
  const synced = await run(true);
  t.ok(Math.abs(synced.loss - synced.advLoss!) < 1e-6, `synced: mean pass loss ${synced.loss} equals last pass ${synced.advLoss}`);
  const free = await run(false);
  t.ok(Math.abs(free.loss - free.advLoss!) > 1e-4, `unsynced: passes differ (${free.loss} vs ${free.advLoss})`);
});

t.test("textat's table changes only the rows of the batch's real tokens", { skip }, async (t) => {
  const dir = t.testdir();
  const m = await model(7);
  const tr = new Trainer({ model: m, method: { name: 'textat', steps: 2, initMag: 0.2 }, optimizer: { name: 'adamw', lr: 1e-3 } });
  await tr.saveCheckpoint(`${dir}/before`);
  await tr.step(batch);
  await tr.saveCheckpoint(`${dir}/after`);
  const before = readParams(join(dir, 'before', 'checkpoint-0', 'trainer_state.safetensors')).get('method.table')!;
  const after = readParams(join(dir, 'after', 'checkpoint-1', 'trainer_state.safetensors')).get('method.table')!;
  const used = new Set<number>();
  lengths.forEach((len, row) => {
    for (let j = 0; j < len; j++) used.add(batch.inputIds[row * 9 + j]!);
  });
  let changedUnused = 0;
  let changedUsed = 0;
  for (let v = 0; v < 60; v++) {
    const d = maxDiff(before.subarray(v * 32, (v + 1) * 32), after.subarray(v * 32, (v + 1) * 32));
    if (d > 0 && !used.has(v)) changedUnused++;
    if (d > 0 && used.has(v)) changedUsed++;
  }
  t.equal(changedUnused, 0, 'no row outside the batch changed (padding id 0 included)');
  t.equal(changedUsed, used.size, `all ${used.size} rows of the batch's tokens changed`);
  m.dispose();
});

t.test("smart's teacher follows its EMA", { skip }, async (t) => {
  const dir = t.testdir();
  const m = await model(8);
  const beta = 0.9;
  const tr = new Trainer({ model: m, method: { name: 'smart', bregman: { mu: 1, beta } }, optimizer: { name: 'adamw', lr: 1e-2 } });
  const theta0 = await snapshot(m, `${dir}/t0`);
  const r = await tr.step(batch);
  t.ok(r.bregman !== undefined && Number.isFinite(r.bregman as number), 'the Bregman term is reported');
  const theta1 = await snapshot(m, `${dir}/t1`);
  const state = readParams(join(await tr.saveCheckpoint(`${dir}/ck`), 'trainer_state.safetensors'));
  let worst = 0;
  for (const [k, w0] of theta0) {
    const teacher = state.get(`method.teacher.${k}`)!;
    const w1 = theta1.get(k)!;
    for (let i = 0; i < w0.length; i++) worst = Math.max(worst, Math.abs(teacher[i]! - (beta * w0[i]! + (1 - beta) * w1[i]!)));
  }
  t.ok(worst < 1e-6, `teacher = beta * theta0 + (1 - beta) * theta1 (max error ${worst})`);
  m.dispose();
});

t.test('every method trains every head', { skip }, async (t) => {
  const tasks: Task[] = ['sequence-classification', 'regression', 'multiple-choice', 'token-classification', 'question-answering', 'masked-lm'];
  for (const task of tasks) {
    const b = randomBatch({ task, lengths: task === 'multiple-choice' ? [8, 6, 5, 8, 7, 3] : [8, 6, 3], seqLen: 8, numChoices: task === 'multiple-choice' ? 3 : undefined });
    for (const name of METHOD_NAMES) {
      const m = await model(9, dropCfg, task);
      if (name === 'sift' && task === 'regression') {
        // SiFT's symmetric KL of one output is identically 0: refused by name.
        t.throws(() => new Trainer({ model: m, method: { name }, optimizer: { name: 'adamw', lr: 1e-3 } }), { code: 'ERR_INVALID_ARG', message: /sift.*regression/ });
        m.dispose();
        continue;
      }
      const tr = new Trainer({ model: m, method: { name } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 } });
      const r1 = await tr.step(b);
      const r2 = await tr.step(b);
      t.ok(Number.isFinite(r1.loss) && Number.isFinite(r2.loss) && !r2.skipped, `${name} on ${task}: loss ${r1.loss.toFixed(4)} -> ${r2.loss.toFixed(4)}`);
      m.dispose();
    }
  }
});

t.test("rpt's noise: U(-noiseStd, noiseStd) by default (fairseq), N(0, noiseStd) on request, real tokens only", { skip }, async (t) => {
  const noiseStd = 0.01;
  const real = lengths.reduce((a, b) => a + b, 0) * 32;
  for (const noiseType of ['uniform', 'normal'] as const) {
    const m = await model(10);
    const tr = new Trainer({ model: m, method: { name: 'rpt', noiseStd, ...(noiseType === 'normal' ? { noiseType } : {}) }, optimizer: { name: 'sgd', lr: 0.1 }, seed: 3 });
    await tr.step(batch);
    const p = tr.lastPerturbation()!.data;
    let sq = 0;
    let max = 0;
    let pad = 0;
    lengths.forEach((len, row) => {
      for (let j = 0; j < 9; j++) {
        for (let d = 0; d < 32; d++) {
          const v = p[(row * 9 + j) * 32 + d]!;
          if (j >= len) pad += Math.abs(v);
          else [sq, max] = [sq + v * v, Math.max(max, Math.abs(v))];
        }
      }
    });
    const variance = sq / real;
    // Uniform: variance noiseStd^2 / 3 and no entry beyond noiseStd; normal: variance noiseStd^2 (704 entries: ~5% noise).
    const want = noiseType === 'uniform' ? noiseStd ** 2 / 3 : noiseStd ** 2;
    t.ok(Math.abs(variance / want - 1) < 0.15, `${noiseType}: variance ${variance.toExponential(3)} vs ${want.toExponential(3)}`);
    if (noiseType === 'uniform') t.ok(max <= noiseStd && max > 0.95 * noiseStd, `uniform: max |noise| ${max} within noiseStd`);
    else t.ok(max > 2 * noiseStd, `normal: tails beyond 2 std (max ${max})`);
    t.equal(pad, 0, `${noiseType}: padding carries no noise`);
    m.dispose();
  }
});

/** Six steps of `method` with a checkpoint at step 3 (resumed from `resume` when given): the per-step losses and final weights. */
async function resumableRun(out: string, batches: LabeledBatch[], method: MethodConfig, optimizer: OptimizerOptions, dir: string, resume?: string) {
  const m = await model(12, dropCfg);
  const losses: number[] = [];
  const tr = new Trainer({ model: m, method, optimizer, callbacks: [{ onStepEnd: (_s, _c, r) => void losses.push(r.loss) }] });
  await tr.fit(batches, { maxSteps: 6, saveEvery: 3, outputDir: join(out, dir), resumeFrom: resume });
  const weights = await snapshot(m, join(out, `${dir}-final`));
  tr.dispose();
  m.dispose();
  return { losses, weights };
}

t.test('R4F: a resumed run repeats the uninterrupted one bit for bit (W_orig, u and v in the trainer state)', { skip }, async (t) => {
  const out = t.testdir();
  const batches = [1, 2, 3, 4].map((s) => randomBatch({ task: 'sequence-classification', lengths: [9, 7, 5, 3], seqLen: 9, seed: s }));
  const run = (dir: string, resume?: string) => resumableRun(out, batches, { name: 'rpt', noiseStd: 0.05, spectralNorm: true }, { name: 'adamw', lr: 1e-2 }, dir, resume);
  const full = await run('a');
  const state = readParams(join(out, 'a', 'checkpoint-3', 'trainer_state.safetensors'));
  t.same(
    [...state.keys()].filter((k) => k.startsWith('method.')).sort(),
    ['method.classifier.weight_orig', 'method.classifier.weight_u', 'method.classifier.weight_v'],
    'the checkpoint keeps W_orig, u and v',
  );
  const saved = readParams(join(out, 'a', 'checkpoint-3', 'model.safetensors'));
  t.ok(maxDiff(saved.get('classifier.weight')!, state.get('method.classifier.weight_orig')!) > 1e-3, 'the model folder holds W_orig / sigma, not W_orig');
  const resumed = await run('b', join(out, 'a', 'checkpoint-3'));
  t.same(resumed.losses, full.losses.slice(3), 'steps 4..6 repeat the uninterrupted run');
  const { worst } = worstDiff(full.weights, resumed.weights);
  t.equal(worst, 0, 'the final weights are identical');
});

t.test("InfoBERT: a resumed run repeats the uninterrupted one bit for bit (the critic and its AdamW state in the trainer state)", { skip }, async (t) => {
  const out = t.testdir();
  const batches = [1, 2, 3, 4].map((s) => randomBatch({ task: 'sequence-classification', lengths: [9, 7, 5, 3], seqLen: 9, seed: s }));
  const method: MethodConfig = { name: 'infobert', steps: 2, stepSize: 0.1, initMag: 0.1, beta: 0.05, alpha: 0.5, anchorBatch: 4 };
  const run = (dir: string, resume?: string) => resumableRun(out, batches, method, { name: 'adamw', lr: 1e-2, weightDecay: 0.01 }, dir, resume);
  const full = await run('a');
  const state3 = readParams(join(out, 'a', 'checkpoint-3', 'trainer_state.safetensors'));
  const critic = ['F_func.0.bias', 'F_func.0.weight', 'F_func.2.bias', 'F_func.2.weight'];
  t.same([...state3.keys()].filter((k) => k.startsWith('method.')).sort(), critic.map((n) => `method.estimator.${n}`), 'the checkpoint keeps the critic');
  t.same(
    [...state3.keys()].filter((k) => k.startsWith('method_optimizer.')).sort(),
    [...critic.map((n) => `method_optimizer.exp_avg.${n}`), ...critic.map((n) => `method_optimizer.exp_avg_sq.${n}`), 'method_optimizer.step'].sort(),
    "and its optimizer's moments and step",
  );
  t.equal(state3.get('method_optimizer.step')![0], 3, 'the critic was updated at every step');
  const state6 = readParams(join(out, 'a', 'checkpoint-6', 'trainer_state.safetensors'));
  t.ok(maxDiff(state3.get('method.estimator.F_func.0.weight')!, state6.get('method.estimator.F_func.0.weight')!) > 0, 'the critic trains');
  const resumed = await run('b', join(out, 'a', 'checkpoint-3'));
  t.same(resumed.losses, full.losses.slice(3), 'steps 4..6 repeat the uninterrupted run');
  t.equal(worstDiff(full.weights, resumed.weights).worst, 0, 'the final weights are identical');
  const resumed6 = readParams(join(out, 'b', 'checkpoint-6', 'trainer_state.safetensors'));
  for (const k of [...state6.keys()].filter((k) => k.startsWith('method'))) t.equal(maxDiff(state6.get(k)!, resumed6.get(k)!), 0, `${k} identical`);
});

t.test('SiFT and InfoBERT on RoBERTa and ELECTRA (E < H): finite steps that move the weights', { skip }, async (t) => {
  for (const family of ['roberta', 'electra'] as const) {
    const cfg = tinyConfig(family, { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });
    const b = randomBatch({ task: 'sequence-classification', lengths: [9, 6, 3], seqLen: 9, seed: 5, pad: cfg.pad_token_id as number });
    for (const method of [{ name: 'sift', lambda: 5, stepSize: 1e-2, initPerturbation: 0.1 }, { name: 'infobert', alpha: 0.5, beta: 0.05 }] as MethodConfig[]) {
      const m = await model(7, cfg);
      const before = (await m.forward(b)).logits as Float32Array;
      const tr = new Trainer({ model: m, method, optimizer: { name: 'adamw', lr: 1e-3 } });
      for (let s = 0; s < 2; s++) {
        const r = await tr.step(b);
        t.ok(Number.isFinite(r.loss) && !r.skipped, `${method.name} on ${family}, step ${s + 1}: loss ${r.loss}`);
      }
      t.ok(maxDiff(before, (await m.forward(b)).logits as Float32Array) > 0, `${method.name} on ${family}: the weights changed`);
      tr.dispose();
      m.dispose();
    }
  }
});

t.test('SiFT and InfoBERT options reach C++ complete: a missing or unsafe field is refused natively', { skip }, async (t) => {
  const m = await model(1);
  t.teardown(() => m.dispose());
  const make = (method: Record<string, unknown>) => new (native().NativeTrainer)(m._native, { optimizer: {}, scheduler: {}, method, skipPadding: false, atomicSteps: true, distributed: false });
  t.throws(() => make({ name: 'sift', lambda: 1, stepSize: 1e-4, initPerturbation: 1e-2 }), { code: 'ERR_INVALID_ARG', message: /method\.attackLoss/ });
  t.throws(() => make({ name: 'sift', stepSize: 1e-4, initPerturbation: 1e-2, attackLoss: 'kl' }), { code: 'ERR_INVALID_ARG', message: /method\.lambda/ });
  const ib = { name: 'infobert', steps: 2, stepSize: 0.1, epsilon: 0, initMag: 0, norm: 'l2', beta: 0, alpha: 1, anchorLow: 0.5, anchorHigh: 0.9, anchorBatch: 4, anchorSeed: 1 };
  t.throws(() => make({ ...ib, anchorBatch: 0 }), { code: 'ERR_INVALID_ARG', message: /method\.anchorBatch/ });
  t.throws(() => make({ ...ib, anchorHigh: 1.5 }), { code: 'ERR_INVALID_ARG', message: /method\.anchorHigh/ });
  const { anchorSeed: _, ...noSeed } = ib;
  t.throws(() => make(noSeed), { code: 'ERR_INVALID_ARG', message: /method\.anchorSeed/ });
});

t.test('R4F is refused for heads other than sequence classification and regression, natively too', { skip }, async (t) => {
  const m = await model(1, tinyConfig('bert'), 'token-classification');
  t.teardown(() => m.dispose());
  t.throws(() => new Trainer({ model: m, method: { name: 'rpt', spectralNorm: true }, optimizer: { name: 'sgd', lr: 0.1 } }), { code: 'ERR_INVALID_ARG', message: /method\.spectralNorm/ });
  const method = { name: 'rpt', noiseStd: 1e-5, noiseType: 'uniform', tau: 1, spectralNorm: true };
  t.throws(() => new (native().NativeTrainer)(m._native, { optimizer: {}, scheduler: {}, method, skipPadding: false, atomicSteps: true, distributed: false }), { code: 'ERR_INVALID_ARG', message: /spectralNorm.*sequence-classification or regression/ });
});

t.test("yopo's passes, full and inner, share the first pass's dropout masks", { skip }, async (t) => {
  // epsilon 1e-12 keeps delta at ~0: equal masks give every full pass the same loss.
  const m = await model(6, tinyConfig('bert', { hidden_dropout_prob: 0.3, attention_probs_dropout_prob: 0.3 }));
  const r = await new Trainer({ model: m, method: { name: 'yopo', outer: 3, inner: 2, initMag: 0, epsilon: 1e-12 }, optimizer: { name: 'adamw', lr: 1e-3 } }).step(batch);
  t.ok(Math.abs(r.loss - r.advLoss!) < 1e-6, `mean pass loss ${r.loss} equals the last pass's ${r.advLoss}`);
  m.dispose();
});

t.test('freeat accumulates over micro-batches, one delta each: two halves equal the whole batch', { skip }, async (t) => {
  const dir = t.testdir();
  const half = (from: number) => ({
    inputIds: batch.inputIds.subarray(from * 9, (from + 2) * 9),
    attentionMask: batch.attentionMask!.subarray(from * 9, (from + 2) * 9),
    tokenTypeIds: batch.tokenTypeIds!.subarray(from * 9, (from + 2) * 9),
    labels: (batch.labels as Int32Array).subarray(from, from + 2),
    batchSize: 2,
    seqLen: 9,
  });
  const method: MethodConfig = { name: 'freeat', replays: 3, stepSize: 0.3, epsilon: 0.5, initMag: 0 };
  const a = await model(11);
  const ra = await new Trainer({ model: a, method, optimizer: { name: 'sgd', lr: 0.3 }, maxGradNorm: 0, gradientAccumulation: 2 }).step([half(0), half(2)]);
  const b = await model(11);
  const rb = await new Trainer({ model: b, method, optimizer: { name: 'sgd', lr: 0.3 }, maxGradNorm: 0 }).step(batch);
  t.equal(ra.step, 3, 'one update per replay');
  const pa = await snapshot(a, `${dir}/a`);
  const pb = await snapshot(b, `${dir}/b`);
  const { worst } = worstDiff(pa, pb);
  t.ok(worst < 1e-6, `max weight difference ${worst}`);
  t.ok(Math.abs(ra.loss - rb.loss) < 1e-6, `loss ${ra.loss} vs ${rb.loss}`);
  a.dispose();
  b.dispose();
});

t.test('alum refuses a perturbLayer beyond the model', { skip }, async (t) => {
  const m = await model(12);
  t.throws(() => new Trainer({ model: m, method: { name: 'alum', perturbLayer: 3 }, optimizer: { name: 'sgd', lr: 0.1 } }), { code: 'ERR_INVALID_ARG', message: /method\.perturbLayer but received 3/ });
  const last = new Trainer({ model: m, method: { name: 'alum', perturbLayer: 2 }, optimizer: { name: 'sgd', lr: 0.1 } });
  t.ok(Number.isFinite((await last.step(batch)).loss), 'the last layer is allowed');
  m.dispose();
});

// An all-padding row (attention mask all zeros) has no real token: it carries no perturbation and adds
// nothing to perturbation norms, and no method divides by its zero length (freelb's and textat's l2
// random start did: initMag / sqrt(0) times a zero mask gave NaN every step).
t.test('a batch with an all-padding row: every method steps with a finite loss and updates the weights', { skip }, async (t) => {
  const rows = [9, 0, 5, 3];
  const b = randomBatch({ task: 'sequence-classification', lengths: rows, seqLen: 9, seed: 31, types: true });
  for (const name of METHOD_NAMES) {
    for (const base of [{ name } as MethodConfig, ...attacks.filter((a) => a.name === name)]) {
      const m = await model(13, dropCfg);
      const before = (await m.forward(b)).logits as Float32Array;
      const tr = new Trainer({ model: m, method: base, optimizer: { name: 'adamw', lr: 1e-3 } });
      const label = `${name}${base === attacks.find((a) => a.name === name) ? ' (random start)' : ''}`;
      for (let s = 0; s < 2; s++) {
        const r = await tr.step(b);
        t.ok(Number.isFinite(r.loss) && !r.skipped, `${label} step ${s + 1}: loss ${r.loss} finite, not skipped`);
        if (r.deltaNorm !== undefined) t.ok(Number.isFinite(r.deltaNorm), `${label}: deltaNorm ${r.deltaNorm} finite`);
      }
      const p = tr.lastPerturbation();
      if (p) {
        const per = p.data.length / rows.length;
        t.ok(p.data.every(Number.isFinite), `${label}: the perturbation is finite`);
        t.equal(p.data.subarray(per, 2 * per).reduce((a, v) => a + Math.abs(v), 0), 0, `${label}: the all-padding row carries no perturbation`);
      }
      const after = (await m.forward(b)).logits as Float32Array;
      t.ok(maxDiff(before, after) > 0, `${label}: the weights changed`);
      tr.dispose();
      m.dispose();
    }
  }
});
