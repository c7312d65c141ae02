// bf16 on the CPU: refused with the reason where the build or the CPU cannot run it; where it runs (bf16
// units, or ADVTRAIN_CPU_BF16=emulate on libtorch >= 2, so every 2.x build in CI checks the numerics) one
// bf16 step of each case is within bf16 tolerance of the fp32 one and keeps fp32 master weights.
import { join } from 'node:path';
import t from 'tap';
import { info } from '../../lib/info.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { createModel } from '../../lib/model/model.js';
import type { MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { snapshot } from '../helpers/params.js';

const skip = nativeSkipReason();
delete process.env.ADVTRAIN_CPU_BF16;
const hardware = skip ? false : info().cpuBf16;
const torchMajor = skip ? 0 : Number(info().torchVersion.split('.')[0]);
const cfg = tinyConfig('bert');
// Padded rows: the Trainer's default skipPadding packs them, so the packed path runs in bf16 too.
const batch = randomBatch({ task: 'sequence-classification', lengths: [9, 6, 4, 8], seqLen: 9, seed: 3 });

/** Runs fn with ADVTRAIN_CPU_BF16=emulate where the CPU has no bf16 units (the variable is read per call). */
async function withBf16<T>(fn: () => Promise<T>): Promise<T> {
  if (!hardware) process.env.ADVTRAIN_CPU_BF16 = 'emulate';
  try {
    return await fn();
  } finally {
    delete process.env.ADVTRAIN_CPU_BF16;
  }
}

/** ||a - b|| / ||b|| over every element of every tensor. */
function relDiff(a: Map<string, Float64Array>, b: Map<string, Float64Array>): number {
  let num = 0;
  let den = 0;
  for (const [k, vb] of b) {
    const va = a.get(k)!;
    for (let i = 0; i < vb.length; i++) {
      num += (va[i]! - vb[i]!) ** 2;
      den += vb[i]! ** 2;
    }
  }
  return Math.sqrt(num / den);
}

function delta(after: Map<string, Float64Array>, before: Map<string, Float64Array>): Map<string, Float64Array> {
  return new Map([...after].map(([k, v]) => [k, v.map((x, i) => x - before.get(k)![i]!)]));
}

t.test('bf16 on the CPU is refused with the reason where this build or CPU cannot run it', { skip: skip || (hardware && 'this build and CPU run bf16 on the CPU') }, async (t) => {
  const reason = info().cpuBf16Reason;
  t.match(reason, /libtorch >= 2|avx512_bf16/);
  t.equal(info().cpuBf16Emulated, false);
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const escaped = reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.throws(() => new Trainer({ model, optimizer: { name: 'sgd', lr: 1 }, precision: 'bf16' }), {
    code: 'ERR_INVALID_ARG',
    message: new RegExp(`'fp32' on the CPU \\(${escaped}\\) for options\\.precision`),
  });
  await t.rejects(model.forward(batch, { precision: 'bf16' }), { code: 'ERR_INVALID_ARG', message: /options\.precision/ });
  // ADVTRAIN_CPU_BF16=emulate lifts the refusal on libtorch >= 2 only (1.13's bf16 kernels are not checked).
  process.env.ADVTRAIN_CPU_BF16 = 'emulate';
  try {
    t.equal(info().cpuBf16, torchMajor >= 2, `emulate on libtorch ${info().torchVersion}`);
    t.equal(info().cpuBf16Emulated, torchMajor >= 2);
    if (torchMajor < 2) t.throws(() => new Trainer({ model, optimizer: { name: 'sgd', lr: 1 }, precision: 'bf16' }), { code: 'ERR_INVALID_ARG' });
  } finally {
    delete process.env.ADVTRAIN_CPU_BF16;
  }
  t.equal(info().cpuBf16, false, 'refused again once the variable is gone');
  model.dispose();
});

const cases: { name: string; method: MethodConfig; skipPadding: boolean }[] = [
  { name: 'vanilla', method: { name: 'vanilla' }, skipPadding: true },
  { name: 'vanilla through the padding', method: { name: 'vanilla' }, skipPadding: false },
  { name: 'freelb', method: { name: 'freelb', steps: 2, stepSize: 0.03, epsilon: 0.1, initMag: 0.03 }, skipPadding: true },
  { name: 'smart', method: { name: 'smart', steps: 1, noiseStd: 0.01, stepSize: 0.01 }, skipPadding: true },
  // Every other method, with attacks large enough to show in bf16 (each has its own casts: CreAT's
  // representation cosine, TextAT's table, InfoBERT's critic and anchors, YOPO's layer-0 Hamiltonian).
  { name: 'pgd', method: { name: 'pgd', steps: 2, stepSize: 0.03, epsilon: 0.1, initMag: 0.03, cleanWeight: 0.5 }, skipPadding: true },
  { name: 'creat', method: { name: 'creat', steps: 1, stepSize: 0.03, epsilon: 0.1, initMag: 0.03 }, skipPadding: true },
  { name: 'rpt', method: { name: 'rpt', noiseStd: 0.01 }, skipPadding: true },
  { name: 'alum', method: { name: 'alum', steps: 1, noiseStd: 0.01, stepSize: 0.01 }, skipPadding: true },
  { name: 'textat', method: { name: 'textat', steps: 2, stepSize: 0.03, epsilon: 0.1, initMag: 0.03 }, skipPadding: true },
  { name: 'freeat', method: { name: 'freeat', replays: 2, stepSize: 0.03, epsilon: 0.1 }, skipPadding: true },
  { name: 'yopo', method: { name: 'yopo', outer: 2, inner: 2, stepSize: 0.03, epsilon: 0.1 }, skipPadding: true },
  { name: 'sift', method: { name: 'sift', stepSize: 1e-2, initPerturbation: 1e-2 }, skipPadding: true },
  { name: 'infobert', method: { name: 'infobert', steps: 2, stepSize: 0.03, initMag: 0.03, beta: 0.05, alpha: 0.5, anchorBatch: 4 }, skipPadding: true },
];

t.test('a bf16 CPU step is within 1e-2 of the fp32 one and keeps fp32 master weights', { skip: skip || (torchMajor < 2 && !hardware && `no bf16 on the CPU here: ${info().cpuBf16Reason}`) }, async (t) => {
  const dir = t.testdir();
  if (hardware) t.ok(info().cpuBf16Flags.length > 0, `flags ${info().cpuBf16Flags.join(' ')}`);
  else t.comment('emulated bf16 (ADVTRAIN_CPU_BF16=emulate): this CPU has no bf16 units');
  // SGD with a learning rate whose updates (~1e-6) are far below a bf16 ulp of the weights (~1e-4 at 0.02):
  // bf16 master weights would lose them, fp32 ones keep them.
  const run = async (c: (typeof cases)[number], precision: 'fp32' | 'bf16', tag: string) => {
    const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 5 });
    const before = await snapshot(model, join(dir, `${tag}0`));
    const trainer = new Trainer({ model, method: c.method, optimizer: { name: 'sgd', lr: 1e-4 }, maxGradNorm: 0, precision, seed: 1, skipPadding: c.skipPadding });
    const res = await trainer.step(batch);
    const after = await snapshot(model, join(dir, `${tag}1`));
    const logits = (await model.forward(batch, { precision })).logits;
    trainer.dispose();
    model.dispose();
    return { loss: res.loss, update: delta(after, before), logits };
  };
  for (const [i, c] of cases.entries()) {
    const fp = await run(c, 'fp32', `f${i}-`);
    const bf = await withBf16(() => run(c, 'bf16', `b${i}-`));
    const lossRel = Math.abs(bf.loss - fp.loss) / Math.abs(fp.loss);
    t.ok(lossRel < 1e-2, `${c.name}: loss fp32 ${fp.loss} bf16 ${bf.loss}: relative ${lossRel.toExponential(2)}`);
    const updRel = relDiff(bf.update, fp.update);
    // Above fp32 rounding (the step did compute in bf16), well below the update itself.
    t.ok(updRel > 1e-5 && updRel < 5e-2, `${c.name}: weight update relative difference ${updRel.toExponential(2)}`);
    let maxLogit = 0;
    for (let k = 0; k < fp.logits.length; k++) maxLogit = Math.max(maxLogit, Math.abs(bf.logits[k]! - fp.logits[k]!));
    t.ok(maxLogit < 5e-2, `${c.name}: forward logits max difference ${maxLogit.toExponential(2)}`);
    const dtypes = new Set([...readSafetensorsHeader(join(dir, `b${i}-1`, 'model.safetensors')).tensors.values()].map((e) => e.dtype));
    t.same([...dtypes], ['F32'], `${c.name}: saved master weights are float32`);
  }
});
