// EarlyRobust (Xi et al., EMNLP 2022) on the model side: slimming coefficients, their L1 penalty, physical
// pruning of heads and FFN neurons, and pruned folders both ways against transformers
// (test/fixtures/pruned_interop.py; transformers 5.x no longer reads pruned_heads, the script applies 4.x's
// prune_heads to 5.x's modules; stock transformers loads the 'hf-padded' export through hf_interop.py).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { LabeledBatch } from '../../lib/model/batch.js';
import type { ModelType } from '../../lib/model/config.js';
import { createModel, loadModel, type ForwardOutput, type Model } from '../../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { Fixture, fixtureBatch, outputErrors, worstByGroup } from '../helpers/fixtures.js';
import { randomBatch, rng, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff, readParams } from '../helpers/params.js';
import { pythonSkipReason, runPython } from '../helpers/python.js';
import { buildSafetensors, f32Tensor } from '../helpers/safetensors.js';

const skip = nativeSkipReason();
const pySkip = skip || pythonSkipReason();
const TOL = 1e-5;
const FAMILIES: ModelType[] = ['bert', 'roberta', 'electra'];
const root = skip ? '' : mkdtempSync(join(tmpdir(), 'advtrain-pruning-'));
if (root) t.teardown(() => rmSync(root, { recursive: true, force: true }));

// 2 layers, 4 heads of 8, FFN 48.
const HEADS = [[1, 3], [0]];
const FFN = [
  [0, 5, 6, 17, 30, 47],
  [2, 3, 4, 10, 11, 12, 13, 40],
];

/** A tiny sequence classifier whose every tensor is drawn at random (no zero bias, no LayerNorm at 1). */
async function randomModel(type: ModelType, seed: number, extra: Record<string, unknown> = {}): Promise<Model> {
  const config = tinyConfig(type, extra);
  const init = await createModel(config, { task: 'sequence-classification', numLabels: 3, seed });
  const params = init.parameters();
  init.dispose();
  const dir = join(root, `start-${type}-${seed}`);
  mkdirSync(dir, { recursive: true });
  const r = rng(seed);
  const tensors = params.map(({ name, shape }) => {
    const norm = /LayerNorm/.test(name) && name.endsWith('.weight');
    return f32Tensor(name, shape, () => (norm ? 1 : 0) + (r() - 0.5) * (name.endsWith('.bias') || norm ? 0.4 : 0.3));
  });
  writeFileSync(join(dir, 'model.safetensors'), buildSafetensors(tensors));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return loadModel(dir, { task: 'sequence-classification', numLabels: 3 });
}

function batchFor(type: ModelType, seed = 5): LabeledBatch {
  return randomBatch({ task: 'sequence-classification', lengths: [9, 6, 4], seqLen: 9, pad: type === 'roberta' ? 1 : 0, numLabels: 3, types: type !== 'roberta', seed });
}

/** Coefficients in [0.5, 1.5), 0 at the units to prune. */
function coefficients(seed: number, heads: number[][], ffn: number[][], nHeads = 4, nFfn = 48) {
  const r = rng(seed);
  const draw = (n: number, zero: number[]) => Float32Array.from({ length: n }, (_, i) => (zero.includes(i) ? 0 : 0.5 + r()));
  return { heads: heads.map((z) => draw(nHeads, z)), ffn: ffn.map((z) => draw(nFfn, z)) };
}

/** Largest difference over logits and every hidden state. */
function outDiff(a: ForwardOutput, b: ForwardOutput): number {
  let d = maxDiff(a.logits, b.logits);
  a.hiddenStates!.forEach((h, i) => (d = Math.max(d, h.length === b.hiddenStates![i]!.length ? maxDiff(h, b.hiddenStates![i]!) : Infinity)));
  return d;
}

