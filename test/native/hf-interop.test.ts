// The file format both ways, against transformers itself (test/fixtures/hf_interop.py, run with the Python
// of test/helpers/python.ts), for every family x head, non-default weights, padding in the batch:
//  - transformers' from_pretrained loads every folder advtrain saves, with no missing, unexpected or
//    mismatched key and no warning, and its float64 outputs equal advtrain's float32 ones within 1e-5;
//  - advtrain loads what save_pretrained writes, sharded (index + several shards) and single-file, masked LM
//    with the decoder tied to the word embeddings, with outputs within 1e-5 of transformers' float64 ones;
//    a masked LM with an untied decoder (tie_word_embeddings false) is refused by name, not mis-loaded.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { LabeledBatch } from '../../lib/model/batch.js';
import type { ModelType, Task } from '../../lib/model/config.js';
import { createModel, loadModel, type ForwardOutput } from '../../lib/model/model.js';
import { Trainer } from '../../lib/train/trainer.js';
import type { MethodConfig } from '../../lib/train/methods.js';
import { Fixture, fixtureBatch, outputErrors, worstByGroup } from '../helpers/fixtures.js';
import { randomBatch, rng, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff } from '../helpers/params.js';
import { pythonSkipReason, runPython } from '../helpers/python.js';
import { buildSafetensors, f32Tensor } from '../helpers/safetensors.js';

const skip = nativeSkipReason() || pythonSkipReason();
const TOL = 1e-5;
const FAMILIES: ModelType[] = ['bert', 'roberta', 'electra', 'albert', 'deberta-v2'];
const TASKS: Task[] = ['base', 'sequence-classification', 'regression', 'multiple-choice', 'token-classification', 'question-answering', 'masked-lm'];

const root = skip ? '' : mkdtempSync(join(tmpdir(), 'advtrain-hf-interop-'));
if (root) t.teardown(() => rmSync(root, { recursive: true, force: true }));

/** A config per case, with variations the defaults would not exercise. */
function caseConfig(type: ModelType, task: Task): Record<string, unknown> {
  const extra: Record<string, unknown> = { layer_norm_eps: type === 'roberta' ? 1e-5 : 1e-12 };
  if (type === 'bert' && task === 'masked-lm') extra.hidden_act = 'gelu_new';
  if (type === 'roberta' && task === 'token-classification') extra.hidden_act = 'gelu_pytorch_tanh';
  if (type === 'electra' && task === 'question-answering') extra.hidden_act = 'relu';
  if (type === 'electra' && task === 'token-classification') extra.embedding_size = 32; // no embeddings_project
  // ALBERT grouped (4 layer applications over 2 groups of 2 inner layers) but for token classification: one
  // group shared by both layers, E == H (embedding_hidden_mapping_in all the same).
  if (type === 'albert') Object.assign(extra, task === 'token-classification' ? { embedding_size: 32 } : { num_hidden_layers: 4, num_hidden_groups: 2, inner_group_num: 2 });
  if (type === 'deberta-v2') return tinyConfig(type, debertaCase(task));
  return tinyConfig(type, extra);
}

/** DeBERTa-v2 cases: v3-like by default; the base model, masked LM and token classification carry the
 * parameters of the other options (pos_key_proj, pos_query_proj, conv, embed_proj, absolute positions). */
function debertaCase(task: Task): Record<string, unknown> {
  const v3 = { relative_attention: true, pos_att_type: ['p2c', 'c2p'], position_buckets: 6, share_att_key: true, norm_rel_ebd: 'layer_norm', position_biased_input: false, type_vocab_size: 0, layer_norm_eps: 1e-7 };
  if (task === 'base') return { ...v3, pos_att_type: ['c2p'], share_att_key: false, conv_kernel_size: 3, conv_groups: 2, conv_act: 'gelu', position_biased_input: true, type_vocab_size: 2 };
  if (task === 'masked-lm') return { ...v3, embedding_size: 16, hidden_act: 'gelu_new' };
  if (task === 'token-classification') return { ...v3, pos_att_type: ['p2c'], share_att_key: false, position_buckets: -1, max_relative_positions: 5 };
  if (task === 'sequence-classification') return { ...v3, pooler_hidden_act: 'tanh' };
  return v3;
}

/** The batch as transformers' arguments: name -> {dtype, shape, data}. */
function inputsJson(b: LabeledBatch, task: Task): Record<string, { dtype: string; shape: number[]; data: number[] }> {
  const shape = b.numChoices ? [b.batchSize, b.numChoices, b.seqLen] : [b.batchSize, b.seqLen];
  const int = (a: ArrayLike<number>, s: number[]) => ({ dtype: 'int64', shape: s, data: Array.from(a) });
  const out: ReturnType<typeof inputsJson> = {
    input_ids: int(b.inputIds, shape),
    attention_mask: int(b.attentionMask!, shape),
    token_type_ids: int(b.tokenTypeIds!, shape),
  };
  if (task === 'regression') out.labels = { dtype: 'float64', shape: [b.batchSize], data: Array.from(b.labels!) };
  else if (task === 'token-classification' || task === 'masked-lm') out.labels = int(b.labels!, shape);
  else if (b.labels) out.labels = int(b.labels, [b.batchSize]);
  if (b.startPositions) {
    out.start_positions = int(b.startPositions, [b.batchSize]);
    out.end_positions = int(b.endPositions!, [b.batchSize]);
  }
  return out;
}


