import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BatchLoader, collateTexts } from '../../lib/data/batching.js';
import { info } from '../../lib/info.js';
import { createModel, loadModel } from '../../lib/model/model.js';
import { Trainer, type StepResult } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff, snapshot, worstDiff } from '../helpers/params.js';

const skip = nativeSkipReason();
const cfg = tinyConfig('bert');
const batch = randomBatch({ task: 'sequence-classification', lengths: [9, 6, 4, 8], seqLen: 9, seed: 3 });

const noDecay = (name: string) => name.endsWith('.bias') || name.includes('LayerNorm');

t.test('AdamW matches a hand-computed update over two steps (gradients recovered from SGD steps)', { skip }, async (t) => {
  const dir = t.testdir();
  // g1 from an SGD step with lr 1 on an identical model.
  const sgdModel = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 11 });
  const p0 = await snapshot(sgdModel, `${dir}/p0`);
  await new Trainer({ model: sgdModel, optimizer: { name: 'sgd', lr: 1 }, maxGradNorm: 0 }).step(batch);
  const pSgd = await snapshot(sgdModel, `${dir}/psgd`);
  const adamModel = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 11 });
  const lr = 1e-2;
  const wd = 0.1;
  const adam = new Trainer({ model: adamModel, optimizer: { name: 'adamw', lr, weightDecay: wd }, maxGradNorm: 0 });
  await adam.step(batch);
  const p1 = await snapshot(adamModel, `${dir}/p1`);
  // g2 at p1, again from an SGD step on a copy.
  const copy = await loadModel(`${dir}/p1`);
  await new Trainer({ model: copy, optimizer: { name: 'sgd', lr: 1 }, maxGradNorm: 0 }).step(batch);
  const pCopy = await snapshot(copy, `${dir}/pcopy`);
  await adam.step(batch);
  const p2 = await snapshot(adamModel, `${dir}/p2`);
  let worst1 = 0;
  let worst2 = 0;
  let checked = 0;
  let total = 0;
  for (const [name, w0] of p0) {
    const decay = noDecay(name) ? 0 : wd;
    const g1 = w0.map((v, i) => v - pSgd.get(name)![i]!);
    const g2 = p1.get(name)!.map((v, i) => v - pCopy.get(name)![i]!);
    for (let i = 0; i < w0.length; i++) {
      total++;
      // A gradient recovered as a float32 difference is exact to ~1e-7: judge only elements where
      // g / (|g| + eps) is well determined.
      if (Math.abs(g1[i]!) < 1e-4 || Math.abs(g2[i]!) < 1e-4) continue;
      checked++;
      // step 1: m = (1 - b1) g, v = (1 - b2) g^2, bias-corrected to g and g^2
      const e1 = w0[i]! * (1 - lr * decay) - (lr * g1[i]!) / (Math.abs(g1[i]!) + 1e-8);
      const m = 0.9 * 0.1 * g1[i]! + 0.1 * g2[i]!;
      const v = 0.999 * 0.001 * g1[i]! ** 2 + 0.001 * g2[i]! ** 2;
      const e2 = p1.get(name)![i]! * (1 - lr * decay) - ((lr / (1 - 0.9 ** 2)) * m) / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
      worst1 = Math.max(worst1, Math.abs(e1 - p1.get(name)![i]!));
      worst2 = Math.max(worst2, Math.abs(e2 - p2.get(name)![i]!));
    }
  }
  t.ok(checked > 1000, `${checked} of ${total} elements have well-determined gradients (unused embedding rows have none)`);
  t.ok(worst1 < 1e-5, `step 1 max error ${worst1}`);
  t.ok(worst2 < 1e-5, `step 2 max error ${worst2}`);
  for (const m of [sgdModel, adamModel, copy]) m.dispose();
});