t.test('slimming: coefficients at 1 change nothing; they scale heads and neurons; parameters without weight decay', { skip }, async (t) => {
  const m = await randomModel('bert', 1);
  const b = batchFor('bert');
  const before = await m.forward(b, { outputHiddenStates: true });
  const n = m.numParameters();
  await m.enableSlimming();
  t.equal(m.numParameters(), n + 2 * (4 + 48), 'one coefficient per head and per FFN neuron of each layer');
  const names = m._native.parameters().filter((p) => p.name.startsWith('advtrain.'));
  t.same(names.map((p) => [p.name, p.shape, p.decay]), [
    ['advtrain.slimming.layer.0.heads', [4], false],
    ['advtrain.slimming.layer.0.ffn', [48], false],
    ['advtrain.slimming.layer.1.heads', [4], false],
    ['advtrain.slimming.layer.1.ffn', [48], false],
  ]);
  const c = await m.slimmingCoefficients();
  t.ok(c.heads.every((a) => a.every((x) => x === 1)) && c.ffn.every((a) => a.every((x) => x === 1)), 'initialised to 1');
  const same = await m.forward(b, { outputHiddenStates: true });
  t.equal(outDiff(before, same), 0, 'coefficients at 1: the same outputs, bit for bit');
  await m.setSlimmingCoefficients(coefficients(3, [[], []], [[], []]));
  const scaled = await m.forward(b, { outputHiddenStates: true });
  t.ok(outDiff(before, scaled) > 1e-3, 'other coefficients change the outputs');
  await t.rejects(m.enableSlimming(), { code: 'ERR_INVALID_ARG', message: /already enabled/ });
  await t.rejects(m.setSlimmingCoefficients({ heads: [new Float32Array(3), new Float32Array(4)], ffn: c.ffn }), { code: 'ERR_INVALID_ARG', message: /coefficients\.heads\[0\]/ });
  m.dispose();
});

t.test('pruning is exact: the pruned model equals the unpruned one with those coefficients at 0 (BERT, RoBERTa, ELECTRA)', { skip }, async (t) => {
  let seed = 10;
  for (const type of FAMILIES) {
    const m = await randomModel(type, seed++);
    const b = batchFor(type, seed);
    const full = m.numParameters();
    await m.enableSlimming();
    await m.setSlimmingCoefficients(coefficients(seed, HEADS, FFN));
    const zeroed = await m.forward(b, { outputHiddenStates: true, attention: 'math' });
    const sdpa = await m.forward(b, { outputHiddenStates: true });
    await m.prune({ heads: HEADS, ffn: FFN });
    t.equal(m.slimming, false, `${type}: slimming ends with pruning (kept coefficients folded in)`);
    const pruned = await m.forward(b, { outputHiddenStates: true, outputAttentions: true });
    const d = outDiff(zeroed, pruned);
    t.ok(d < TOL, `${type}: pruned = coefficients at 0, worst ${d.toExponential(2)} (SDPA path ${outDiff(sdpa, pruned).toExponential(2)})`);
    t.same(pruned.attentions!.map((a) => a.length / (3 * 9 * 9)), [2, 3], `${type}: layers run with 2 and 3 heads`);
    const d8 = 8; // head size
    const removed = 3 * (3 * (32 * d8 + d8) + d8 * 32) + 14 * (32 + 1 + 32);
    t.equal(m.numParameters(), full - removed, `${type}: ${removed} parameters removed (${full} -> ${m.numParameters()})`);
    t.same(m.parameters().find((p) => p.name.endsWith('encoder.layer.0.attention.self.query.weight'))!.shape, [16, 32]);
    t.same(m.parameters().find((p) => p.name.endsWith('encoder.layer.1.output.dense.weight'))!.shape, [32, 40]);
    t.same(m.config.prunedHeads, HEADS);
    t.same(m.config.intermediateSizes, [42, 40]);
    // A second prune: indices in the current numbering, pruned_heads in the original one.
    await m.prune({ heads: [[1], []], ffn: [[], []] });
    t.same(m.config.prunedHeads, [[1, 2, 3], [0]], `${type}: current head 1 of layer 0 is original head 2`);
    m.dispose();
  }
});

