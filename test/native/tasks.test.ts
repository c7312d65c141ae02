import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BatchLoader, collateChoices, collateTagged, encodeChoices, encodeTagged } from '../../lib/data/batching.js';
import { readMultipleChoice } from '../../lib/data/choice.js';
import { buildTagList, readConll } from '../../lib/data/conll.js';
import { createModel } from '../../lib/model/model.js';
import { collateQa, evaluateQa, predictQa, prepareQaFeatures } from '../../lib/tasks/qa.js';
import { loadTokenizer, type Tokenizer } from '../../lib/tokenizer/index.js';
import { evaluateModel } from '../../lib/train/evaluate.js';
import { Trainer } from '../../lib/train/trainer.js';
import { tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { conllText, syntheticChoice, syntheticNer, syntheticQa, taskVocab } from '../helpers/tasks.js';

const skip = nativeSkipReason();

async function taskTokenizer(t: Test): Promise<Tokenizer> {
  const dir = t.testdir();
  writeFileSync(join(dir, 'vocab.txt'), `${taskVocab().join('\n')}\n`);
  return loadTokenizer(dir);
}

const config = (tok: Tokenizer) => tinyConfig('bert', { vocab_size: tok.vocabSize, max_position_embeddings: 32 });

t.test('question answering: windowed features, FreeLB steps, exact match and F1 through span decoding', { skip }, async (t) => {
  const tok = await taskTokenizer(t);
  const train = syntheticQa(96, 1);
  const dev = syntheticQa(24, 2);
  // 'what colour is the dog ?' and 3 special tokens leave 15 context tokens per window: 3 to 6 sentences of 5 need up to 3.
  const options = { maxLength: 24, docStride: 5 };
  const trainFeatures = prepareQaFeatures(tok, train, options);
  const devFeatures = prepareQaFeatures(tok, dev, options);
  t.ok(trainFeatures.length > train.length * 1.3, `${trainFeatures.length} windows for ${train.length} questions`);
  const model = await createModel(config(tok), { task: 'question-answering', seed: 1 });
  model.tokenizer = tok;
  const before = await evaluateQa(model, dev, devFeatures);
  const loader = new BatchLoader(trainFeatures, (xs) => collateQa(xs, { padId: tok.special.pad.id }), { batchSize: 16, seed: 1, bucket: true });
  const trainer = new Trainer({ model, method: { name: 'freelb', steps: 2 }, optimizer: { name: 'adamw', lr: 3e-3 }, seed: 1 });
  const result = await trainer.fit(loader, { maxSteps: 30, evalData: (m) => evaluateQa(m, dev, devFeatures) });
  const after = result.evalMetrics!;
  t.same(Object.keys(after).sort(), ['exact_match', 'examples', 'f1', 'features', 'loss']);
  t.same([after.examples, after.features], [dev.length, devFeatures.length]);
  t.ok(after.loss! < before.loss! - 0.5, `loss ${before.loss} -> ${after.loss}`);
  t.ok(after.exact_match! >= 0 && after.exact_match! <= after.f1! && after.f1! <= 1, `exact match ${after.exact_match}, F1 ${after.f1}`);
  t.ok(trainer.state.logHistory.some((e) => e.eval_f1 === after.f1), 'fit logs the evaluator metrics');

  const predictions = await predictQa(model, dev, devFeatures, { batchSize: 7 });
  t.same(predictions.map((p) => p.id), dev.map((e) => e.id));
  t.ok(predictions.every((p, i) => p.text === dev[i]!.context.slice(p.start, p.end) && p.text.length > 0), 'every answer is a span of its context');
  // Padding takes part in the loss's softmax (as in transformers), so only the loss depends on the batch size.
  const again = await evaluateQa(model, dev, devFeatures, { batchSize: 5 });
  t.same([again.exact_match, again.f1], [after.exact_match, after.f1], 'batch size does not change the answers');

  const classifier = await createModel(config(tok), { task: 'sequence-classification' });
  await t.rejects(evaluateQa(classifier, dev, devFeatures), { code: 'ERR_INVALID_ARG', message: "Expected a question-answering model for model but received 'sequence-classification' of type string" });
  classifier.dispose();
  trainer.dispose();
  model.dispose();
});

t.test('multiple choice: readMultipleChoice -> encodeChoices -> collateChoices -> Trainer, accuracy', { skip }, async (t) => {
  const tok = await taskTokenizer(t);
  const dir = t.testdir();
  const jsonl = (n: number, seed: number) => syntheticChoice(n, seed).map((e) => JSON.stringify({ ctx: e.context, endings: e.choices, label: e.label })).join('\n');
  writeFileSync(join(dir, 'train.jsonl'), jsonl(256, 3));
  writeFileSync(join(dir, 'dev.jsonl'), jsonl(30, 4));
  const encode = (context: string, ending?: string) => tok.encode([context, ending!], { maxLength: 32 });
  const train = encodeChoices(await readMultipleChoice(join(dir, 'train.jsonl')), encode, { maxLength: 32 });
  const dev = encodeChoices(await readMultipleChoice(join(dir, 'dev.jsonl')), encode, { maxLength: 32 });
  const padId = tok.special.pad.id;
  const devBatches = [0, 16].map((i) => collateChoices(dev.slice(i, i + 16), { padId }));
  t.same(devBatches.map((b) => [b.batchSize, b.numChoices]), [[16, 3], [14, 3]]);
  const model = await createModel(config(tok), { task: 'multiple-choice', seed: 2 });
  const trainer = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 2 });
  const loader = new BatchLoader(train, (xs) => collateChoices(xs, { padId }), { batchSize: 8, seed: 2 });
  const before = await evaluateModel(model, devBatches);
  // The loss stays at ln 3 for ~80 steps before the model starts comparing colours.
  const { evalMetrics } = await trainer.fit(loader, { maxSteps: 100, evalData: devBatches });
  t.same(Object.keys(evalMetrics!).sort(), ['accuracy', 'examples', 'loss']);
  t.equal(evalMetrics!.examples, 30);
  t.ok(evalMetrics!.loss! < 1, `loss ${before.loss} -> ${evalMetrics!.loss}`);
  t.ok(evalMetrics!.accuracy! > 1 / 3, `accuracy ${before.accuracy} -> ${evalMetrics!.accuracy}, above chance`);
  trainer.dispose();
  model.dispose();
});