t.test('SGD with momentum and weight decay, and gradient clipping', { skip }, async (t) => {
  const dir = t.testdir();
  const a = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 12 });
  const p0 = await snapshot(a, `${dir}/p0`);
  const r = await new Trainer({ model: a, optimizer: { name: 'sgd', lr: 0.5 }, maxGradNorm: 0 }).step(batch);
  const p1 = await snapshot(a, `${dir}/p1`);
  let sq = 0;
  for (const [k, w] of p0) for (let i = 0; i < w.length; i++) sq += ((w[i]! - p1.get(k)![i]!) / 0.5) ** 2;
  t.ok(Math.abs(Math.sqrt(sq) - r.gradNorm) / r.gradNorm < 1e-4, `reported gradNorm ${r.gradNorm} equals the update's norm ${Math.sqrt(sq)}`);
  // Clipping to a tenth of the norm shrinks the update tenfold.
  const b = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 12 });
  await new Trainer({ model: b, optimizer: { name: 'sgd', lr: 0.5 }, maxGradNorm: r.gradNorm / 10 }).step(batch);
  const q1 = await snapshot(b, `${dir}/q1`);
  const name = 'classifier.weight';
  const full = p0.get(name)!.map((v, i) => v - p1.get(name)![i]!);
  const clipped = p0.get(name)!.map((v, i) => v - q1.get(name)![i]!);
  t.ok(maxDiff(clipped.map((v) => v * 10), full) < 1e-5, 'clipped update is the full update / 10');
  a.dispose();
  b.dispose();
});

t.test('schedules: linear warmup then decay, as transformers', { skip }, async (t) => {
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const tr = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 }, scheduler: { name: 'linear', warmupSteps: 2, totalSteps: 6 } });
  const lrs: number[] = [];
  for (let i = 0; i < 6; i++) lrs.push((await tr.step(batch)).lr);
  t.same(lrs.map((x) => +x.toFixed(8)), [0, 0.0005, 0.001, 0.00075, 0.0005, 0.00025]);
  const cos = new Trainer({ model, optimizer: { name: 'adamw', lr: 1 }, scheduler: { name: 'cosine', totalSteps: 4 } });
  const c: number[] = [];
  for (let i = 0; i < 4; i++) c.push((await cos.step(batch)).lr);
  t.same(c.map((x) => +x.toFixed(6)), [1, 0.853553, 0.5, 0.146447]);
  t.throws(() => new Trainer({ model, optimizer: { name: 'adamw', lr: 1 }, scheduler: { name: 'linear' } }).lr, { code: 'ERR_INVALID_ARG', message: /scheduler\.totalSteps/ });
  model.dispose();
});

t.test('gradient accumulation over micro-batches equals one big batch', { skip }, async (t) => {
  const dir = t.testdir();
  const halves = [randomBatch({ task: 'sequence-classification', lengths: [9, 9], seqLen: 9, seed: 5 }), randomBatch({ task: 'sequence-classification', lengths: [9, 9], seqLen: 9, seed: 6 })];
  const whole = {
    inputIds: Int32Array.from([...halves[0]!.inputIds, ...halves[1]!.inputIds]),
    attentionMask: Int32Array.from([...halves[0]!.attentionMask!, ...halves[1]!.attentionMask!]),
    tokenTypeIds: Int32Array.from([...halves[0]!.tokenTypeIds!, ...halves[1]!.tokenTypeIds!]),
    labels: Int32Array.from([...(halves[0]!.labels as Int32Array), ...(halves[1]!.labels as Int32Array)]),
    batchSize: 4,
    seqLen: 9,
  };
  const a = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 2 });
  await new Trainer({ model: a, optimizer: { name: 'sgd', lr: 0.3 }, gradientAccumulation: 2 }).step(halves);
  const b = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 2 });
  await new Trainer({ model: b, optimizer: { name: 'sgd', lr: 0.3 } }).step(whole);
  const pa = await snapshot(a, `${dir}/a`);
  const pb = await snapshot(b, `${dir}/b`);
  const { worst } = worstDiff(pa, pb);
  t.ok(worst < 1e-6, `max weight difference ${worst}`);
  a.dispose();
  b.dispose();
});

t.test('a non-finite loss skips the update, is counted, and stops training after maxNonFiniteSteps', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await createModel(cfg, { task: 'regression', seed: 4 });
  const good = randomBatch({ task: 'regression', lengths: [5, 5], seqLen: 5 });
  const bad = { ...good, labels: Float32Array.from([3e38, -3e38]) };
  const tr = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 }, maxNonFiniteSteps: 3 });
  await tr.step(good);
  const before = await snapshot(model, `${dir}/before`);
  const r1 = await tr.step(bad);
  t.equal(r1.skipped, true);
  t.notOk(Number.isFinite(r1.loss));
  const r2 = await tr.step(bad);
  t.equal(r2.skipped, true);
  t.equal(tr.state.consecutiveNonFinite, 2);
  await t.rejects(tr.step(bad), { code: 'ERR_NON_FINITE', message: /3 steps in a row.*weights are intact/ });
  const after = await snapshot(model, `${dir}/after`);
  for (const [k, v] of before) t.equal(maxDiff(v, after.get(k)!), 0, `${k} untouched`);
  t.equal(tr.state.skippedSteps, 3);
  model.dispose();
});