t.test('prune and slimming refusals', { skip }, async (t) => {
  const m = await randomModel('bert', 20);
  await t.rejects(m.prune({ heads: [[0, 1, 2, 3], []], ffn: [[], []] }), { code: 'ERR_INVALID_ARG', message: /layer 0 must keep at least one head/ });
  await t.rejects(m.prune({ heads: [[4], []], ffn: [[], []] }), { code: 'ERR_INVALID_ARG', message: /spec\.heads\[0\]\[0\]/ });
  await t.rejects(m.prune({ heads: [[1, 1], []], ffn: [[], []] }), { code: 'ERR_INVALID_ARG', message: /without repeats/ });
  await t.rejects(m.prune({ heads: [[]], ffn: [[], []] }), { code: 'ERR_INVALID_ARG', message: /spec\.heads/ });
  await t.rejects(m.prune({ heads: [[], []], ffn: [Array.from({ length: 48 }, (_, i) => i), []] }), { code: 'ERR_INVALID_ARG', message: /FFN neuron/ });
  await t.rejects(m.slimmingCoefficients(), { code: 'ERR_INVALID_ARG', message: /not enabled/ });
  t.throws(() => new Trainer({ model: m, optimizer: { name: 'sgd', lr: 0.1 }, slimmingL1: { heads: 1e-5, ffn: 1 } }).lr, { code: 'ERR_INVALID_ARG', message: /slimmingL1/ });
  t.throws(() => new Trainer({ model: m, optimizer: { name: 'sgd', lr: 0.1 }, slimmingL1: { heads: -1, ffn: 0 } }), { code: 'ERR_INVALID_ARG', message: /slimmingL1\.heads/ });
  // A trainer built before the structure changed refuses to step.
  const tr = new Trainer({ model: m, optimizer: { name: 'sgd', lr: 0.1 } });
  await tr.step(batchFor('bert'));
  await m.prune({ heads: [[0], []], ffn: [[], []] });
  await t.rejects(tr.step(batchFor('bert')), { code: 'ERR_INVALID_ARG', message: /create a new Trainer/ });
  tr.dispose();
  m.dispose();
  for (const type of ['albert', 'deberta-v2'] as const) {
    const a = await createModel(tinyConfig(type), { task: 'sequence-classification' });
    await t.rejects(a.enableSlimming(), { code: 'ERR_INVALID_ARG', message: new RegExp(`model_type '${type}' is not supported`) });
    await t.rejects(a.prune({ heads: [[0], []], ffn: [[], []] }), { code: 'ERR_INVALID_ARG', message: /not supported/ });
    a.dispose();
  }
});

t.test('the L1 penalty: grad += l1 * sign(c), once per update whatever the passes (FreeLB K = 3)', { skip }, async (t) => {
  const b = batchFor('bert');
  for (const method of [{ name: 'vanilla' }, { name: 'freelb', steps: 3 }] as MethodConfig[]) {
    const run = async (l1: { heads: number; ffn: number }) => {
      const m = await randomModel('bert', 30);
      await m.enableSlimming();
      const c0 = coefficients(31, [[], []], [[], []]);
      c0.heads[0]![2] = -0.7; // a negative coefficient: its penalty gradient is -l1
      c0.ffn[1]![5] = 0; // sign(0) = 0
      await m.setSlimmingCoefficients(c0);
      const tr = new Trainer({ model: m, method, optimizer: { name: 'sgd', lr: 1 }, maxGradNorm: 0, seed: 4, slimmingL1 : l1 });
      await tr.step(b);
      const c = await m.slimmingCoefficients();
      tr.dispose();
      m.dispose();
      return c;
    };
    const plain = await run({ heads: 0, ffn: 0 });
    const l1 = { heads: 0.125, ffn: 0.25 };
    const pen = await run(l1);
    const c0 = coefficients(31, [[], []], [[], []]);
    c0.heads[0]![2] = -0.7;
    c0.ffn[1]![5] = 0;
    let worst = 0;
    for (const key of ['heads', 'ffn'] as const) {
      pen[key].forEach((a, i) =>
        a.forEach((x, j) => {
          const want = plain[key][i]![j]! - l1[key] * Math.sign(c0[key][i]![j]!);
          worst = Math.max(worst, Math.abs(x - want));
        }),
      );
    }
    t.ok(worst < 1e-6, `${method.name}: the penalty moved each coefficient by lr * l1 * sign(c) once (worst ${worst.toExponential(2)})`);
  }
});

t.test('after pruning every method trains (pruned tiny BERT: finite loss, weights change), the model is smaller', { skip }, async (t) => {
  const b = batchFor('bert');
  for (const name of METHOD_NAMES) {
    const m = await randomModel('bert', 40, { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });
    await m.enableSlimming();
    // The search stage: one step with the penalty, then prune and train the ticket.
    const search = new Trainer({ model: m, method: { name } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 }, slimmingL1: { heads: 1e-5, ffn: 2e-4 } });
    const s = await search.step(b);
    search.dispose();
    await m.prune({ heads: HEADS, ffn: FFN });
    const dir = join(root, `method-${name}`);
    await m.save(dir);
    const before = readParams(join(dir, 'model.safetensors'));
    const tr = new Trainer({ model: m, method: { name } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 } });
    const r = await tr.step(b);
    await m.save(dir);
    const after = readParams(join(dir, 'model.safetensors'));
    const moved = Math.max(...[...before].map(([k, v]) => maxDiff(v, after.get(k)!)));
    t.ok(Number.isFinite(s.loss) && Number.isFinite(r.loss) && !r.skipped && moved > 0, `${name}: search loss ${s.loss.toFixed(4)}, ticket loss ${r.loss.toFixed(4)}, weights moved ${moved.toExponential(2)}`);
    tr.dispose();
    m.dispose();
  }
});