/** hf_interop.py load-advtrain over `root`: each folder loads in transformers as its architecture, cleanly, with `ours` outputs within TOL. */
function transformersLoads(t: Test, root: string, ours: Map<string, ForwardOutput>, label: string): void {
  t.comment(runPython('hf_interop.py', ['load-advtrain', root]).trim());
  for (const [name, out] of ours) {
    const dir = join(root, name);
    const info = JSON.parse(readFileSync(join(dir, 'load_info.json'), 'utf8'));
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    t.equal(info.architecture, cfg.architectures[0], `${name}: loaded as ${cfg.architectures[0]}`);
    for (const k of ['missing_keys', 'unexpected_keys', 'mismatched_keys', 'error_msgs', 'warnings']) t.same(info[k], [], `${name}: no ${k}`);
    const report = outputErrors(out, new Fixture(join(dir, 'transformers_outputs.safetensors')));
    const bad = Object.entries(report).filter(([, v]) => !(v < TOL));
    t.same(bad, [], `${name}: every output within ${TOL}`);
    t.comment(`${label} ${name}: ${worstByGroup(report)}`);
  }
}

t.test('transformers loads every folder advtrain saves, same outputs within 1e-5', { skip }, async (t) => {
  const dirA = join(root, 'advtrain-saved');
  const ours = new Map<string, ForwardOutput>();
  let seed = 1;
  for (const type of FAMILIES) {
    for (const task of TASKS) {
      const name = `${type}-${task}`;
      const numLabels = task === 'token-classification' ? 5 : 3;
      // Non-default weights: every tensor drawn at random (no LayerNorm at 1, no bias at 0) into a folder
      // written here (not by advtrain, so a field advtrain fails to save cannot round-trip unnoticed).
      const config = caseConfig(type, task);
      const init = await createModel(config, { task, numLabels, seed });
      const params = init.parameters();
      init.dispose();
      const start = join(root, 'start', name);
      mkdirSync(start, { recursive: true });
      const r = rng(seed++);
      const tensors = params.map(({ name: p, shape }) => {
        const norm = /LayerNorm|layer_norm/.test(p) && p.endsWith('.weight');
        return f32Tensor(p, shape, () => (norm ? 1 : 0) + (r() - 0.5) * (p.endsWith('.bias') || norm ? 0.4 : 0.2));
      });
      writeFileSync(join(start, 'model.safetensors'), buildSafetensors(tensors));
      writeFileSync(join(start, 'config.json'), JSON.stringify(config));
      const model = await loadModel(start, { task, numLabels });
      t.same(model.loadReport.missingKeys, [], `${name}: every parameter drawn`);
      const dir = join(dirA, name);
      await model.save(dir); // what is tested: advtrain's writer
      const pad = type === 'roberta' ? 1 : 0;
      const mc = task === 'multiple-choice';
      const batch = randomBatch({ task, lengths: mc ? [9, 6, 4, 9, 7, 3] : [9, 6, 4], seqLen: 9, pad, numChoices: mc ? 3 : undefined, numLabels, types: type !== 'roberta', seed });
      ours.set(name, await model.forward(batch, { outputHiddenStates: true, outputAttentions: true }));
      writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputsJson(batch, task)));
      model.dispose();
    }
  }
  transformersLoads(t, dirA, ours, 'advtrain -> transformers');
});

t.test('advtrain loads what save_pretrained writes (sharded, single file, tied), same outputs within 1e-5', { skip }, async (t) => {
  const dirB = join(root, 'save-pretrained');
  mkdirSync(dirB);
  t.comment(runPython('hf_interop.py', ['save-pretrained', dirB]).trim());
  const folders = readdirSync(dirB).sort();
  // Every family x head, plus ALBERT's grouped heads and the DeBERTa-v2 base-model variants of make_model_fixtures.SPECS.
  for (const type of FAMILIES) {
    for (const task of TASKS) t.ok(folders.includes(`${type}-${task}-sharded`) && folders.includes(`${type}-${task}-single`), `${type}-${task}: sharded and in one file`);
  }
  for (const task of TASKS) t.ok(folders.includes(`albert-grouped-${task}-sharded`), `albert-grouped-${task} too`);
  t.ok(folders.filter((f) => /^deberta-v2-base-.*-sharded$/.test(f)).length >= 5, 'the DeBERTa-v2 variants too');
  t.equal(folders.filter((f) => f.endsWith('-sharded')).length, folders.filter((f) => f.endsWith('-single')).length, 'each sharded and in one file');
  for (const name of folders) {
    const dir = join(dirB, name);
    if (name.endsWith('-untied')) {
      await t.rejects(loadModel(dir), { code: 'ERR_CHECKPOINT', message: /tie_word_embeddings/ }, `${name}: an untied decoder is refused by name`);
      continue;
    }
    const files = readdirSync(dir);
    if (name.endsWith('-sharded')) t.ok(files.filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f)).length >= 2 && files.includes('model.safetensors.index.json'), `${name}: several shards and an index`);
    const model = await loadModel(dir);
    const { missingKeys, unexpectedKeys, mismatchedKeys } = model.loadReport;
    t.same({ missingKeys, unexpectedKeys, mismatchedKeys }, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] }, `${name}: every key used`);
    const fx = new Fixture(join(dir, 'expected.safetensors'));
    const out = await model.forward(fixtureBatch(fx, model.task), { outputHiddenStates: true, outputAttentions: true });
    const report = outputErrors(out, fx);
    const bad = Object.entries(report).filter(([, v]) => !(v < TOL));
    t.same(bad, [], `${name}: every output within ${TOL}`);
    t.comment(`transformers -> advtrain ${name}: ${worstByGroup(report)}`);
    model.dispose();
  }
});

