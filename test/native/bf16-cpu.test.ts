import { join } from 'node:path';
import t from 'tap';
import { info } from '../../lib/info.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { createModel } from '../../lib/model/model.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { snapshot } from '../helpers/params.js';

const skip = nativeSkipReason();
const bf16 = skip ? false : info().cpuBf16;
const cfg = tinyConfig('bert');
const batch = randomBatch({ task: 'sequence-classification', lengths: [9, 6, 4, 8], seqLen: 9, seed: 3 });

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

t.test('bf16 on the CPU is refused with the reason where this build or CPU cannot run it', { skip: skip || (bf16 && 'this build and CPU run bf16 on the CPU') }, async (t) => {
  const reason = info().cpuBf16Reason;
  t.match(reason, /libtorch >= 2|avx512_bf16/);
  const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3 });
  const escaped = reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  t.throws(() => new Trainer({ model, optimizer: { name: 'sgd', lr: 1 }, precision: 'bf16' }), {
    code: 'ERR_INVALID_ARG',
    message: new RegExp(`'fp32' on the CPU \\(${escaped}\\) for options\\.precision`),
  });
  await t.rejects(model.forward(batch, { precision: 'bf16' }), { code: 'ERR_INVALID_ARG', message: /options\.precision/ });
  model.dispose();
});

t.test('a bf16 CPU step is within 1e-2 of the fp32 one and keeps fp32 master weights', { skip: skip || (!bf16 && `no bf16 on the CPU here: ${info().cpuBf16Reason}`) }, async (t) => {
  const dir = t.testdir();
  t.ok(info().cpuBf16Flags.length > 0, `flags ${info().cpuBf16Flags.join(' ')}`);
  // SGD with a learning rate whose updates (~1e-6) are far below a bf16 ulp of the weights (~1e-4 at 0.02):
  // bf16 master weights would lose them, fp32 ones keep them.
  const run = async (precision: 'fp32' | 'bf16', tag: string) => {
    const model = await createModel(cfg, { task: 'sequence-classification', numLabels: 3, seed: 5 });
    const before = await snapshot(model, join(dir, `${tag}0`));
    const trainer = new Trainer({ model, optimizer: { name: 'sgd', lr: 1e-4 }, maxGradNorm: 0, precision, seed: 1 });
    const res = await trainer.step(batch);
    const after = await snapshot(model, join(dir, `${tag}1`));
    const logits = (await model.forward(batch, { precision })).logits;
    trainer.dispose();
    model.dispose();
    return { loss: res.loss, update: delta(after, before), logits };
  };
  const fp = await run('fp32', 'f');
  const bf = await run('bf16', 'b');
  const lossRel = Math.abs(bf.loss - fp.loss) / Math.abs(fp.loss);
  t.ok(lossRel < 1e-2, `loss fp32 ${fp.loss} bf16 ${bf.loss}: relative ${lossRel.toExponential(2)}`);
  const updRel = relDiff(bf.update, fp.update);
  // Above fp32 rounding (the step did compute in bf16), well below the update itself.
  t.ok(updRel > 1e-5 && updRel < 5e-2, `weight update relative difference ${updRel.toExponential(2)}`);
  let maxLogit = 0;
  for (let i = 0; i < fp.logits.length; i++) maxLogit = Math.max(maxLogit, Math.abs(bf.logits[i]! - fp.logits[i]!));
  t.ok(maxLogit < 5e-2, `forward logits max difference ${maxLogit.toExponential(2)}`);
  const dtypes = new Set([...readSafetensorsHeader(join(dir, 'b1', 'model.safetensors')).tensors.values()].map((e) => e.dtype));
  t.same([...dtypes], ['F32'], 'saved master weights are float32');
});
