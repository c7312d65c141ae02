import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { AdvtrainError } from '../../lib/errors.js';
import { info } from '../../lib/info.js';
import type { ModelType, Task } from '../../lib/model/config.js';
import { createModel, loadModel, type Model } from '../../lib/model/model.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { evaluateModel } from '../../lib/train/evaluate.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const families: ModelType[] = ['bert', 'roberta', 'electra', 'albert'];
const tasks: Task[] = ['base', 'sequence-classification', 'regression', 'multiple-choice', 'token-classification', 'question-answering', 'masked-lm'];

function batchFor(type: ModelType, task: Task) {
  const pad = type === 'roberta' ? 1 : 0;
  const lengths = task === 'multiple-choice' ? [9, 6, 4, 9, 7, 3] : [9, 6, 4];
  return randomBatch({ task, lengths, seqLen: 9, pad, numChoices: task === 'multiple-choice' ? 3 : undefined, types: type !== 'roberta' });
}

t.test('every family and task: forward shapes, finite loss, save/load round trip', { skip }, async (t) => {
  for (const type of families) {
    for (const task of tasks) {
      const model = await createModel(tinyConfig(type), { task, numLabels: task === 'token-classification' ? 5 : 3, seed: 7 });
      const batch = batchFor(type, task);
      const out = await model.forward(batch, { outputHiddenStates: true, outputAttentions: true, perExampleLoss: task !== 'base' });
      const rows = batch.inputIds.length / batch.seqLen;
      const expected: Record<Task, number[]> = {
        base: type === 'electra' ? [0] : [rows, 32],
        'sequence-classification': [3, 3],
        regression: [3, 1],
        'multiple-choice': [2, 3],
        'token-classification': [rows, 9, 5],
        'question-answering': [rows, 9, 2],
        'masked-lm': [rows, 9, 60],
      };
      t.same(out.logitsShape, expected[task], `${type}/${task} logits shape`);
      t.same(out.hiddenShape, [rows, 9, 32], `${type}/${task} hidden shape`);
      t.equal(out.hiddenStates?.length, 3, `${type}/${task} embedding output + 2 layers`);
      t.equal(out.attentions?.length, 2);
      if (task !== 'base') {
        t.ok(Number.isFinite(out.loss), `${type}/${task} loss ${out.loss}`);
        const per = out.perExampleLoss!;
        t.equal(per.length, batch.batchSize === 2 && task === 'multiple-choice' ? 2 : task === 'token-classification' || task === 'masked-lm' || task === 'question-answering' ? rows : batch.batchSize);
      }
      const dir = t.testdir();
      await model.save(dir);
      const again = await loadModel(dir);
      t.same(again.loadReport, { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] }, `${type}/${task} loads back without key problems`);
      t.equal(again.task, task);
      // Same options as the first pass: attentions force the math path, which SDPA (libtorch >= 2) rounds differently.
      const out2 = await again.forward(batch, { outputHiddenStates: true, outputAttentions: true });
      t.equal(maxAbsDiff(out.lastHiddenState, out2.lastHiddenState), 0, `${type}/${task} same hidden state after reload`);
      if (out.logits.length) t.equal(maxAbsDiff(out.logits, out2.logits), 0, `${type}/${task} same logits after reload`);
      model.dispose();
      again.dispose();
    }
  }
});

t.test('saved folders use transformers key names and config fields', { skip }, async (t) => {
  const model = await createModel(tinyConfig('bert'), { task: 'masked-lm' });
  const dir = t.testdir();
  await model.save(dir);
  const header = readSafetensorsHeader(join(dir, 'model.safetensors'));
  t.ok(header.tensors.has('bert.encoder.layer.1.attention.self.query.weight'));
  t.ok(header.tensors.has('cls.predictions.transform.LayerNorm.weight'));
  t.notOk(header.tensors.has('cls.predictions.decoder.weight'), 'tied decoder saved once, as transformers does');
  t.equal(header.metadata.format, 'pt');
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  t.same(cfg.architectures, ['BertForMaskedLM']);
  t.equal(cfg.hidden_size, 32);
  model.dispose();
});