// R4F keeps W_orig as the trained parameter and computes with W_orig / sigma; the saved folder must hold
// the latter, so transformers (which knows nothing of spectral normalisation) computes the same logits.
t.test('a model trained with R4F (spectrally normalised head) saves W_orig / sigma: transformers and advtrain load the same logits', { skip }, async (t) => {
  const dirC = join(root, 'r4f');
  const ours = new Map<string, ForwardOutput>();
  const cases: [ModelType, Task][] = [['bert', 'sequence-classification'], ['roberta', 'sequence-classification'], ['electra', 'regression']];
  for (const [type, task] of cases) {
    const name = `${type}-${task}`;
    const model = await createModel(caseConfig(type, task), { task, numLabels: 3, seed: 7 });
    const pad = type === 'roberta' ? 1 : 0;
    const batch = randomBatch({ task, lengths: [9, 6, 4], seqLen: 9, pad, numLabels: 3, types: type !== 'roberta', seed: 8 });
    const trainer = new Trainer({ model, method: { name: 'rpt', noiseStd: 0.05, spectralNorm: true }, optimizer: { name: 'sgd', lr: 0.5 }, seed: 9 });
    for (let s = 0; s < 3; s++) await trainer.step(batch);
    const dir = join(dirC, name);
    await model.save(dir);
    const out = await model.forward(batch, { outputHiddenStates: true, outputAttentions: true });
    ours.set(name, out);
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputsJson(batch, task)));
    const plain = await loadModel(dir);
    const again = await plain.forward(batch);
    t.ok(maxDiff(again.logits, out.logits) < 1e-6, `${name}: advtrain reloads the folder with the same logits (${maxDiff(again.logits, out.logits).toExponential(2)})`);
    plain.dispose();
    trainer.dispose();
    model.dispose();
  }
  transformersLoads(t, dirC, ours, 'R4F advtrain -> transformers');
});

// SiFT's affine-free LayerNorm runs in its training passes only and InfoBERT's critic lives in the trainer
// state: the saved folder is the plain model, and transformers computes from it what advtrain evaluates.
t.test('models trained with SiFT or InfoBERT save the plain model: transformers and advtrain load the same outputs', { skip }, async (t) => {
  const dirC = join(root, 'sift-infobert');
  const ours = new Map<string, ForwardOutput>();
  const cases: [ModelType, MethodConfig][] = [
    ['bert', { name: 'sift', lambda: 5, stepSize: 1e-2, initPerturbation: 0.1 }],
    ['roberta', { name: 'sift', lambda: 5, stepSize: 1e-2, initPerturbation: 0.1 }],
    ['electra', { name: 'sift', lambda: 5, stepSize: 1e-2, initPerturbation: 0.1 }],
    ['bert', { name: 'infobert', alpha: 0.5, beta: 0.05 }],
  ];
  const task: Task = 'sequence-classification';
  for (const [type, method] of cases) {
    const name = `${type}-${method.name}`;
    const model = await createModel(caseConfig(type, task), { task, numLabels: 3, seed: 7 });
    const pad = type === 'roberta' ? 1 : 0;
    const batch = randomBatch({ task, lengths: [9, 6, 4], seqLen: 9, pad, numLabels: 3, types: type !== 'roberta', seed: 8 });
    const trainer = new Trainer({ model, method, optimizer: { name: 'sgd', lr: 0.5 }, seed: 9 });
    for (let s = 0; s < 3; s++) await trainer.step(batch);
    const dir = join(dirC, name);
    await model.save(dir);
    const out = await model.forward(batch, { outputHiddenStates: true, outputAttentions: true });
    ours.set(name, out);
    writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputsJson(batch, task)));
    trainer.dispose();
    model.dispose();
  }
  transformersLoads(t, dirC, ours, 'advtrain -> transformers');
});