t.test('a pruned model is faster', { skip }, async (t) => {
  const cfg = tinyConfig('bert', { hidden_size: 256, num_attention_heads: 8, intermediate_size: 1024, num_hidden_layers: 4, max_position_embeddings: 128 });
  const m = await createModel(cfg, { task: 'sequence-classification', seed: 3 });
  const b = randomBatch({ task: 'sequence-classification', lengths: Array.from({ length: 16 }, () => 128), seqLen: 128, numLabels: 2, seed: 2 });
  const time = async () => {
    const runs: number[] = [];
    await m.forward(b);
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await m.forward(b);
      runs.push(performance.now() - t0);
    }
    return runs.sort((x, y) => x - y)[2]!;
  };
  const full = await time();
  const n = m.numParameters();
  await m.prune({ heads: Array.from({ length: 4 }, () => [0, 1, 2, 3]), ffn: Array.from({ length: 4 }, () => Array.from({ length: 768 }, (_, i) => i)) });
  const pruned = await time();
  t.comment(`forward of 16 x 128 tokens: ${full.toFixed(1)} ms -> ${pruned.toFixed(1)} ms with half the heads and a quarter of the FFN; ${n} -> ${m.numParameters()} parameters`);
  t.ok(pruned < full, 'faster');
  m.dispose();
});

t.test('pruned folders: advtrain reloads them; transformers (4.x prune_heads semantics) and stock transformers (hf-padded) compute the same outputs', { skip: pySkip }, async (t) => {
  const pruned = join(root, 'advtrain-pruned');
  const padded = join(root, 'advtrain-padded');
  const ours = new Map<string, ForwardOutput>();
  let seed = 50;
  for (const type of FAMILIES) {
    const m = await randomModel(type, seed++);
    await m.enableSlimming();
    await m.setSlimmingCoefficients(coefficients(seed, HEADS, FFN));
    await m.prune({ heads: HEADS, ffn: FFN });
    const b = batchFor(type, seed);
    const out = await m.forward(b, { outputHiddenStates: true, outputAttentions: true });
    ours.set(type, out);
    await m.save(join(pruned, type));
    await m.save(join(padded, type), { export: 'hf-padded' });
    const cfg = JSON.parse(readFileSync(join(pruned, type, 'config.json'), 'utf8'));
    t.same([cfg.pruned_heads, cfg.advtrain_intermediate_sizes], [{ 0: [1, 3], 1: [0] }, [42, 40]], `${type}: config.json records the pruned heads and FFN widths`);
    const pcfg = JSON.parse(readFileSync(join(padded, type, 'config.json'), 'utf8'));
    t.ok(pcfg.pruned_heads === undefined && pcfg.advtrain_intermediate_sizes === undefined, `${type}: the padded export has no pruning field`);
    t.same(readParams(join(padded, type, 'model.safetensors')).get(`${type}.encoder.layer.0.intermediate.dense.weight`)!.length, 48 * 32, `${type}: padded to the full FFN`);
    for (const dir of [pruned, padded]) {
      const again = await loadModel(join(dir, type));
      const d = outDiff(out, await again.forward(b, { outputHiddenStates: true }));
      t.ok(d < TOL, `${type}: advtrain reloads the ${dir === pruned ? 'pruned' : 'padded'} folder, worst ${d.toExponential(2)}`);
      again.dispose();
      const inputs = {
        input_ids: { dtype: 'int64', shape: [3, 9], data: Array.from(b.inputIds) },
        attention_mask: { dtype: 'int64', shape: [3, 9], data: Array.from(b.attentionMask!) },
        token_type_ids: { dtype: 'int64', shape: [3, 9], data: Array.from(b.tokenTypeIds!) },
        labels: { dtype: 'int64', shape: [3], data: Array.from(b.labels!) },
      };
      writeFileSync(join(dir, type, 'inputs.json'), JSON.stringify(inputs));
    }
    m.dispose();
  }
  t.comment(runPython('pruned_interop.py', ['load-pruned', pruned]).trim());
  t.comment(runPython('hf_interop.py', ['load-advtrain', padded]).trim());
  for (const [dir, what] of [[pruned, 'pruned (4.x prune_heads)'], [padded, 'hf-padded (stock from_pretrained)']] as const) {
    for (const [type, out] of ours) {
      const info = JSON.parse(readFileSync(join(dir, type, 'load_info.json'), 'utf8'));
      for (const k of ['missing_keys', 'unexpected_keys', 'mismatched_keys', 'error_msgs', 'warnings']) if (k in info) t.same(info[k], [], `${type} ${what}: no ${k}`);
      const fx = new Fixture(join(dir, type, 'transformers_outputs.safetensors'));
      const report = outputErrors(out, fx);
      // The padded model runs every head (the removed ones on zero weights): its attentions have 4 heads per layer.
      if (dir === padded) for (const k of Object.keys(report)) if (k.startsWith('attentions.')) delete report[k];
      const bad = Object.entries(report).filter(([, v]) => !(v < TOL));
      t.same(bad, [], `${type} ${what}: every output within ${TOL}`);
      t.comment(`advtrain -> transformers ${type} ${what}: ${worstByGroup(report)}`);
    }
  }
});