t.test('loadModel loads the weights whatever the tokenizer: vocabulary specials resolve, unresolvable ones warn', { skip }, async (t) => {
  const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 2, seed: 11 });
  const dir = t.testdir();
  await model.save(dir);
  const batch = randomBatch({ task: 'sequence-classification', lengths: [7, 4], seqLen: 7, numLabels: 2, seed: 12 });
  const want = (await model.forward(batch)).logits as Float32Array;
  model.dispose();
  // A WordPiece tokenizer.json with no added_tokens, no post-processor and no config files: the special
  // tokens exist only as vocabulary entries.
  const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world'];
  const spec = (vocab: string[]) => ({
    version: '1.0',
    added_tokens: [],
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(vocab.map((w, i) => [w, i])) },
  });
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));

  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(spec(words)));
  const withTok = await loadModel(dir);
  t.strictSame(
    Object.fromEntries(Object.entries(withTok.tokenizer!.special).map(([k, v]) => [k, v.id])),
    { cls: 2, sep: 3, pad: 0, mask: 4, unk: 1 },
    'special tokens resolved from the vocabulary',
  );
  withTok.dispose();

  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(spec(words.filter((w) => w !== '[MASK]'))));
  const noTok = await loadModel(dir);
  await new Promise((r) => setImmediate(r));
  t.equal(noTok.tokenizer, undefined);
  t.equal(maxAbsDiff((await noTok.forward(batch)).logits as Float32Array, want), 0, 'the weights loaded all the same');
  const w = warnings.find((x) => (x as NodeJS.ErrnoException).code === 'ADVTRAIN_TOKENIZER_UNRESOLVED');
  t.ok(w, 'a warning with code ADVTRAIN_TOKENIZER_UNRESOLVED');
  t.equal(w?.name, 'AdvtrainLoadWarning');
  t.match(w?.message, /model loaded without its tokenizer .*Expected a mask token/);
  noTok.dispose();
});

// transformers' CrossEntropyLoss (ignore_index -100): the mean over labeled entries only.
t.test('labels of -100 are ignored by every classification head, as in transformers', { skip }, async (t) => {
  const cases: [Task, number[], number | undefined][] = [
    ['sequence-classification', [7, 5, 6, 3], undefined],
    ['multiple-choice', [7, 5, 6, 3, 7, 2], 3],
    ['token-classification', [7, 5, 6], undefined],
    ['masked-lm', [7, 5, 6], undefined],
  ];
  for (const [task, lengths, numChoices] of cases) {
    const model = await createModel(tinyConfig('bert'), { task, numLabels: 3, seed: 17 });
    const batch = randomBatch({ task, lengths, seqLen: 7, numChoices, seed: 18 });
    const labels = batch.labels as Int32Array;
    labels[1] = -100; // an ignored example (or token)
    const out = await model.forward(batch, { perExampleLoss: true });
    const cols = out.logitsShape.at(-1)!;
    let sum = 0;
    let count = 0;
    labels.forEach((y, i) => {
      if (y === -100) return;
      const row = Array.from(out.logits!.subarray(i * cols, (i + 1) * cols), Number);
      const top = Math.max(...row);
      sum += Math.log(row.reduce((a, v) => a + Math.exp(v - top), 0)) + top - row[y]!;
      count++;
    });
    t.ok(Math.abs(out.loss! - sum / count) < 1e-5, `${task}: loss ${out.loss} = mean over the ${count} labeled entries ${sum / count}`);
    if (task === 'sequence-classification' || task === 'multiple-choice') {
      t.equal(out.perExampleLoss![1], 0, `${task}: the ignored example has no loss`);
      let correct = 0;
      labels.forEach((y, i) => {
        const row = Array.from(out.logits!.subarray(i * cols, (i + 1) * cols));
        if (y !== -100 && row.indexOf(Math.max(...row)) === y) correct++;
      });
      const ev = await evaluateModel(model, [batch]);
      t.equal(ev.examples, count, `${task}: evaluateModel counts only labelled examples`);
      t.ok(Math.abs(ev.loss! - out.loss!) < 1e-6, `${task}: evaluateModel's loss is the labelled mean`);
      t.equal(ev.accuracy, correct / count, `${task}: accuracy over the labelled examples`);
    }
    const tr = new Trainer({ model, method: { name: 'pgd' }, optimizer: { name: 'adamw', lr: 1e-3 } });
    const r = await tr.step(batch);
    t.ok(Number.isFinite(r.loss) && !r.skipped, `${task}: a training step with -100 labels is finite (${r.loss})`);
    tr.dispose();
    model.dispose();
  }
});

