// ALBERT's cross-layer sharing under training: every method steps on a grouped ALBERT and its shared tensors
// stay one tensor each; the gradient of a shared tensor is the sum over the layers that use it.
// (Numerics against transformers: parity.test.ts, hf-interop.test.ts, methods-parity.test.ts on methods/albert-*.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { MODEL_SIZES, type Task } from '../../lib/model/config.js';
import { createModel, loadModel } from '../../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig } from '../../lib/train/methods.js';
import { representationDeviation } from '../../lib/robustness/deviation.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff, snapshot } from '../helpers/params.js';
import { buildSafetensors } from '../helpers/safetensors.js';

const skip = nativeSkipReason();
// 4 layer applications over 2 groups of 2 inner layers (8 layer calls), E = 16 != H = 32, dropout on.
const grouped = tinyConfig('albert', { num_hidden_layers: 4, num_hidden_groups: 2, inner_group_num: 2, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });
const batch = randomBatch({ task: 'sequence-classification', lengths: [9, 7, 4, 2], seqLen: 9, seed: 41, types: true });

// Variants beyond the defaults: a random start for the attacks, ALUM's perturbation after layer call 5 of 8.
const attacks: MethodConfig[] = [
  { name: 'pgd', steps: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'freelb', steps: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'freeat', replays: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'yopo', outer: 2, inner: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'textat', steps: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'creat', steps: 2, stepSize: 0.5, epsilon: 0.2, initMag: 0.5 },
  { name: 'alum', perturbLayer: 5 },
];

t.test('a grouped ALBERT registers each group layer once, under transformers names', { skip }, async (t) => {
  const m = await createModel(grouped, { task: 'sequence-classification', numLabels: 3, seed: 1 });
  const names = m.parameters().map((p) => p.name);
  t.equal(new Set(names).size, names.length, 'no name twice');
  const layers = [...new Set(names.filter((n) => n.includes('albert_layers')).map((n) => n.replace(/\.(attention|ffn|ffn_output|full_layer_layer_norm)\..*$/, '')))];
  t.same(layers.sort(), ['0.0', '0.1', '1.0', '1.1'].map((gj) => `albert.encoder.albert_layer_groups.${gj.split('.')[0]}.albert_layers.${gj.split('.')[1]}`));
  t.ok(names.includes('albert.encoder.embedding_hidden_mapping_in.weight') && names.includes('albert.pooler.weight'));
  const out = await m.forward(batch, { outputHiddenStates: true, outputAttentions: true });
  t.equal(out.hiddenStates!.length, 9, 'mapped embeddings plus one state per layer call (4 x 2)');
  t.equal(out.attentions!.length, 8);
  m.dispose();
});

t.test('every method steps on a grouped ALBERT: finite loss, the shared weights change and stay shared', { skip }, async (t) => {
  const dir = t.testdir();
  const configs: MethodConfig[] = [...METHOD_NAMES.map((name) => ({ name }) as MethodConfig), ...attacks];
  for (const [i, method] of configs.entries()) {
    const label = `${method.name}${i >= METHOD_NAMES.length ? ' (variant)' : ''}`;
    const m = await createModel(grouped, { task: 'sequence-classification', numLabels: 3, seed: 2 });
    const before = await snapshot(m, join(dir, `${i}-before`));
    const tr = new Trainer({ model: m, method, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 3 });
    const r = await tr.step(batch);
    t.ok(Number.isFinite(r.loss) && !r.skipped, `${label}: loss ${r.loss} finite, not skipped`);
    const after = await snapshot(m, join(dir, `${i}-after`));
    for (const g of [0, 1]) {
      const k = `albert.encoder.albert_layer_groups.${g}.albert_layers.1.attention.query.weight`;
      t.ok(maxDiff(before.get(k)!, after.get(k)!) > 0, `${label}: group ${g} changed`);
    }
    const wk = 'albert.embeddings.word_embeddings.weight';
    t.ok(maxDiff(before.get(wk)!, after.get(wk)!) > 0, `${label}: the word embeddings changed`);
    // The forward computes with the tensors it saves (one per shared layer): the folder reloads to the same outputs.
    const reloaded = await loadModel(join(dir, `${i}-after`));
    const [a, b] = [await m.forward(batch), await reloaded.forward(batch)];
    t.equal(maxDiff(a.lastHiddenState, b.lastHiddenState), 0, `${label}: the saved folder computes the same hidden states`);
    reloaded.dispose();
    tr.dispose();
    m.dispose();
  }
});