t.test('advtrain loads pruned folders transformers saved (pruned_heads + advtrain_intermediate_sizes), same outputs within 1e-5', { skip: pySkip }, async (t) => {
  const dir = join(root, 'transformers-pruned');
  mkdirSync(dir);
  t.comment(runPython('pruned_interop.py', ['save-pruned', dir]).trim());
  for (const type of FAMILIES) {
    const d = join(dir, `${type}-pruned`);
    const m = await loadModel(d);
    const { missingKeys, unexpectedKeys, mismatchedKeys } = m.loadReport;
    t.same({ missingKeys, unexpectedKeys, mismatchedKeys }, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] }, `${type}: every key used`);
    t.same(m.config.prunedHeads, [[1, 3], [0]], `${type}: pruned_heads read`);
    const fx = new Fixture(join(d, 'expected.safetensors'));
    const out = await m.forward(fixtureBatch(fx, m.task), { outputHiddenStates: true, outputAttentions: true });
    const report = outputErrors(out, fx);
    const bad = Object.entries(report).filter(([, v]) => !(v < TOL));
    t.same(bad, [], `${type}: every output within ${TOL}`);
    t.comment(`transformers -> advtrain ${type}: ${worstByGroup(report)}`);
    m.dispose();
  }
});

t.test('a slimming run resumes bit for bit: the coefficients travel in the trainer state, not the model folder', { skip }, async (t) => {
  const b = batchFor('bert');
  const cfg = { optimizer: { name: 'adamw' as const, lr: 1e-2 }, method: { name: 'freelb', steps: 2 } as MethodConfig, slimmingL1: { heads: 1e-3, ffn: 2e-3 }, seed: 6 };
  const m = await randomModel('bert', 60, { hidden_dropout_prob: 0.1 });
  await m.enableSlimming();
  const tr = new Trainer({ model: m, ...cfg });
  await tr.step(b);
  await tr.step(b);
  const ckpt = await tr.saveCheckpoint(join(root, 'resume'));
  const saved = readParams(join(ckpt, 'model.safetensors'));
  t.notOk([...saved.keys()].some((k) => k.startsWith('advtrain.')), 'the model folder holds no coefficient');
  await tr.step(b);
  const want = await m.slimmingCoefficients();
  const wantOut = await m.forward(b);

  const plain = await loadModel(ckpt);
  const refused = new Trainer({ model: plain, ...cfg, slimmingL1: undefined });
  await t.rejects(refused.resume(ckpt), { code: 'ERR_CHECKPOINT', message: /slimmingL1/ }, 'a different penalty is refused');
  const noSlim = new Trainer({ model: plain, ...cfg, slimmingL1: { heads: 0, ffn: 0 } });
  await t.rejects(noSlim.resume(ckpt), { code: 'ERR_CHECKPOINT', message: /slimmingL1|enableSlimming/ });
  plain.dispose();

  const m2 = await loadModel(ckpt);
  await m2.enableSlimming();
  const tr2 = new Trainer({ model: m2, ...cfg });
  await tr2.resume(ckpt);
  await tr2.step(b);
  const got = await m2.slimmingCoefficients();
  const gotOut = await m2.forward(b);
  const d = Math.max(...got.heads.map((a, i) => maxDiff(a, want.heads[i]!)), ...got.ffn.map((a, i) => maxDiff(a, want.ffn[i]!)));
  t.equal(d, 0, 'the same coefficients after the resumed step, bit for bit');
  t.equal(maxDiff(gotOut.logits, wantOut.logits), 0, 'the same logits');
  tr.dispose();
  tr2.dispose();
  m.dispose();
  m2.dispose();
});