t.test('loading maps prefixes, legacy names and tied aliases; reports missing and unexpected keys', { skip }, async (t) => {
  // A base model saved without prefix loads into a classification model: the head is new.
  const base = await createModel(tinyConfig('bert'), { task: 'base', seed: 3 });
  const dir = t.testdir();
  await base.save(dir);
  const cls = await loadModel(dir, { task: 'sequence-classification', numLabels: 4 });
  t.same(cls.loadReport.missingKeys, ['classifier.weight', 'classifier.bias']);
  t.same(cls.loadReport.unexpectedKeys, []);
  const b = randomBatch({ task: 'base', lengths: [5, 3], seqLen: 5 });
  const h1 = await base.forward(b);
  const h2 = await cls.forward(b);
  t.equal(maxAbsDiff(h1.lastHiddenState, h2.lastHiddenState), 0, 'encoder weights came through the prefix mapping');

  // A classification checkpoint loaded as a base model: the head is unexpected.
  const dir2 = t.testdir();
  await cls.save(dir2);
  const back = await loadModel(dir2, { task: 'base' });
  t.same(back.loadReport.unexpectedKeys, ['classifier.weight', 'classifier.bias']);
  t.same(back.loadReport.missingKeys, []);

  // A wrong label count is a size mismatch naming the tensor, unless ignored.
  await t.rejects(loadModel(dir2, { numLabels: 2 }), { code: 'ERR_CHECKPOINT', message: /size mismatch for classifier\.weight.*\[4, 32\].*\[2, 32\]/ });
  const re = await loadModel(dir2, { numLabels: 2, ignoreMismatchedSizes: true });
  t.same(re.loadReport.mismatchedKeys.map((m) => m.key), ['classifier.weight', 'classifier.bias']);
  for (const m of [base, cls, back, re]) m.dispose();
});

