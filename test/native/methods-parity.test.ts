// One SGD step (lr 0.1, no clipping) of each adversarial method against the float64 reference loops of
// test/fixtures/make_method_fixtures.py: every updated weight within 1e-4, and the step's figures.
import { basename, join, resolve } from 'node:path';
import t from 'tap';
import { loadModel } from '../../lib/model/model.js';
import type { MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { Fixture, fixtureFolders, readJson } from '../helpers/fixtures.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff, snapshot } from '../helpers/params.js';

const skip = nativeSkipReason();

for (const dir of fixtureFolders('methods')) {
  const name = basename(dir);
  t.test(`${name}: one step equals the reference loop`, { skip }, async (t) => {
    const meta = readJson(join(dir, 'meta.json')) as { method: string; model: string; params: Record<string, unknown> };
    const metrics = readJson(join(dir, 'metrics.json')) as Record<string, number>;
    const inputs = new Fixture(join(dir, 'inputs.safetensors'));
    const after = new Fixture(join(dir, 'after.safetensors'));
    const model = await loadModel(resolve(dir, meta.model));
    const [B, L] = inputs.shape('input_ids') as [number, number];
    const batch = { inputIds: inputs.i32('input_ids'), attentionMask: inputs.i32('attention_mask'), tokenTypeIds: inputs.i32('token_type_ids'), labels: inputs.i32('labels'), batchSize: B, seqLen: L };
    const method = { name: meta.method, ...meta.params } as unknown as MethodConfig;
    if (method.name === 'freelb') Object.assign(method, { syncDropout: true });
    const trainer = new Trainer({ model, method, optimizer: { name: 'sgd', lr: 0.1 }, maxGradNorm: 0 });
    const noise = inputs.has('noise') ? Float32Array.from(inputs.f64('noise')) : undefined;
    const r = await trainer.step(batch, noise ? { initialPerturbation: noise } : {});
    const params = await snapshot(model, t.testdir());
    let worst = 0;
    let worstName = '';
    for (const key of after.names()) {
      const d = maxDiff(params.get(key)!, after.f64(key));
      if (d > worst) [worst, worstName] = [d, key];
    }
    t.equal(params.size, after.names().length, 'every parameter compared');
    t.ok(worst < 1e-4, `max abs weight error ${worst.toExponential(2)} (${worstName})`);
    t.ok(Math.abs(r.loss - metrics.loss!) < 1e-5, `loss ${r.loss} vs ${metrics.loss}`);
    for (const k of ['cleanLoss', 'deltaNorm', 'repCos'] as const) {
      if (metrics[k] !== undefined) t.ok(Math.abs((r[k] as number) - metrics[k]!) < 1e-5, `${k} ${r[k]} vs ${metrics[k]}`);
    }
    if (metrics.advLoss !== undefined) {
      // SMART's regulariser is ~1e-5: compare relatively (the fixture README explains why).
      const rel = Math.abs((r.advLoss as number) - metrics.advLoss) / Math.max(Math.abs(metrics.advLoss), 1e-12);
      t.ok(rel < 1e-3 || Math.abs((r.advLoss as number) - metrics.advLoss) < 1e-6, `advLoss ${r.advLoss} vs ${metrics.advLoss}`);
    }
    model.dispose();
  });
}
