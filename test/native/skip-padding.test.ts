// skipPadding (Compute::packTokens): the token-wise layers run on the real tokens of a padded batch.
// Same losses and gradients as the padded computation for every family and head that allows it; the
// cases where nothing is skipped are told apart by dropout, whose masks are then drawn for fewer tokens.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ModelType, Task } from '../../lib/model/config.js';
import { createModel } from '../../lib/model/model.js';
import type { MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import type { LabeledBatch } from '../../lib/model/batch.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { snapshot, worstDiff } from '../helpers/params.js';

const skip = nativeSkipReason();
const dir = mkdtempSync(join(tmpdir(), 'advtrain-skip-padding-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  family: ModelType;
  task: Task;
  method: MethodConfig;
  lengths?: number[];
  numChoices?: number;
  conv?: boolean;
  // Whether the padding is skipped (checked through dropout below).
  packs: boolean;
}

const lengths = [9, 7, 4, 2, 6, 9];
const cases: Case[] = [
  { family: 'bert', task: 'sequence-classification', method: { name: 'vanilla' }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'freelb', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'pgd', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3, cleanWeight: 0.5 }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'creat', steps: 1, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'smart', steps: 1, noiseStd: 0.1, stepSize: 0.1 }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'alum', steps: 1, noiseStd: 0.1, stepSize: 0.1, perturbLayer: 1 }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'textat', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: true },
  { family: 'bert', task: 'regression', method: { name: 'rpt', noiseStd: 0.1 }, packs: true },
  { family: 'bert', task: 'sequence-classification', method: { name: 'yopo', outer: 2, inner: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: true },
  { family: 'roberta', task: 'multiple-choice', method: { name: 'freelb', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, numChoices: 2, packs: true },
  { family: 'electra', task: 'token-classification', method: { name: 'smart', steps: 1, noiseStd: 0.1, stepSize: 0.1 }, packs: true },
  { family: 'albert', task: 'masked-lm', method: { name: 'pgd', steps: 1, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: true },
  // DeBERTa-v2: attention (c2p + p2c) runs padded; `conv` adds the ConvLayer after layer 0, unshared
  // position projections and embed_proj (embedding_size 16).
  { family: 'deberta-v2', task: 'sequence-classification', method: { name: 'vanilla' }, packs: true },
  { family: 'deberta-v2', task: 'sequence-classification', method: { name: 'freelb', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, conv: true, packs: true },
  { family: 'deberta-v2', task: 'token-classification', method: { name: 'smart', steps: 1, noiseStd: 0.1, stepSize: 0.1 }, conv: true, packs: true },
  { family: 'deberta-v2', task: 'sequence-classification', method: { name: 'yopo', outer: 2, inner: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, conv: true, packs: true },
  // InfoBERT traces the encoder's input only (its IB and anchored-feature terms), so its layers skip too.
  { family: 'bert', task: 'sequence-classification', method: { name: 'infobert', steps: 1, stepSize: 0.1, initMag: 0.1, beta: 0.05, alpha: 0.5, anchorBatch: 4 }, packs: true },
  // Nothing skipped: QA reads padding positions, a batch without padding has nothing to skip.
  { family: 'bert', task: 'question-answering', method: { name: 'freelb', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: false },
  { family: 'bert', task: 'question-answering', method: { name: 'yopo', outer: 2, inner: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: false },
  { family: 'bert', task: 'sequence-classification', method: { name: 'vanilla' }, lengths: [9, 9, 9, 9], packs: false },
];

function extra(family: ModelType, conv = false): Record<string, unknown> {
  if (family !== 'deberta-v2') return {};
  const base = { relative_attention: true, pos_att_type: ['p2c', 'c2p'], position_buckets: 6, share_att_key: true, type_vocab_size: 2 };
  return conv ? { ...base, share_att_key: false, embedding_size: 16, conv_kernel_size: 3, conv_groups: 2, conv_act: 'gelu', norm_rel_ebd: 'layer_norm' } : base;
}

function batchOf(c: Case): LabeledBatch {
  const pad = c.family === 'roberta' ? 1 : 0;
  return randomBatch({ task: c.task, lengths: c.lengths ?? lengths, seqLen: 9, numChoices: c.numChoices, numLabels: 3, pad, seed: 5, types: c.family !== 'roberta' });
}

// One SGD step (scale-sensitive, unlike AdamW) from the same weights and seed; the weights after it.
async function stepOnce(c: Case, skipPadding: boolean, dropout: number, tag: string) {
  const config = tinyConfig(c.family, { ...extra(c.family, c.conv), hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout });
  const model = await createModel(config, { task: c.task, numLabels: c.task === 'regression' ? 1 : 3, seed: 3 });
  const trainer = new Trainer({ model, method: c.method, optimizer: { name: 'sgd', lr: 0.5 }, maxGradNorm: 0, seed: 7, skipPadding });
  const r = await trainer.step(batchOf(c));
  const weights = await snapshot(model, join(dir, `${tag}-${skipPadding}`));
  trainer.dispose();
  model.dispose();
  return { loss: r.loss, weights };
}

t.test('skipping padding trains exactly as the padded computation (dropout 0)', { skip }, async (t) => {
  for (const [i, c] of cases.entries()) {
    const name = `${c.family}${c.conv ? ' (conv)' : ''}/${c.task}/${c.method.name}${c.lengths ? ' (no padding)' : ''}`;
    const packed = await stepOnce(c, true, 0, `exact-${i}`);
    const padded = await stepOnce(c, false, 0, `exact-${i}`);
    t.ok(Math.abs(packed.loss - padded.loss) <= 1e-5 * Math.max(1, Math.abs(padded.loss)), `${name}: loss ${packed.loss} vs ${padded.loss}`);
    const { worst, where } = worstDiff(packed.weights, padded.weights);
    t.ok(worst <= 2e-6, `${name}: weights after one SGD step differ by ${worst.toExponential(2)} at ${where}`);
  }
});

t.test('padding is skipped exactly where nothing reads it (told apart by dropout draws)', { skip }, async (t) => {
  for (const [i, c] of cases.entries()) {
    const name = `${c.family}${c.conv ? ' (conv)' : ''}/${c.task}/${c.method.name}${c.lengths ? ' (no padding)' : ''}`;
    const packed = await stepOnce(c, true, 0.2, `drop-${i}`);
    const padded = await stepOnce(c, false, 0.2, `drop-${i}`);
    const { worst } = worstDiff(packed.weights, padded.weights);
    if (c.packs) t.ok(worst > 1e-4, `${name}: skipped (dropout masks drawn for the real tokens only; weights differ by ${worst.toExponential(2)})`);
    else t.equal(worst, 0, `${name}: not skipped (bit-equal weights)`);
  }
});

t.test('a token label on padding keeps the padded computation', { skip }, async (t) => {
  const c: Case = { family: 'bert', task: 'token-classification', method: { name: 'vanilla' }, packs: false };
  const b = batchOf(c);
  b.labels![2 * 9 + 7] = 1; // row 2 has 4 real tokens: position 7 is padding
  const run = async (skipPadding: boolean) => {
    const model = await createModel(tinyConfig('bert', { hidden_dropout_prob: 0.2 }), { task: c.task, numLabels: 3, seed: 3 });
    const trainer = new Trainer({ model, method: c.method, optimizer: { name: 'sgd', lr: 0.5 }, seed: 7, skipPadding });
    const r = await trainer.step(b);
    trainer.dispose();
    model.dispose();
    return r.loss;
  };
  t.equal(await run(true), await run(false), 'the loss of a labeled padding position is the padded computation\'s');
});

// Evaluation (model.forward, evaluateModel) and attacks (model.attack) take the same option.
function realRow(b: LabeledBatch, i: number): boolean {
  return b.attentionMask![i] !== 0;
}

t.test('model.forward({ skipPadding }) gives the padded outputs at real tokens, zeros at padding', { skip }, async (t) => {
  for (const c of cases.filter((c) => c.method.name === 'vanilla' || c.task !== 'sequence-classification')) {
    const name = `${c.family}${c.conv ? ' (conv)' : ''}/${c.task}${c.lengths ? ' (no padding)' : ''}`;
    const model = await createModel(tinyConfig(c.family, extra(c.family, c.conv)), { task: c.task, numLabels: c.task === 'regression' ? 1 : 3, seed: 3 });
    const b = batchOf(c);
    const packed = await model.forward(b, { skipPadding: true });
    const padded = await model.forward(b);
    const H = packed.hiddenShape[2];
    const positions = b.attentionMask!.length;
    let worst = 0;
    let atPadding = 0;
    for (let p = 0; p < positions; p++) {
      for (let k = 0; k < H; k++) {
        const d = Math.abs(packed.lastHiddenState[p * H + k]! - padded.lastHiddenState[p * H + k]!);
        if (realRow(b, p)) worst = Math.max(worst, d);
        else atPadding = Math.max(atPadding, Math.abs(packed.lastHiddenState[p * H + k]!));
      }
    }
    t.ok(worst <= 1e-5, `${name}: real tokens' last hidden state within ${worst.toExponential(2)}`);
    t.ok(Math.abs(packed.loss! - padded.loss!) <= 1e-5 * Math.max(1, Math.abs(padded.loss!)), `${name}: loss ${packed.loss} vs ${padded.loss}`);
    const skipped = c.packs && c.task !== 'question-answering' && !c.lengths;
    if (skipped) t.equal(atPadding, 0, `${name}: padding skipped (zero hidden state there)`);
    else t.same(packed.lastHiddenState, padded.lastHiddenState, `${name}: nothing skipped (bit-equal)`);
    model.dispose();
  }
});

t.test('model.attack skips padding by default, with the padded losses up to rounding', { skip }, async (t) => {
  const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 3, seed: 3 });
  const b = batchOf(cases[0]!);
  const opts = { epsilon: 0.5, steps: 4, stepSize: 0.2, start: 'uniform' as const, seed: 11 };
  const packed = await model.attack(b, opts);
  const padded = await model.attack(b, { ...opts, skipPadding: false });
  for (const key of ['cleanLoss', 'maxLoss', 'finalLoss'] as const) {
    const worst = Math.max(...Array.from(packed[key], (x, i) => Math.abs(x - padded[key][i]!) / Math.max(1, Math.abs(padded[key][i]!))));
    t.ok(worst <= 1e-5, `${key}: relative ${worst.toExponential(2)}`);
  }
  t.same(packed.succeeded, padded.succeeded);
  await t.rejects(model.forward(b, { skipPadding: true, outputHiddenStates: true }), { code: 'ERR_INVALID_ARG', message: /options\.skipPadding/ });
  await t.rejects(model.attack(b, { ...opts, skipPadding: 1 as unknown as boolean }), { code: 'ERR_INVALID_ARG', message: /options\.skipPadding/ });
  model.dispose();
});

t.test('a token-classification attack skips padding: its logits at every padding position are the head of a zero state', { skip }, async (t) => {
  const c = cases.find((c) => c.task === 'token-classification')!;
  const model = await createModel(tinyConfig(c.family), { task: c.task, numLabels: 3, seed: 3 });
  const b = batchOf(c);
  const opts = { epsilon: 0.5, steps: 2, stepSize: 0.2 };
  const spread = (r: { advLogits: Float32Array }) => {
    const pads = Array.from(b.attentionMask!).flatMap((m, p) => (m === 0 ? [p] : []));
    let worst = 0;
    for (const p of pads) for (let k = 0; k < 3; k++) worst = Math.max(worst, Math.abs(r.advLogits[p * 3 + k]! - r.advLogits[pads[0]! * 3 + k]!));
    return worst;
  };
  t.equal(spread(await model.attack(b, opts)), 0, 'skipped: one value at every padding position');
  t.ok(spread(await model.attack(b, { ...opts, skipPadding: false })) > 1e-4, 'through the padding: the values differ');
  model.dispose();
});
