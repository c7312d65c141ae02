// SGD steps (lr 0.1, no clipping) of every method against the float64 loops run in transformers by
// test/fixtures/make_method_fixtures.py, random starts included (the Python draws reach advtrain through
// the setNextRandomDraws test hook): every weight and the method's state (TextAT's table, SMART's
// teacher, R4F's W_orig, u and v, InfoBERT's critic) within 1e-6, every reported figure within 1e-5 relative
// (or meta.json's metricAbsTol absolute, for a figure that is a near-cancelling difference).
import { basename, join, resolve } from 'node:path';
import t from 'tap';
import { loadModel } from '../../lib/model/model.js';
import type { MethodConfig } from '../../lib/train/methods.js';
import { Trainer, setNextRandomDraws, type RandomDraws } from '../../lib/train/trainer.js';
import { Fixture, fixtureFolders, readJson } from '../helpers/fixtures.js';
import { nativeSkipReason } from '../helpers/native.js';
import { readParams, snapshot } from '../helpers/params.js';

const skip = nativeSkipReason();
const WEIGHT_TOL = 1e-6;
const METRIC_REL_TOL = 1e-5;

interface Meta {
  method: string;
  model: string;
  options: Record<string, unknown>;
  start: 'uniform' | 'normal' | null;
  table: boolean;
  sgd: { steps: number };
  /** Micro-batches of consecutive rows (gradient accumulation); 1 when absent. */
  microBatches?: number;
  /** Figures compared to this absolute tolerance instead (a near-cancelling difference: InfoBERT's lowerBound). */
  metricAbsTol?: Record<string, number>;
}

function worstAbs(got: Float64Array, want: Float64Array): number {
  if (got.length !== want.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i]! - want[i]!));
  return m;
}

for (const dir of fixtureFolders('methods')) {
  const name = basename(dir);
  t.test(`${name}: advtrain equals the transformers loop`, { skip }, async (t) => {
    const meta = readJson(join(dir, 'meta.json')) as unknown as Meta;
    const metrics = readJson(join(dir, 'metrics.json')) as Record<string, number>;
    const inputs = new Fixture(join(dir, 'inputs.safetensors'));
    const after = new Fixture(join(dir, 'after.safetensors'));
    const model = await loadModel(resolve(dir, meta.model));
    const [B, L] = inputs.shape('input_ids') as [number, number];
    const E = model.config.embeddingSize;
    const batch = { inputIds: inputs.i32('input_ids'), attentionMask: inputs.i32('attention_mask'), tokenTypeIds: inputs.i32('token_type_ids'), labels: inputs.i32('labels'), batchSize: B, seqLen: L };
    const parts = meta.microBatches ?? 1;
    const rows = B / parts;
    const micro = Array.from({ length: parts }, (_, i) => ({
      inputIds: batch.inputIds.subarray(i * rows * L, (i + 1) * rows * L),
      attentionMask: batch.attentionMask.subarray(i * rows * L, (i + 1) * rows * L),
      tokenTypeIds: batch.tokenTypeIds.subarray(i * rows * L, (i + 1) * rows * L),
      labels: batch.labels.subarray(i * rows, (i + 1) * rows),
      batchSize: rows,
      seqLen: L,
    }));
    const method = { name: meta.method, ...meta.options } as unknown as MethodConfig;
    const trainer = new Trainer({ model, method, optimizer: { name: 'sgd', lr: 0.1 }, maxGradNorm: 0, gradientAccumulation: parts });
    const start = meta.start ? inputs.f64('start') : undefined;
    let r: Awaited<ReturnType<Trainer['step']>> | undefined;
    for (let s = 0; s < meta.sgd.steps; s++) {
      const draws: RandomDraws = {};
      if (start) draws.start = { data: Float32Array.from(start.subarray(s * B * L * E, (s + 1) * B * L * E)), shape: [B, L, E] };
      if (meta.table && s === 0) draws.table = { data: Float32Array.from(inputs.f64('table')), shape: inputs.shape('table') as [number, number] };
      if (inputs.names().includes('spectral_u') && s === 0) {
        draws.spectralU = { data: Float32Array.from(inputs.f64('spectral_u')), shape: inputs.shape('spectral_u') as [number] };
        draws.spectralV = { data: Float32Array.from(inputs.f64('spectral_v')), shape: inputs.shape('spectral_v') as [number] };
      }
      if (inputs.names().includes('estimator') && s === 0) draws.estimator = { data: Float32Array.from(inputs.f64('estimator')), shape: inputs.shape('estimator') as [number] };
      if (inputs.names().includes('indices')) {
        const [, K, NL] = inputs.shape('indices') as [number, number, number];
        draws.indices = { data: Float32Array.from(inputs.f64('indices').subarray(s * K * NL, (s + 1) * K * NL)), shape: [K, NL] };
      }
      if (draws.start || draws.table || draws.spectralU || draws.estimator || draws.indices) setNextRandomDraws(trainer, draws);
      r = await trainer.step(parts === 1 ? batch : micro);
    }

    const params = await snapshot(model, join(t.testdir(), 'model'));
    const paramNames = after.names().filter((k) => !k.startsWith('state.'));
    let worst = 0;
    let worstName = '';
    for (const key of paramNames) {
      const d = worstAbs(params.get(key)!, after.f64(key));
      if (d > worst) [worst, worstName] = [d, key];
    }
    t.equal(params.size, paramNames.length, 'every parameter compared');
    t.ok(worst < WEIGHT_TOL, `max abs weight error ${worst.toExponential(2)} (${worstName})`);

    const stateNames = after.names().filter((k) => k.startsWith('state.'));
    if (stateNames.length > 0) {
      const ck = await trainer.saveCheckpoint(join(t.testdir(), 'ck'));
      const state = readParams(join(ck, 'trainer_state.safetensors'));
      let worstState = 0;
      let worstStateName = '';
      for (const key of stateNames) {
        const got = state.get(`method.${key.slice('state.'.length)}`);
        const d = got ? worstAbs(got, after.f64(key)) : Number.POSITIVE_INFINITY;
        if (d > worstState) [worstState, worstStateName] = [d, key];
      }
      t.ok(worstState < WEIGHT_TOL, `max abs method-state error ${worstState.toExponential(2)} over ${stateNames.length} tensors (${worstStateName})`);
    }

    for (const [k, want] of Object.entries(metrics)) {
      const got = r![k] as number | undefined;
      const rel = got === undefined ? Number.POSITIVE_INFINITY : Math.abs(got - want) / Math.abs(want);
      const abs = meta.metricAbsTol?.[k];
      if (abs !== undefined) t.ok(got !== undefined && Math.abs(got - want) < abs, `${k} ${got} vs ${want} (absolute error ${got === undefined ? 'none' : Math.abs(got - want).toExponential(2)}, tolerance ${abs})`);
      else t.ok(rel < METRIC_REL_TOL, `${k} ${got} vs ${want} (relative error ${rel.toExponential(2)})`);
    }
    model.dispose();
  });
}