t.test('legacy gamma/beta names load', { skip }, async (t) => {
  const m = await createModel(tinyConfig('bert'), { task: 'base', seed: 4 });
  const dir = t.testdir();
  await m.save(dir);
  // Rewrite the header keys LayerNorm.weight -> LayerNorm.gamma (same byte length change is fine: rebuild the file).
  const file = join(dir, 'model.safetensors');
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const renamed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(header)) renamed[k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta')] = v;
  let h = Buffer.from(JSON.stringify(renamed));
  h = Buffer.concat([h, Buffer.alloc((8 - ((h.length + 8) % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(file, Buffer.concat([len, h, buf.subarray(8 + n)]));
  rmSync(join(dir, 'advtrain-manifest.json')); // a legacy checkpoint from elsewhere has none
  const again = await loadModel(dir);
  t.same(again.loadReport.missingKeys, []);
  const b = randomBatch({ task: 'base', lengths: [4], seqLen: 4 });
  t.equal(maxAbsDiff((await m.forward(b)).lastHiddenState, (await again.forward(b)).lastHiddenState), 0);
  m.dispose();
  again.dispose();
});

t.test('invalid inputs are ERR_INVALID_ARG naming the field, expected and actual', { skip }, async (t) => {
  const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 3 });
  const good = randomBatch({ task: 'sequence-classification', lengths: [5, 3], seqLen: 5 });
  await t.rejects(model.forward({ ...good, inputIds: new Int32Array(9) }), { code: 'ERR_INVALID_ARG', message: /Int32Array of length 10 for batch\.inputIds but received Int32Array of length 9/ });
  const ids = good.inputIds.slice();
  ids[3] = 60;
  await t.rejects(model.forward({ ...good, inputIds: ids }), { code: 'ERR_INVALID_ARG', message: /in \[0, 59\] for batch\.inputIds\[3\] but received 60/ });
  await t.rejects(model.forward({ ...good, seqLen: 40, inputIds: new Int32Array(80) }), { code: 'ERR_INVALID_ARG', message: /<= 32 for batch\.seqLen but received 40/ });
  await t.rejects(model.forward({ ...good, labels: Int32Array.from([0, 3]) }), { message: /batch\.labels\[1\]/ });
  await t.rejects(model.forward({ ...good, attentionMask: new Int32Array(10).fill(2) }), { message: /batch\.attentionMask\[0\]/ });
  // bf16 on the CPU where this build or CPU cannot (test/native/bf16-cpu.test.ts covers both sides).
  if (!info().cpuBf16) await t.rejects(model.forward(good, { precision: 'bf16' }), { code: 'ERR_INVALID_ARG', message: /'fp32' on the CPU/ });
  await t.rejects(model.forward(good, { outputHiddenState: true } as never), { message: /options\.outputHiddenState/ });
  t.rejects(createModel({ ...tinyConfig('bert'), hidden_size: 30 }), { code: 'ERR_CHECKPOINT', message: /hidden_size.*multiple of num_attention_heads/ });
  model.dispose();
});

t.test('a disposed model refuses calls; a busy model refuses a second call', { skip }, async (t) => {
  const model: Model = await createModel(tinyConfig('bert', { num_hidden_layers: 4, hidden_size: 128, intermediate_size: 512 }), { task: 'sequence-classification', numLabels: 3 });
  const big = randomBatch({ task: 'sequence-classification', lengths: Array(32).fill(32), seqLen: 32 });
  const first = model.forward(big);
  await t.rejects(model.forward(big), { code: 'ERR_BUSY', message: /Model is busy running forward\(\); await it before calling forward\(\)/ });
  t.throws(() => model.dispose(), { code: 'ERR_BUSY' });
  await first;
  model.dispose();
  t.equal(model.disposed, true);
  const err = await model.forward(big).catch((e: unknown) => e);
  t.ok(err instanceof AdvtrainError);
  t.equal((err as AdvtrainError).code, 'ERR_DISPOSED');
  t.match((err as AdvtrainError).message, /disposed; cannot call forward\(\)/);
  t.throws(() => model.numParameters(), { code: 'ERR_DISPOSED' });
  t.doesNotThrow(() => model.dispose(), 'dispose twice is harmless');
});

t.test('math attention and SDPA agree within 1e-5 (libtorch >= 2 runs SDPA; 1.x only has the math path)', { skip }, async (t) => {
  const sdpa = Number(info().torchVersion.split('.')[0]) >= 2;
  const model = await createModel(tinyConfig('bert', { num_hidden_layers: 3, hidden_size: 64, intermediate_size: 96 }), { task: 'sequence-classification', numLabels: 3, seed: 9 });
  let differs = false;
  // Padding in every batch, lengths that are not multiples of 8, a row of one token.
  for (const [lengths, seqLen] of [[[9, 5, 2], 9], [[13, 13, 7, 1], 13], [[31, 17, 30], 31]] as [number[], number][]) {
    const b = randomBatch({ task: 'sequence-classification', lengths, seqLen, seed: seqLen, types: true });
    const a = await model.forward(b, { attention: 'math' });
    const s = await model.forward(b, { attention: 'auto' });
    const dh = maxAbsDiff(a.lastHiddenState, s.lastHiddenState);
    t.ok(dh < 1e-5, `L ${seqLen}: hidden states differ by ${dh}`);
    t.ok(maxAbsDiff(a.logits!, s.logits!) < 1e-5, `L ${seqLen}: logits`);
    if (dh > 0) differs = true;
  }
  // SDPA's kernel rounds differently from matmul + softmax: equal bits would mean it never ran.
  if (sdpa) t.ok(differs, 'SDPA ran (its results are not bit-identical to the math path)');
  else t.notOk(differs, 'without SDPA both options run the same math path');
  model.dispose();
});

t.test('RoBERTa positions skip padding: right-padding does not change real-token outputs', { skip }, async (t) => {
  const model = await createModel(tinyConfig('roberta'), { task: 'base', seed: 5 });
  const short = { inputIds: Int32Array.from([0, 7, 8, 9, 2]), batchSize: 1, seqLen: 5 };
  const padded = { inputIds: Int32Array.from([0, 7, 8, 9, 2, 1, 1]), attentionMask: Int32Array.from([1, 1, 1, 1, 1, 0, 0]), batchSize: 1, seqLen: 7 };
  const a = await model.forward(short);
  const b = await model.forward(padded);
  t.ok(maxAbsDiff(a.lastHiddenState, b.lastHiddenState.subarray(0, 5 * 32)) < 1e-5);
  model.dispose();
});

t.test('masked-LM forward with labeledOnly: the labelled positions of the full logits, the same loss and metrics', { skip }, async (t) => {
  for (const family of ['bert', 'roberta', 'albert', 'deberta-v2'] as ModelType[]) {
    const model = await createModel(tinyConfig(family), { task: 'masked-lm', seed: 4 });
    const batch = randomBatch({ task: 'masked-lm', lengths: [9, 5, 7], seqLen: 9, seed: 8, pad: family === 'roberta' ? 1 : 0 });
    const full = await model.forward(batch);
    const compact = await model.forward(batch, { labeledOnly: true });
    const V = full.logitsShape[2]!;
    const labelled = Array.from(batch.labels as Int32Array).flatMap((y, i) => (y === -100 ? [] : [i]));
    t.ok(labelled.length > 2, `${family}: ${labelled.length} labelled positions`);
    t.same(compact.logitsShape, [labelled.length, V], `${family}: logits [M, V]`);
    let worst = 0;
    labelled.forEach((p, m) => {
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(compact.logits[m * V + v]! - full.logits[p * V + v]!));
    });
    t.ok(worst <= 1e-5, `${family}: logits within ${worst.toExponential(2)}`);
    t.ok(Math.abs(compact.loss! - full.loss!) <= 1e-5 * Math.abs(full.loss!), `${family}: loss ${compact.loss} vs ${full.loss}`);
    // evaluateModel asks for labelled logits only: its masked accuracy is the full logits' one. Every
    // other label is made the full logits' argmax there (the logits do not depend on the labels), so a
    // position mix-up would show.
    const labels = Int32Array.from(batch.labels as Int32Array);
    const argmax = (p: number) => {
      const row = Array.from(full.logits.subarray(p * V, (p + 1) * V));
      return row.indexOf(Math.max(...row));
    };
    labelled.forEach((p, m) => {
      if (m % 2 === 0) labels[p] = argmax(p);
    });
    const right = labelled.filter((p) => argmax(p) === labels[p]).length;
    const metrics = await evaluateModel(model, [{ ...batch, labels }]);
    t.ok(right >= labelled.length / 2, `${family}: ${right} right`);
    t.equal(metrics.maskedAccuracy, right / labelled.length, `${family}: masked accuracy ${right}/${labelled.length}`);
    await t.rejects(model.forward({ ...batch, labels: undefined }, { labeledOnly: true }), { code: 'ERR_INVALID_ARG', message: /options\.labeledOnly/ });
    model.dispose();
  }
  const cls = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 2 });
  await t.rejects(cls.forward(randomBatch({ task: 'sequence-classification', lengths: [4], seqLen: 4 }), { labeledOnly: true }), { code: 'ERR_INVALID_ARG', message: /masked-lm/ });
  cls.dispose();
});