t.test('every method trains every ALBERT head (grouped)', { skip }, async (t) => {
  const tasks: Task[] = ['regression', 'multiple-choice', 'token-classification', 'question-answering', 'masked-lm'];
  for (const task of tasks) {
    const mc = task === 'multiple-choice';
    const b = randomBatch({ task, lengths: mc ? [8, 6, 5, 8, 7, 3] : [8, 6, 3], seqLen: 8, numChoices: mc ? 3 : undefined, types: true, seed: 5 });
    for (const name of METHOD_NAMES) {
      const m = await createModel(grouped, { task, numLabels: 3, seed: 6 });
      if (name === 'sift' && task === 'regression') {
        // SiFT's symmetric KL of one output is always 0: refused.
        t.throws(() => new Trainer({ model: m, method: { name }, optimizer: { name: 'adamw', lr: 1e-3 } }), { code: 'ERR_INVALID_ARG' });
        m.dispose();
        continue;
      }
      const before = (await m.forward(b)).logits;
      const tr = new Trainer({ model: m, method: { name } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 } });
      const r = await tr.step(b);
      t.ok(Number.isFinite(r.loss) && !r.skipped, `${name} on ${task}: loss ${r.loss.toFixed(4)}`);
      t.ok(maxDiff(before, (await m.forward(b)).logits) > 0, `${name} on ${task}: the weights changed`);
      tr.dispose();
      m.dispose();
    }
  }
});

// Sharing means the gradient of a group tensor is the sum of its uses' gradients. Check it against the same
// network unshared and built by another code path: an ELECTRA token classifier (embeddings_project E -> H, post-LN
// layers, dropout 0, classifier on each token) holding ALBERT's weights, its 2 layers both copies of ALBERT's one
// shared layer, computes the same forward; one plain SGD step moves each of its layers by that layer's gradient,
// and ALBERT's step must be the sum of both.
function electraName(albertName: string, layer: number): string {
  const m = /^albert\.encoder\.albert_layer_groups\.0\.albert_layers\.0\.(.*)$/.exec(albertName);
  if (!m) return albertName.replace(/^albert\.encoder\.embedding_hidden_mapping_in\./, 'electra.embeddings_project.').replace(/^albert\./, 'electra.');
  const rest: Record<string, string> = { 'attention.query': 'attention.self.query', 'attention.key': 'attention.self.key', 'attention.value': 'attention.self.value', 'attention.dense': 'attention.output.dense', 'attention.LayerNorm': 'attention.output.LayerNorm', ffn: 'intermediate.dense', ffn_output: 'output.dense', full_layer_layer_norm: 'output.LayerNorm' };
  const [, tail] = m;
  const mod = tail!.replace(/\.(weight|bias)$/, '');
  return `electra.encoder.layer.${layer}.${rest[mod]}${tail!.slice(mod.length)}`;
}