t.test('supplied random draws are checked against the shape the method draws', { skip }, async (t) => {
  const dir = fixtureFolders('methods').find((d) => basename(d) === 'textat')!;
  const inputs = new Fixture(join(dir, 'inputs.safetensors'));
  const model = await loadModel(resolve(dir, '../../parity/bert-sequence-classification'));
  const batch = { inputIds: inputs.i32('input_ids'), attentionMask: inputs.i32('attention_mask'), tokenTypeIds: inputs.i32('token_type_ids'), labels: inputs.i32('labels'), batchSize: 4, seqLen: 10 };
  const trainer = new Trainer({ model, method: { name: 'textat', initMag: 0.1 }, optimizer: { name: 'sgd', lr: 0.1 } });
  setNextRandomDraws(trainer, { start: { data: new Float32Array(4 * 9 * 32), shape: [4, 9, 32] } });
  await t.rejects(trainer.step(batch), { code: 'ERR_INVALID_ARG', message: /random start draw has shape \[4, 9, 32\], expected \[4, 10, 32\]/ });
  setNextRandomDraws(trainer, { table: { data: new Float32Array(10 * 32), shape: [10, 32] } });
  await t.rejects(trainer.step(batch), { code: 'ERR_INVALID_ARG', message: /TextAT table draw has shape \[10, 32\], expected \[97, 32\]/ });
  t.throws(() => setNextRandomDraws(trainer, { start: { data: new Float32Array(3), shape: [4, 10, 32] } }), { code: 'ERR_INVALID_ARG' });
  const ok = await trainer.step(batch);
  t.ok(Number.isFinite(ok.loss), 'a refused draw is not kept for the next step');
  const accumulating = new Trainer({ model, method: { name: 'pgd', initMag: 0.1 }, optimizer: { name: 'sgd', lr: 0.1 }, gradientAccumulation: 2 });
  setNextRandomDraws(accumulating, { start: { data: new Float32Array(4 * 10 * 32), shape: [4, 10, 32] } });
  await t.rejects(accumulating.step([batch, batch]), { code: 'ERR_INVALID_ARG', message: /exactly one micro-batch/ });
  model.dispose();
});