t.test('token classification: readConll -> encodeWords -> encodeTagged -> collateTagged -> Trainer, entity F1', { skip }, async (t) => {
  const tok = await taskTokenizer(t);
  const dir = t.testdir({ 'train.conll': conllText(syntheticNer(128, 5)), 'dev.conll': conllText(syntheticNer(32, 6)) });
  const sentences = await readConll(join(dir, 'train.conll'));
  const tags = buildTagList(sentences);
  t.same(tags, ['O', 'B-location', 'I-location', 'B-person', 'I-person']);
  const encodeWords = (words: string[]) => tok.encodeWords(words, { maxLength: 32 });
  const train = encodeTagged(sentences, encodeWords, tags, { maxLength: 32 });
  const dev = encodeTagged(await readConll(join(dir, 'dev.conll')), encodeWords, tags, { maxLength: 32 });
  t.ok(train.some((x) => x.labels.filter((l) => l === -100).length > 2), 'plurals put their second piece under -100');
  const padId = tok.special.pad.id;
  const model = await createModel(config(tok), { task: 'token-classification', labels: tags, seed: 3 });
  t.same(model.config.id2label, tags);
  const trainer = new Trainer({ model, method: { name: 'freelb', steps: 2 }, optimizer: { name: 'adamw', lr: 3e-3 }, seed: 3 });
  const loader = new BatchLoader(train, (xs) => collateTagged(xs, { padId }), { batchSize: 16, seed: 3 });
  const { evalMetrics } = await trainer.fit(loader, { epochs: 4, evalData: [collateTagged(dev, { padId })] });
  t.same(Object.keys(evalMetrics!).sort(), ['examples', 'f1', 'loss', 'precision', 'recall', 'tokenAccuracy']);
  t.ok(evalMetrics!.f1! > 0.5, `entity F1 ${evalMetrics!.f1} after 32 steps`);
  trainer.dispose();
  model.dispose();
});
