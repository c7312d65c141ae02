// DeBERTa-v2 under every adversarial method (parity with transformers is parity.test.ts's deberta-v2-*
// fixtures): each method's perturbation points (word embeddings before the embedding LayerNorm, the
// embedding output, a layer's output for ALUM, yopo's first-layer recomputation) reach DeBERTa's encoder.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Task } from '../../lib/model/config.js';
import { createModel, loadModel } from '../../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { worstDiff, snapshot } from '../helpers/params.js';

const skip = nativeSkipReason();

// Every DeBERTa option at once: p2c + c2p with log buckets, shared keys, normalised relative embeddings,
// the ConvLayer, embed_proj (E 16 != H 32), absolute positions and token types, dropout on.
const config = tinyConfig('deberta-v2', {
  embedding_size: 16, relative_attention: true, pos_att_type: ['p2c', 'c2p'], position_buckets: 6, share_att_key: true,
  norm_rel_ebd: 'layer_norm', conv_kernel_size: 3, conv_groups: 2, position_biased_input: true, type_vocab_size: 2,
  hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
});

t.test('every method takes a step on DeBERTa-v2: finite loss, the weights change', { skip }, async (t) => {
  const dir = t.testdir();
  const b = randomBatch({ task: 'sequence-classification', lengths: [9, 7, 4, 2], seqLen: 9, seed: 5, types: true, numLabels: 3 });
  const methods: MethodConfig[] = [...METHOD_NAMES.map((name) => ({ name }) as MethodConfig), { name: 'alum', perturbLayer: 1 }];
  for (const method of methods) {
    const label = method.name + ('perturbLayer' in method ? ` (perturbLayer ${method.perturbLayer})` : '');
    const m = await createModel(config, { task: 'sequence-classification', numLabels: 3, seed: 3 });
    const before = await snapshot(m, `${dir}/${label}-before`);
    const tr = new Trainer({ model: m, method, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 4 });
    const r = await tr.step(b);
    t.ok(Number.isFinite(r.loss) && !r.skipped, `${label}: loss ${r.loss.toFixed(5)} finite, not skipped`);
    if (r.deltaNorm !== undefined) t.ok(Number.isFinite(r.deltaNorm) && r.deltaNorm > 0, `${label}: deltaNorm ${r.deltaNorm}`);
    const after = await snapshot(m, `${dir}/${label}-after`);
    const { worst, where } = worstDiff(before, after);
    t.ok(worst > 0 && Number.isFinite(worst), `${label}: the weights changed (largest ${worst.toExponential(2)} in ${where})`);
    // The relative-position and conv parameters are trained too.
    for (const k of ['deberta.encoder.rel_embeddings.weight', 'deberta.encoder.conv.conv.weight', 'deberta.embeddings.embed_proj.weight']) {
      t.ok(worstDiff(new Map([[k, before.get(k)!]]), new Map([[k, after.get(k)!]])).worst > 0, `${label}: ${k} moved`);
    }
    tr.dispose();
    m.dispose();
  }
});

t.test('every DeBERTa-v2 head trains under an attack (pgd) and vanilla', { skip }, async (t) => {
  const tasks: Task[] = ['regression', 'multiple-choice', 'token-classification', 'question-answering', 'masked-lm'];
  for (const task of tasks) {
    const mc = task === 'multiple-choice';
    const b = randomBatch({ task, lengths: mc ? [8, 6, 5, 8, 7, 3] : [8, 6, 3], seqLen: 8, numChoices: mc ? 3 : undefined, types: true, seed: 7 });
    for (const name of ['vanilla', 'pgd'] as const) {
      const m = await createModel(config, { task, numLabels: 3, seed: 9 });
      const tr = new Trainer({ model: m, method: { name } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 } });
      const r1 = await tr.step(b);
      const r2 = await tr.step(b);
      t.ok(Number.isFinite(r1.loss) && Number.isFinite(r2.loss) && !r2.skipped, `${name} on ${task}: loss ${r1.loss.toFixed(4)} -> ${r2.loss.toFixed(4)}`);
      tr.dispose();
      m.dispose();
    }
  }
});

t.test("each method's perturbation reaches DeBERTa-v2's output (no dropout: only the perturbation moves the loss)", { skip }, async (t) => {
  const still = { ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
  const b = randomBatch({ task: 'sequence-classification', lengths: [9, 7, 4, 2], seqLen: 9, seed: 6, types: true, numLabels: 3 });
  const lossOf = async (method: MethodConfig) => {
    const m = await createModel(still, { task: 'sequence-classification', numLabels: 3, seed: 3 });
    const tr = new Trainer({ model: m, method, optimizer: { name: 'sgd', lr: 1e-3 }, seed: 4 });
    const r = await tr.step(b);
    tr.dispose();
    m.dispose();
    return r.loss;
  };
  const clean = await lossOf({ name: 'vanilla' });
  // rpt's default noise (1e-5) moves the loss by less than float32 resolves; 0.5 shows it.
  const methods = METHOD_NAMES.filter((n) => n !== 'vanilla').map((name) => (name === 'rpt' ? { name, noiseStd: 0.5 } : { name }) as MethodConfig);
  for (const method of [...methods, { name: 'alum', perturbLayer: 1 } as MethodConfig, { name: 'alum', perturbLayer: 2 } as MethodConfig]) {
    const loss = await lossOf(method);
    const label = method.name + ('perturbLayer' in method ? ` (perturbLayer ${method.perturbLayer})` : '');
    t.ok(Number.isFinite(loss) && Math.abs(loss - clean) > 1e-7, `${label}: loss ${loss.toFixed(7)} differs from the clean ${clean.toFixed(7)}`);
  }
});

t.test("a checkpoint's absolute positions are dropped silently when position_biased_input is false (transformers' _keys_to_ignore_on_load_unexpected)", { skip }, async (t) => {
  const dir = t.testdir();
  const withPositions = await createModel(tinyConfig('deberta-v2', { position_biased_input: true }), { task: 'token-classification', numLabels: 3, seed: 1 });
  await withPositions.save(dir);
  withPositions.dispose();
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, position_biased_input: false }));
  rmSync(join(dir, 'advtrain-manifest.json'), { force: true }); // as transformers writes a folder
  const m = await loadModel(dir);
  t.same(m.loadReport, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
  t.notOk(m.parameters().some((p) => p.name.includes('position_embeddings')));
  m.dispose();
});

// Encoder::perturbationWidth, which SMART and ALUM draw their noise with: H on DeBERTa (above), and H for
// ALUM's deeper layers on ELECTRA with embedding_size != hidden_size (the embedding output there is E wide).
t.test('ALUM on a layer output of ELECTRA with embedding_size 16 != hidden 32: noise as wide as the layer', { skip }, async (t) => {
  const b = randomBatch({ task: 'sequence-classification', lengths: [9, 7, 4, 2], seqLen: 9, seed: 6, types: true, numLabels: 3 });
  for (const perturbLayer of [0, 1, 2]) {
    const m = await createModel(tinyConfig('electra'), { task: 'sequence-classification', numLabels: 3, seed: 3 });
    const tr = new Trainer({ model: m, method: { name: 'alum', perturbLayer }, optimizer: { name: 'sgd', lr: 1e-3 }, seed: 4 });
    const r = await tr.step(b);
    t.ok(Number.isFinite(r.loss) && !r.skipped, `perturbLayer ${perturbLayer}: loss ${r.loss}`);
    t.same(tr.lastPerturbation()!.shape, [4, 9, perturbLayer === 0 ? 16 : 32]);
    tr.dispose();
    m.dispose();
  }
});
