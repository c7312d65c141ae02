import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import t from 'tap';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { createModel, loadModel, type Model } from '../../lib/model/model.js';
import { maxLossIncrease, pgdAttack } from '../../lib/robustness/embedding.js';
import { evaluateRobustness } from '../../lib/robustness/report.js';
import { STOP_WORDS } from '../../lib/robustness/stopwords.js';
import { wordAttack } from '../../lib/robustness/word-attack.js';
import { loadTokenizer } from '../../lib/tokenizer/load.js';
import { Trainer } from '../../lib/train/trainer.js';
import { encodeExamples, evalBatches, trainLoader } from '../../lib/cli/task-data.js';
import { runCli } from '../helpers/cli.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();
const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'lib', 'robustness', 'report.schema.json'), 'utf8'));

// A tiny BERT trained past the task's initial plateau (the demo's recipe), trained once per file.
let trained: Promise<string> | undefined;
function trainedFolder(): Promise<string> {
  trained ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'advtrain-robustness-'));
    writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
    const tok = await loadTokenizer(dir);
    const model = await createModel({ model_type: 'bert', vocab_size: tok.vocabSize, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 128, max_position_embeddings: 40 }, { task: 'sequence-classification', labels: ['neg', 'pos'], seed: 7 });
    model.tokenizer = tok;
    const trainer = new Trainer({ model, optimizer: { name: 'adamw', lr: 1e-3 }, seed: 7 });
    await trainer.fit(trainLoader(encodeExamples(tok, generateSentiment(4000, 7), 32), tok.special.pad.id, 'sequence-classification', 32, 7), { maxSteps: 300 });
    await model.save(join(dir, 'model'));
    model.dispose();
    return dir;
  })();
  return trained;
}

t.teardown(async () => {
  if (trained) rmSync(await trained, { recursive: true, force: true });
});

/** A fresh copy of the trained model in `dir` (with its tokenizer). */
async function trainedModel(dir: string): Promise<Model> {
  cpSync(join(await trainedFolder(), 'model'), join(dir, 'model'), { recursive: true });
  return loadModel(join(dir, 'model'));
}

t.test('loss increase is >= 0 and grows with the radius; PGD counts add up', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir);
  const tok = model.tokenizer!;
  const batches = evalBatches(encodeExamples(tok, generateSentiment(40, 5), 32), tok.special.pad.id, 'sequence-classification', 20);
  const rows = await maxLossIncrease(model, batches, { radii: [0.01, 0.05, 0.2], steps: 60, stepSize: 0.01, patience: 10 });
  t.ok(rows.every((r) => r.n > 0 && r.q1 >= 0 && r.median >= 0), 'non-negative increases');
  t.ok(rows[0]!.median <= rows[1]!.median && rows[1]!.median <= rows[2]!.median, `median grows: ${rows.map((r) => r.median.toFixed(4)).join(' <= ')}`);
  const pgd = await pgdAttack(model, batches, { radii: [0.05, 1], norms: ['l2', 'linf'] });
  for (const r of pgd) t.equal(r.successful + r.failed + r.skipped, 40);
  t.ok(pgd[1]!.accuracyUnderAttack <= pgd[0]!.accuracyUnderAttack, 'a larger ball never helps the model');
  model.dispose();
});

t.test('the word attack keeps its budget and constraints', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir);
  const tok = model.tokenizer!;
  const examples = generateSentiment(30, 9);
  const minCosine = 0.1;
  const r = await wordAttack(model, tok, examples, { queryBudget: 200, maxWordFraction: 0.5, minCosine, keepExamples: 30 });
  t.equal(r.successful + r.failed + r.skipped, 30);
  t.ok(r.successful > 0, `${r.successful} successful attacks to check (${r.failed} failed, ${r.skipped} skipped)`);
  t.ok(r.avgQueries <= 200, `average queries ${r.avgQueries} within the budget`);
  const E = await model.wordEmbeddings();
  const D = E.length / tok.vocabSize;
  const vec = (w: string) => E.subarray(tok.tokenToId(w)! * D, (tok.tokenToId(w)! + 1) * D);
  const cos = (a: Float32Array, b: Float32Array) => {
    let d = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) [d, na, nb] = [d + a[i]! * b[i]!, na + a[i]! ** 2, nb + b[i]! ** 2];
    return d / Math.sqrt(na * nb);
  };
  for (const ex of r.examples) {
    t.ok(ex.queries <= 200);
    const a = ex.original.split(' ');
    const b = ex.adversarial.split(' ');
    t.equal(a.length, b.length);
    const changed = a.map((w, i) => [w, b[i]!] as const).filter(([x, y]) => x !== y);
    t.equal(changed.length, ex.wordsPerturbed);
    t.ok(changed.length <= Math.max(1, Math.floor(0.5 * a.length)), 'at most half of the words');
    for (const [orig, sub] of changed) {
      t.notOk(STOP_WORDS.has(orig), `stop word '${orig}' kept`);
      t.ok(cos(vec(orig), vec(sub)) >= minCosine - 1e-6, `${orig} -> ${sub} respects the cosine bound`);
    }
    t.not(ex.adversarialPrediction, ex.label);
  }
  model.dispose();
});