t.test("one SGD step on ALBERT's shared layer equals the sum of the steps of the same layers unshared (an ELECTRA twin)", { skip }, async (t) => {
  const dir = t.testdir();
  const act = { hidden_act: 'gelu_new' };
  const a = await createModel(tinyConfig('albert', { num_hidden_layers: 2, num_hidden_groups: 1, classifier_dropout_prob: 0, ...act }), { task: 'token-classification', numLabels: 3, seed: 4 });
  const w0 = await snapshot(a, join(dir, 'albert-0'));
  const twin = join(dir, 'electra');
  mkdirSync(twin);
  const shapes = new Map(a.parameters().map((p) => [p.name, p.shape]));
  const tensors = [...w0].flatMap(([name, v]) => {
    const raw = (n: string) => ({ name: n, dtype: 'F32' as const, shape: shapes.get(name)!, data: new Uint8Array(Float32Array.from(v).buffer) });
    return name.includes('albert_layer_groups.') ? [raw(electraName(name, 0)), raw(electraName(name, 1))] : [raw(electraName(name, 0))];
  });
  writeFileSync(join(twin, 'model.safetensors'), buildSafetensors(tensors));
  writeFileSync(join(twin, 'config.json'), JSON.stringify({ ...tinyConfig('electra', act), architectures: ['ElectraForTokenClassification'], num_labels: 3 }));
  const b = await loadModel(twin);
  t.same([b.loadReport.missingKeys, b.loadReport.unexpectedKeys], [[], []], 'every ELECTRA parameter from ALBERT');
  const tok = randomBatch({ task: 'token-classification', lengths: [9, 7, 4, 2], seqLen: 9, seed: 42, types: true });
  t.ok(maxDiff((await a.forward(tok)).logits, (await b.forward(tok)).logits) < 1e-6, 'the same network');
  const sgd = { method: { name: 'vanilla' }, optimizer: { name: 'sgd', lr: 0.5 }, maxGradNorm: 0 } as const;
  const ra = await new Trainer({ model: a, ...sgd }).step(tok);
  const rb = await new Trainer({ model: b, ...sgd }).step(tok);
  t.ok(Math.abs(ra.loss - rb.loss) < 1e-6, `the same loss (${ra.loss}, ${rb.loss})`);
  const wa = await snapshot(a, join(dir, 'albert-1'));
  const wb = await snapshot(b, join(dir, 'electra-1'));
  let worst = 0;
  let moved = 0;
  for (const [name, v0] of w0) {
    const got = wa.get(name)!;
    if (!name.includes('albert_layer_groups.')) {
      worst = Math.max(worst, maxDiff(got, wb.get(electraName(name, 0))!));
      continue;
    }
    const l0 = wb.get(electraName(name, 0))!;
    const l1 = wb.get(electraName(name, 1))!;
    for (let i = 0; i < v0.length; i++) {
      worst = Math.max(worst, Math.abs(got[i]! - v0[i]! - (l0[i]! - v0[i]! + (l1[i]! - v0[i]!))));
      moved = Math.max(moved, Math.abs(got[i]! - v0[i]!));
    }
  }
  t.ok(moved > 1e-4, `the shared layer moved (largest step ${moved.toExponential(2)})`);
  t.ok(worst < 1e-6, `shared step = sum of the unshared steps, other tensors equal (max error ${worst.toExponential(2)})`);
  a.dispose();
  b.dispose();
});

// transformers' _init_weights: N(0, initializer_range) for Linear and Embedding weights, zero biases (the MLM's
// predictions.bias too), LayerNorm 1 and 0, zero padding row; a named size with ALBERT's defaults.
t.test("a random ALBERT of a named size is initialised as transformers' _init_weights", { skip }, async (t) => {
  const dir = t.testdir();
  const m = await createModel({ model_type: 'albert', ...MODEL_SIZES.tiny, vocab_size: 300 }, { task: 'masked-lm', seed: 8 });
  t.equal(m.config.embeddingSize, 128, "AlbertConfig's embedding_size");
  t.equal(m.config.hiddenAct, 'gelu_new');
  const w = await snapshot(m, dir);
  for (const [name, v] of w) {
    const norm = /LayerNorm|layer_norm/.test(name);
    if (name.endsWith('.bias') || name === 'predictions.bias') t.ok(v.every((x) => x === 0), `${name}: zeros`);
    else if (norm) t.ok(v.every((x) => x === 1), `${name}: ones`);
    else {
      const skipRow = name === 'albert.embeddings.word_embeddings.weight' ? v.length / 300 : 0; // pad id 0: row 0
      t.ok(v.subarray(0, skipRow).every((x) => x === 0), `${name}: padding row zero`);
      const rest = v.subarray(skipRow);
      const mean = rest.reduce((a, x) => a + x, 0) / rest.length;
      const std = Math.sqrt(rest.reduce((a, x) => a + (x - mean) ** 2, 0) / rest.length);
      t.ok(Math.abs(std - 0.02) < 0.002 && Math.abs(mean) < 0.002, `${name}: N(0, 0.02) (std ${std.toFixed(4)})`);
    }
  }
  m.dispose();
});

