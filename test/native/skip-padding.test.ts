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
  { family: 'roberta', task: 'multiple-choice', method: { name: 'freelb', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, numChoices: 2, packs: true },
  { family: 'electra', task: 'token-classification', method: { name: 'smart', steps: 1, noiseStd: 0.1, stepSize: 0.1 }, packs: true },
  { family: 'albert', task: 'masked-lm', method: { name: 'pgd', steps: 1, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: true },
  // Nothing skipped: QA reads padding positions, DeBERTa-v2 keeps its layers padded, a batch without
  // padding has nothing to skip, and InfoBERT's passes collect hidden states.
  { family: 'bert', task: 'question-answering', method: { name: 'freelb', steps: 2, stepSize: 0.3, epsilon: 0.5, initMag: 0.3 }, packs: false },
  { family: 'deberta-v2', task: 'sequence-classification', method: { name: 'vanilla' }, packs: false },
  { family: 'bert', task: 'sequence-classification', method: { name: 'vanilla' }, lengths: [9, 9, 9, 9], packs: false },
  { family: 'bert', task: 'sequence-classification', method: { name: 'infobert', steps: 1, stepSize: 0.1, initMag: 0.1, beta: 0.05, alpha: 0.5, anchorBatch: 4 }, packs: false },
];

function extra(family: ModelType): Record<string, unknown> {
  return family === 'deberta-v2' ? { relative_attention: true, pos_att_type: ['p2c', 'c2p'], position_buckets: 6, share_att_key: true, type_vocab_size: 2 } : {};
}

function batchOf(c: Case): LabeledBatch {
  const pad = c.family === 'roberta' ? 1 : 0;
  return randomBatch({ task: c.task, lengths: c.lengths ?? lengths, seqLen: 9, numChoices: c.numChoices, numLabels: 3, pad, seed: 5, types: c.family !== 'roberta' });
}

// One SGD step (scale-sensitive, unlike AdamW) from the same weights and seed; the weights after it.
async function stepOnce(c: Case, skipPadding: boolean, dropout: number, tag: string) {
  const config = tinyConfig(c.family, { ...extra(c.family), hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout });
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
    const name = `${c.family}/${c.task}/${c.method.name}${c.lengths ? ' (no padding)' : ''}`;
    const packed = await stepOnce(c, true, 0, `exact-${i}`);
    const padded = await stepOnce(c, false, 0, `exact-${i}`);
    t.ok(Math.abs(packed.loss - padded.loss) <= 1e-5 * Math.max(1, Math.abs(padded.loss)), `${name}: loss ${packed.loss} vs ${padded.loss}`);
    const { worst, where } = worstDiff(packed.weights, padded.weights);
    t.ok(worst <= 2e-6, `${name}: weights after one SGD step differ by ${worst.toExponential(2)} at ${where}`);
  }
});

t.test('padding is skipped exactly where nothing reads it (told apart by dropout draws)', { skip }, async (t) => {
  for (const [i, c] of cases.entries()) {
    const name = `${c.family}/${c.task}/${c.method.name}${c.lengths ? ' (no padding)' : ''}`;
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