t.test('a model that ignores its input cannot be attacked', { skip }, async (t) => {
  const dir = t.testdir();
  const trained = await trainedModel(dir);
  trained.dispose();
  // Zero the classifier weights: the logits are the bias, whatever the input.
  const file = join(dir, 'model', 'model.safetensors');
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  const [b, e] = header['classifier.weight'].data_offsets as [number, number];
  buf.fill(0, 8 + n + b, 8 + n + e);
  writeFileSync(file, buf);
  const deaf = await loadModel(join(dir, 'model'));
  const constant = (await deaf.forward(deaf.tokenizer!.encodeBatch(['the film was good']))).logits;
  const label = constant[1]! > constant[0]! ? 1 : 0;
  const examples = generateSentiment(20, 4).map((x) => ({ ...x, label }));
  const words = await wordAttack(deaf, deaf.tokenizer!, examples, { queryBudget: 100 });
  t.equal(words.successRate, 0);
  t.equal(words.skipped, 0);
  const batches = evalBatches(encodeExamples(deaf.tokenizer!, examples, 32), 0, 'sequence-classification', 20);
  const pgd = await pgdAttack(deaf, batches, { radii: [5], norms: ['l2'] });
  t.equal(pgd[0]!.successRate, 0);
  deaf.dispose();
});

t.test('the report validates against its JSON schema and the CLI writes it with figures', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir);
  const ajv = new Ajv({ allErrors: true });
  const validate = ajv.compile(schema);
  const report = await evaluateRobustness(model, generateSentiment(16, 6), { radii: [0.05, 0.2], maxExamples: 12, dlmax: { steps: 30 }, wordswap: { queryBudget: 40 } });
  t.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  t.notOk(validate({ ...report, cleanAccuracy: 1.5 }), 'an out-of-range accuracy is rejected');
  model.dispose();

  writeFileSync(join(dir, 'dev.tsv'), `sentence\tlabel\n${generateSentiment(16, 7).map((e) => `${e.text}\t${e.label}`).join('\n')}\n`);
  const out = join(dir, 'robust');
  const res = await runCli(['robustness', '--model', join(dir, 'model'), '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', out, '--radii', '0.05,0.2', '--max-examples', '8', '--dlmax-steps', '20', '--query-budget', '30']);
  t.equal(res.code, 0, res.stderr);
  const written = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  t.ok(validate(written), JSON.stringify(validate.errors));
  for (const k of ['cleanAccuracy', 'dlmax', 'pgd', 'wordswap']) t.ok(k in written, `report has ${k}`);
  t.same(written.figures, ['loss-increase.svg', 'representation-deviation.svg']);
  t.match(readFileSync(join(out, 'loss-increase.svg'), 'utf8'), /^<svg/);
});

t.test('AdvGLUE files: eval --advglue prints the contract object; bad files are ERR_DATA', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await trainedModel(dir);
  model.dispose();
  const items = generateSentiment(12, 8).map((e, idx) => ({ sentence: e.text, label: e.label, idx }));
  writeFileSync(join(dir, 'adv.json'), JSON.stringify({ sst2: items, rte: [{ sentence1: 'a', sentence2: 'b', label: 0, idx: 0 }] }));
  const res = await runCli(['eval', '--advglue', join(dir, 'adv.json'), '--task', 'sst2', '--model', join(dir, 'model'), '--json']);
  t.equal(res.code, 0, res.stderr);
  const obj = JSON.parse(res.stdout);
  t.same(Object.keys(obj), ['task', 'accuracy', 'n']);
  t.equal(obj.task, 'sst2');
  t.equal(obj.n, 12);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ sst2: [{ sentence: 3, label: 0 }] }));
  const bad = await runCli(['eval', '--advglue', join(dir, 'bad.json'), '--task', 'sst2', '--model', join(dir, 'model')]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /bad\.json.*sst2\[0\]\.sentence: expected a string/);
});

t.test('figures: loss against representation similarity from training logs', { skip }, async (t) => {
  const dir = t.testdir();
  const log = join(dir, 'creat', 'metrics.jsonl');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'creat'));
  writeFileSync(log, [1, 2, 3].map((s) => JSON.stringify({ type: 'step', step: s, loss: 1 / s, repCos: 0.9 + s / 100 })).join('\n'));
  const res = await runCli(['figures', '--logs', log, '--out', join(dir, 'fig.svg')]);
  t.equal(res.code, 0, res.stderr);
  t.match(readFileSync(join(dir, 'fig.svg'), 'utf8'), /<svg[\s\S]*creat/);
});