// AlbertForPreTraining = the masked LM plus the pooler and the sentence-order head, which advtrain does not
// implement: it loads as masked-lm and reports those tensors as unexpected (as BertForPreTraining's NSP head).
t.test('an AlbertForPreTraining checkpoint loads as masked-lm; the sentence-order head is reported unexpected', { skip }, async (t) => {
  const dir = t.testdir();
  const m = await createModel(tinyConfig('albert'), { task: 'masked-lm', seed: 9 });
  const w = await snapshot(m, join(dir, 'mlm'));
  const shapes = new Map(m.parameters().map((p) => [p.name, p.shape]));
  const raw = (name: string, shape: number[], v: ArrayLike<number>) => ({ name, dtype: 'F32' as const, shape, data: new Uint8Array(Float32Array.from(v).buffer) });
  const extra = [raw('albert.pooler.weight', [32, 32], new Array(1024).fill(0.01)), raw('albert.pooler.bias', [32], new Array(32).fill(0)), raw('sop_classifier.classifier.weight', [2, 32], new Array(64).fill(0.01)), raw('sop_classifier.classifier.bias', [2], [0, 0])];
  writeFileSync(join(dir, 'model.safetensors'), buildSafetensors([...[...w].map(([k, v]) => raw(k, shapes.get(k)!, v)), ...extra]));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tinyConfig('albert'), architectures: ['AlbertForPreTraining'] }));
  const pre = await loadModel(dir);
  t.equal(pre.task, 'masked-lm');
  t.same(pre.loadReport.missingKeys, []);
  t.same(pre.loadReport.unexpectedKeys.sort(), extra.map((e) => e.name).sort());
  const b = randomBatch({ task: 'masked-lm', lengths: [7, 4], seqLen: 7, seed: 10 });
  t.equal(maxDiff((await m.forward(b)).logits, (await pre.forward(b)).logits), 0, 'the same masked-LM logits');
  m.dispose();
  pre.dispose();
});

// Representation deviation reads one hidden state per layer call: 8 calls + the mapped embeddings here.
t.test('representation deviation on a grouped ALBERT: one entry per layer call', { skip }, async (t) => {
  const m = await createModel({ ...grouped, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }, { task: 'sequence-classification', numLabels: 3, seed: 11 });
  const encoded = [7, 5, 4].map((n, i) => ({ ids: Array.from({ length: n }, (_, j) => 3 + ((i * 7 + j * 5) % 50)), typeIds: new Array<number>(n).fill(0), label: i % 3, length: n }));
  const set = { examples: encoded.map(() => ({ text: '' })), encoded, predictions: [0, 0, 0], correct: [true, true, true], padId: 0 };
  const d = await representationDeviation(m, set, { epsilon: 0.5, steps: 3, batchSize: 2 });
  t.equal(d.hiddenCosine.length, 9);
  t.equal(d.attentionKL.length, 8);
  t.ok(d.hiddenCosine.every((c) => Number.isFinite(c) && c <= 1 + 1e-6 && c > -1) && d.attentionKL.every((kl) => kl >= 0));
  t.ok(Math.abs(d.finalCosine.mean - d.hiddenCosine[8]!) < 1e-6, 'the last hidden state is the last layer call');
  m.dispose();
});