t.test('forward with outputLastHiddenState false: no hidden state copied, the same logits, loss and shape', { skip }, async (t) => {
  for (const task of ['sequence-classification', 'token-classification', 'question-answering', 'masked-lm'] as Task[]) {
    const model = await createModel(tinyConfig('bert'), { task, numLabels: 3, seed: 5 });
    const batch = batchFor('bert', task);
    const full = await model.forward(batch, { perExampleLoss: true, skipPadding: true });
    const lean = await model.forward(batch, { perExampleLoss: true, skipPadding: true, outputLastHiddenState: false });
    t.equal(full.lastHiddenState.length, batch.inputIds.length * 32, `${task}: the default copies [N, L, H]`);
    t.equal(lean.lastHiddenState.length, 0, `${task}: nothing copied`);
    t.same(lean.hiddenShape, full.hiddenShape, `${task}: hiddenShape still given`);
    t.same(lean.logits, full.logits, `${task}: the same logits`);
    t.ok(full.loss !== undefined && Number.isFinite(full.loss), `${task}: a loss`);
    t.equal(lean.loss, full.loss, `${task}: the same loss`);
    t.same(lean.perExampleLoss, full.perExampleLoss, `${task}: the same per-example losses`);
    model.dispose();
  }
  const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 2 });
  await t.rejects(model.forward(batchFor('bert', 'sequence-classification'), { outputLastHiddenState: 'no' as unknown as boolean }), {
    code: 'ERR_INVALID_ARG',
    message: /options\.outputLastHiddenState/,
  });
  model.dispose();
});