t.test('fit: checkpoints, callbacks, and a resumed run repeats the uninterrupted loss curve bit for bit', { skip }, async (t) => {
  const out = t.testdir();
  const dropCfg = tinyConfig('bert', { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });
  const batches = [1, 2, 3, 4, 5].map((s) => randomBatch({ task: 'sequence-classification', lengths: [9, 7, 5, 3], seqLen: 9, seed: s }));
  const method = { name: 'freelb', steps: 2, initMag: 0.5 } as const;
  const run = async (resume?: string) => {
    const model = await createModel(dropCfg, { task: 'sequence-classification', numLabels: 3, seed: 1 });
    const losses: number[] = [];
    const saved: string[] = [];
    const trainer = new Trainer({
      model,
      method,
      optimizer: { name: 'adamw', lr: 1e-3 },
      scheduler: { name: 'linear', warmupSteps: 2 },
      callbacks: [{ onStepEnd: (_s, _c, r: StepResult) => void losses.push(r.loss), onSave: (_s, _c, d) => void saved.push(d) }],
    });
    const res = await trainer.fit(batches, { maxSteps: 8, saveEvery: 3, outputDir: resume ? `${out}/b` : `${out}/a`, resumeFrom: resume });
    model.dispose();
    return { losses, saved, res };
  };
  const full = await run();
  t.equal(full.losses.length, 8);
  t.same(full.saved.map((d) => d.split('/').pop()), ['checkpoint-3', 'checkpoint-6', 'checkpoint-8']);
  t.equal(full.res.stopReason, 'maxSteps');
  t.equal(full.res.state.epoch, 1, 'second epoch');
  t.equal(full.res.state.batchInEpoch, 3);
  const resumed = await run(`${out}/a/checkpoint-3`);
  t.same(resumed.losses, full.losses.slice(3), 'steps 4..8 are identical to the uninterrupted run');
});

t.test('an aborted fit finishes the step, saves a checkpoint and returns', { skip }, async (t) => {
  const out = t.testdir();
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const ac = new AbortController();
  const trainer = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 }, callbacks: [{ onStepEnd: (s) => (s.globalStep === 2 ? ac.abort() : undefined) }] });
  const res = await trainer.fit([batch, batch, batch, batch], { epochs: 3, outputDir: out, signal: ac.signal });
  t.equal(res.stopReason, 'aborted');
  t.equal(res.state.globalStep, 2);
  const again = await loadModel(`${out}/checkpoint-2`);
  t.equal(again.numParameters(), model.numParameters());
  model.dispose();
  again.dispose();
});

t.test('trainer refuses bad options and disposed models', { skip }, async (t) => {
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  t.throws(() => new Trainer({ model, optimizer: { name: 'adam', lr: 1 } as never }), { message: /optimizer\.name/ });
  t.throws(() => new Trainer({ model, optimizer: { name: 'adamw', lr: -1 } }), { message: /optimizer\.lr/ });
  t.throws(() => new Trainer({ model, method: { name: 'freelb', stpes: 2 } as never, optimizer: { name: 'adamw', lr: 1 } }), { message: /method\.stpes/ });
  if (!info().cpuBf16) t.throws(() => new Trainer({ model, optimizer: { name: 'adamw', lr: 1 }, precision: 'bf16' }), { message: /'fp32' on the CPU/ });
  const tr = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 } });
  await t.rejects(tr.step({ ...batch, labels: undefined }), { code: 'ERR_INVALID_ARG', message: /batch\.labels/ });
  await tr.step(batch);
  model.dispose();
  await t.rejects(tr.step(batch), { code: 'ERR_DISPOSED', message: /Trainer's model has been disposed/ });
});

t.test('a disposed trainer refuses step and fit with ERR_DISPOSED instead of starting afresh', { skip }, async (t) => {
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const tr = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 }, scheduler: { name: 'constant' } });
  t.equal((await tr.step(batch)).step, 1);
  tr.dispose();
  await t.rejects(tr.step(batch), { code: 'ERR_DISPOSED', message: /Trainer has been disposed/ });
  await t.rejects(tr.fit([batch]), { code: 'ERR_DISPOSED' });
  t.throws(() => tr.lr, { code: 'ERR_DISPOSED' });
  tr.dispose();
  model.dispose();
});

t.test('fit: evalData may be a BatchLoader; anything else is refused at the call', { skip }, async (t) => {
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const items = [3, 5, 7, 4, 6, 2].map((n, i) => ({ ids: Array.from({ length: n }, (_, k) => 5 + ((i * 7 + k) % 20)), typeIds: new Array<number>(n).fill(0), label: i % 3, length: n }));
  const loader = new BatchLoader(items, (xs) => collateTexts(xs, { padId: 0 }), { batchSize: 4, seed: 1 });
  const tr = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 } });
  const res = await tr.fit(loader, { maxSteps: 2, evalData: loader, evalEvery: 1 });
  t.equal(res.evalMetrics?.examples, 6, 'every item evaluated');
  t.equal(typeof res.evalMetrics?.accuracy, 'number');
  await t.rejects(tr.fit(loader, { maxSteps: 2, evalData: 42 as never }), { code: 'ERR_INVALID_ARG', message: /options\.evalData/ });
  await t.rejects(tr.fit(loader, { maxSteps: 2, evalEvery: 1 }), { code: 'ERR_INVALID_ARG', message: /evaluation data when evalEvery is set/ });
  tr.dispose();
  model.dispose();
});

t.test('fit({ outputDir }): metrics.jsonl, a reused folder refused, overwriteOutputDir, saveTotalLimit', { skip }, async (t) => {
  const out = t.testdir();
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const fit = (opts: Record<string, unknown>) => new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 } }).fit([batch, batch], { maxSteps: 4, saveEvery: 1, ...opts });
  await fit({ outputDir: out, saveTotalLimit: 2 });
  const log = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.same(log.filter((e) => e.type === 'step').map((e) => e.step), [1, 2, 3, 4]);
  t.ok(log.filter((e) => e.type === 'step').every((e) => typeof e.loss === 'number' && typeof e.epoch === 'number'));
  t.same(log.filter((e) => e.type === 'save').map((e) => e.step), [1, 2, 3, 4]);
  t.same(readdirSync(out).filter((n) => n.startsWith('checkpoint-')).sort(), ['checkpoint-3', 'checkpoint-4'], 'the newest two');
  await t.rejects(fit({ outputDir: out }), { code: 'ERR_INVALID_ARG', message: /holds another run.*overwriteOutputDir: true/ });
  await fit({ outputDir: out, maxSteps: 1, overwriteOutputDir: true });
  t.same(readdirSync(out).filter((n) => n.startsWith('checkpoint-')), ['checkpoint-1']);
  t.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').filter((l) => l.includes('"type":"step"')).length, 1);
  await t.rejects(fit({ outputDir: join(out, 'x'), saveTotalLimit: 0 }), { code: 'ERR_INVALID_ARG', message: /saveTotalLimit/ });
  model.dispose();
});

t.test('resume: a damaged trainer_state.json or missing state tensors are ERR_CHECKPOINT', { skip }, async (t) => {
  const out = t.testdir();
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const make = () => new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 } });
  await make().fit([batch, batch], { maxSteps: 2, saveEvery: 1, outputDir: join(out, 'run') });
  const ckpt = join(out, 'run', 'checkpoint-1');
  const file = join(ckpt, 'trainer_state.json');
  const good = readFileSync(file, 'utf8');
  const saved = JSON.parse(good);
  for (const [damaged, message] of [
    ['[]', /the file should be a JSON object/],
    [JSON.stringify({ ...saved, state: null }), /state should be an object/],
    [JSON.stringify({ ...saved, state: { ...saved.state, globalStep: -1 } }), /state\.globalStep should be an integer >= 0/],
    [JSON.stringify({ ...saved, state: { ...saved.state, logHistory: {} } }), /state\.logHistory should be an array/],
    [JSON.stringify({ ...saved, config: { ...saved.config, method: 'vanilla' } }), /config\.method should be an object/],
    [JSON.stringify({ ...saved, config: undefined }), /config should be an object/],
  ] as const) {
    writeFileSync(file, damaged);
    await t.rejects(make().fit([batch, batch], { maxSteps: 2, resumeFrom: ckpt }), { code: 'ERR_CHECKPOINT', message }, String(message));
  }
  writeFileSync(file, good);
  rmSync(join(ckpt, 'trainer_state.safetensors'));
  await t.rejects(make().fit([batch, batch], { maxSteps: 2, resumeFrom: ckpt }), { code: 'ERR_CHECKPOINT', message: /trainer_state\.safetensors: not found/ });
  model.dispose();
});
