import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { BatchLoader, collateTexts, encodeTexts } from '../../lib/data/batching.js';
import type { TextExample } from '../../lib/data/table.js';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { createModel, loadModel, type Model } from '../../lib/model/model.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { evaluateRobustness, writeRobustnessReport } from '../../lib/robustness/report.js';
import { argmax } from '../../lib/robustness/stats.js';
import { NLTK_ENGLISH_STOPWORDS, TEXTFOOLER_STOPWORDS } from '../../lib/robustness/stopwords.js';
import { wordAttack, type WordAttackOptions } from '../../lib/robustness/word-attack.js';
import { segmentWords } from '../../lib/robustness/words.js';
import { loadTokenizer } from '../../lib/tokenizer/load.js';
import type { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { Trainer } from '../../lib/train/trainer.js';
import { cosineOf, wordVectors } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { reportErrors } from '../helpers/schema.js';

const skip = nativeSkipReason();
const root = t.testdir();

// Synthetic sentiment words plus pieces of a multi-piece word (un ##believ ##able).
async function tokenizer(): Promise<Tokenizer> {
  writeFileSync(join(root, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary(), 'un', '##believ', '##able'].join('\n')}\n`);
  writeFileSync(join(root, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
  return loadTokenizer(root);
}

function config(tok: Tokenizer) {
  return { model_type: 'bert', vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 48, max_position_embeddings: 64, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
}

// A tiny classifier trained for a second, so its predictions depend on the words.
async function classifier(tok: Tokenizer): Promise<Model> {
  const model = await createModel(config(tok), { task: 'sequence-classification', labels: ['negative', 'positive'], seed: 3 });
  model.tokenizer = tok;
  const items = encodeTexts(generateSentiment(512, 9), (a, b) => tok.encode(b === undefined ? a : [a, b]), {});
  const trainer = new Trainer({ model, optimizer: { name: 'adamw', lr: 3e-3 }, scheduler: { name: 'constant' }, seed: 1 });
  await trainer.fit(new BatchLoader(items, (xs) => collateTexts(xs, { padId: 0 }), { batchSize: 32, seed: 1 }), { maxSteps: 60 });
  trainer.dispose();
  return model;
}

const pair = { text: 'the film was good', textPair: 'the plot was really awful', label: 0 };
const examples: TextExample[] = [...generateSentiment(40, 1), { text: 'The unbelievable film was Boring.', label: 0 }, pair];

t.test('robustness measures on a tiny classifier', { skip }, async (t) => {
  const tok = await tokenizer();
  const model = await classifier(tok);
  t.teardown(() => model.dispose());
  // The pair is labeled as the model classifies it, so the attack on pairs runs.
  pair.label = argmax((await model.forward(tok.encodeBatch([[pair.text, pair.textPair]]))).logits);

  t.test('loss increase is >= 0 and grows with the radius', async (t) => {
    // Radii below the saturation of a tiny model's LayerNorm.
    const r = await evaluateRobustness(model, examples, { attacks: ['dlmax'], radii: [0.005, 0.02, 0.08], dlmax: { steps: 100, patience: 20 } });
    const dl = r.dlmax!;
    t.equal(dl.radii.length, 3);
    t.same([dl.median, dl.q1, dl.q3, dl.epsilon], [dl.radii[0]!.median, dl.radii[0]!.q1, dl.radii[0]!.q3, 0.005], 'top level = first radius');
    t.same([dl.stepSize, dl.steps, dl.patience], [5e-3, 100, 20]);
    const correct = Math.round(r.cleanAccuracy * r.examples);
    for (const x of dl.radii) {
      t.ok(x.min >= 0, `eps ${x.epsilon}: smallest increase ${x.min} >= 0`);
      t.ok(x.q1 <= x.median && x.median <= x.q3);
      t.equal(x.n, correct, 'every correctly classified example');
    }
    t.ok(dl.radii[0]!.median < dl.radii[1]!.median && dl.radii[1]!.median < dl.radii[2]!.median, `medians grow: ${dl.radii.map((x) => x.median.toExponential(2))}`);
    t.same([dl.tol, dl.definition.start, dl.definition.step], [1e-5, 'uniform', 'normalized'], 'the definition is named');
    // Robustness radii: grid values, one per correctly classified example.
    const rad = dl.radius!;
    t.same([rad.n, rad.threshold, rad.grid.length, rad.grid[0]], [correct, Math.log(2), 22, 0.2]);
    t.ok(rad.q1 <= rad.median && rad.median <= rad.q3 && rad.q1 >= 1e-4 && rad.q3 <= 0.2, `radius quartiles ${[rad.q1, rad.median, rad.q3].map((x) => x.toExponential(2))} on the grid`);
    const without = await evaluateRobustness(model, examples, { attacks: ['dlmax'], radii: [0.005], dlmax: { steps: 5, radius: false } });
    t.equal(without.dlmax!.radius, undefined, 'radius: false skips the search');
  });

  t.test('PGD: TextAttack counts, success grows with the radius, l2 and linf', async (t) => {
    const r = await evaluateRobustness(model, examples, { attacks: ['pgd'], radii: [0.01, 0.1, 1], pgd: { steps: 5 } });
    const pgd = r.pgd!;
    t.same(pgd.results.map((x) => x.norm), ['l2', 'l2', 'l2', 'linf', 'linf', 'linf']);
    t.same(pgd.results.slice(3).map((x) => x.epsilon), [0.01, 0.1, 1].map((e) => e / Math.sqrt(32)), 'linf radii: l2 radius / sqrt(D)');
    for (const x of pgd.results) {
      t.equal(x.successful + x.failed + x.skipped, examples.length);
      t.equal(x.skipped, examples.length - Math.round(r.cleanAccuracy * examples.length), 'misclassified examples are skipped');
      t.equal(x.accuracyUnderAttack, x.failed / examples.length);
    }
    for (const norm of ['l2', 'linf']) {
      const rates = pgd.results.filter((x) => x.norm === norm).map((x) => x.successRate);
      t.ok(rates[0]! <= rates[1]! && rates[1]! <= rates[2]!, `${norm}: success rates ${rates} do not fall with the radius`);
    }
    t.ok(pgd.results[2]!.successRate > 0, 'a large l2 radius breaks something');
    t.same([pgd.accuracyUnderAttack, pgd.successRate], [pgd.results[0]!.accuracyUnderAttack, pgd.results[0]!.successRate]);
    t.same(pgd.definition, { reference: pgd.definition.reference, step: { l2: 'normalized', linf: 'sign' }, stepSize: '2.5 * epsilon / steps', start: 'zero', success: 'any-iterate' });
    const random = (await evaluateRobustness(model, examples, { attacks: ['pgd'], radii: [0.1], pgd: { steps: 5, randomStart: true } })).pgd!;
    t.equal(random.definition.start, 'uniform', 'the random start is named');
    for (const x of random.results) t.equal(x.successful + x.failed + x.skipped, examples.length);
  });

  t.test('representation deviation: per layer, KL >= 0, less similar at a larger radius', async (t) => {
    const small = (await evaluateRobustness(model, examples, { attacks: ['deviation'], deviation: { epsilon: 0.01 } })).deviation!;
    const large = (await evaluateRobustness(model, examples, { attacks: ['deviation'], deviation: { epsilon: 0.5 } })).deviation!;
    t.equal(small.n, examples.length);
    t.equal(small.hiddenCosine.length, 3, 'embeddings + 2 layers');
    t.equal(small.attentionKL.length, 2);
    for (const d of [small, large]) {
      t.ok(d.attentionKL.every((kl) => kl >= 0));
      t.ok(d.hiddenCosine.every((c) => c <= 1 + 1e-6 && c > -1));
      t.ok(d.finalCosine.lowerBound <= d.finalCosine.mean + 1e-9);
      t.ok(Math.abs(d.finalCosine.mean - d.hiddenCosine[2]!) < 1e-6, 'the last hidden state is the last layer');
    }
    t.ok(large.finalCosine.lowerBound < small.finalCosine.lowerBound);
    t.ok(large.attentionKL[0]! > small.attentionKL[0]!);
  });

  t.test('word attacks never exceed the query budget or break a constraint', async (t) => {
    const mlm = await createModel(config(tok), { task: 'masked-lm', seed: 5 });
    t.teardown(() => mlm.dispose());
    const vector = await wordVectors(model, tok);
    const cosine = (a: string, b: string) => cosineOf(vector(a), vector(b));
    let successes = 0;
    let pairsAttacked = 0;
    const settings: WordAttackOptions[] = [
      { recipe: 'textfooler_jin_2019', minCosine: 0.2, queryBudget: 40, maxWordsFraction: 0.3, candidates: 20 },
      { recipe: 'bertattack_li_2020', mlm, minCosine: 0, queryBudget: 25, maxWordsFraction: 0.5 },
    ];
    for (const options of settings) {
      const { report, results } = await wordAttack(model, examples, options);
      const stop = new Set(options.recipe === 'textfooler_jin_2019' ? TEXTFOOLER_STOPWORDS : NLTK_ENGLISH_STOPWORDS);
      t.equal(results.length, examples.length);
      t.equal(report.recipe, `${options.recipe}+custom`, 'changed recipes are named so');
      t.equal(report.successful + report.failed + report.skipped, examples.length);
      for (const r of results) {
        const where = `${options.recipe} example ${r.example}`;
        t.ok(r.queries <= options.queryBudget!, `${where}: ${r.queries} queries`);
        if (r.status === 'skipped') {
          t.equal(r.queries, 0);
          continue;
        }
        const before = segmentWords(tok, r.original, 128).words;
        const after = segmentWords(tok, r.perturbed, 128).words;
        t.equal(after.length, before.length, `${where}: substitutes are single words`);
        const changed = before.flatMap((w, i) => (after[i]!.text !== w.text ? [i] : []));
        t.same(changed, r.substitutions.map((s) => s.index), `${where}: the substitutions are the changes`);
        t.ok(changed.length <= Math.ceil(options.maxWordsFraction! * r.words), `${where}: ${changed.length} of ${r.words} words changed`);
        for (const i of changed) {
          t.notOk(stop.has(before[i]!.text.toLowerCase()), `${where}: stop word '${before[i]!.text}' kept`);
          t.ok(cosine(before[i]!.text, after[i]!.text) >= options.minCosine! - 1e-6, `${where}: cosine bound`);
        }
        if (r.original.length === 2) {
          t.equal(r.perturbed[0], r.original[0], 'pairs: the first text is left alone');
          pairsAttacked++;
        }
        const out = await model.forward(tok.encodeBatch([r.perturbed.length === 2 ? [r.perturbed[0]!, r.perturbed[1]!] : r.perturbed[0]!]));
        t.equal(argmax(out.logits) !== r.label, r.status === 'successful', `${where}: the status is the model's verdict`);
        if (r.status === 'successful') successes++;
      }
      t.ok(report.examples.every((e) => e.status === 'successful') && report.examples.length <= 5);
      t.equal(report.avgQueries, results.filter((r) => r.status !== 'skipped').reduce((s, r) => s + r.queries, 0) / (report.successful + report.failed));
    }
    t.ok(successes > 0, `${successes} successful attacks exercised the checks`);
    t.equal(pairsAttacked, settings.length, 'the pair was attacked');
  });

  t.test('bad options fail before any attack', async (t) => {
    await t.rejects(evaluateRobustness(model, examples, { radii: [0] }), { code: 'ERR_INVALID_ARG', message: /options\.radii\[0\]/ });
    await t.rejects(evaluateRobustness(model, examples, { attacks: ['nope' as 'pgd'] }), { code: 'ERR_INVALID_ARG', message: /options\.attacks\[0\]/ });
    await t.rejects(evaluateRobustness(model, examples, { wordswap: { recipe: 'bertattack_li_2020' } }), { code: 'ERR_INVALID_ARG', message: /options\.wordswap\.mlm/ });
    await t.rejects(evaluateRobustness(model, examples, { wordswap: { mlm: model } }), { code: 'ERR_INVALID_ARG', message: /task 'masked-lm'/ });
    await t.rejects(evaluateRobustness(model, examples, { pgd: { step: 3 } as never }), { code: 'ERR_INVALID_ARG', message: /options\.pgd\.step/ });
    await t.rejects(evaluateRobustness(model, [{ text: 'x', label: 5 }]), { code: 'ERR_INVALID_ARG', message: /examples\[0\]\.label/ });
    const reg = await createModel(config(tok), { task: 'regression' });
    await t.rejects(evaluateRobustness(reg, examples, { tokenizer: tok }), { code: 'ERR_INVALID_ARG', message: /sequence-classification/ });
    reg.dispose();
  });

  t.test('the report validates against its schema; figures and report.json are written', async (t) => {
    const out = join(root, 'report');
    const many = [...examples, ...generateSentiment(30, 4)];
    const r = await evaluateRobustness(model, many, {
      radii: [0.01, 0.05],
      maxExamples: 20,
      seed: 3,
      dlmax: { steps: 30, patience: 5 },
      pgd: { steps: 3 },
      wordswap: { queryBudget: 30, minCosine: 0.1 },
      task: 'synthetic',
      outDir: out,
    });
    t.equal(reportErrors(r), '');
    t.same([r.examples, r.available, r.task], [20, many.length, 'synthetic']);
    t.same(r.figures, ['loss-increase.svg', 'pgd.svg', 'deviation.svg']);
    for (const f of r.figures) t.match(readFileSync(join(out, f), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    const saved = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    t.equal(reportErrors(saved), '');
    t.same(Object.keys(saved.seconds), ['clean', 'dlmax', 'pgd', 'deviation', 'wordswap']);
    const again = await evaluateRobustness(model, many, { attacks: ['pgd'], radii: [0.01], maxExamples: 20, seed: 3, pgd: { steps: 3, norms: ['l2'] } });
    t.equal(again.cleanAccuracy, r.cleanAccuracy, 'the same seed samples the same examples');
    t.equal(reportErrors({ ...saved, cleanAccuracy: 2 }).length > 0, true, 'the schema rejects a bad report');
    const redrawn = join(root, 'redrawn');
    t.same(await writeRobustnessReport(saved, redrawn), r.figures);
    t.ok(existsSync(join(redrawn, 'report.json')));
  });
});

t.test('a model whose logits ignore the input is never successfully attacked', { skip }, async (t) => {
  const tok = await tokenizer();
  const dir = join(root, 'constant');
  const random = await createModel(config(tok), { task: 'sequence-classification', numLabels: 2, seed: 8 });
  random.tokenizer = tok;
  await random.save(dir);
  random.dispose();
  // Zero classifier weights: logits = bias whatever the tokens.
  const file = join(dir, 'model.safetensors');
  const header = readSafetensorsHeader(file);
  const w = header.tensors.get('classifier.weight')!;
  const b = header.tensors.get('classifier.bias')!;
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(w.end - w.begin), 0, w.end - w.begin, w.begin);
  writeSync(fd, Buffer.from(new Float32Array([0.5, -0.5]).buffer), 0, b.end - b.begin, b.begin);
  closeSync(fd);
  rmSync(join(dir, 'advtrain-manifest.json')); // edited by hand: the save's manifest no longer holds
  const model = await loadModel(dir);
  t.teardown(() => model.dispose());
  const mlm = await createModel(config(tok), { task: 'masked-lm', seed: 5 });
  t.teardown(() => mlm.dispose());
  const r = await evaluateRobustness(model, examples, { radii: [0.05, 1], dlmax: { steps: 20, patience: 5 }, pgd: { steps: 3 }, wordswap: { mlm, queryBudget: 30 } });
  const negatives = examples.filter((e) => e.label === 0).length;
  t.equal(r.cleanAccuracy, negatives / examples.length, 'always class 0');
  t.ok(r.pgd!.results.every((x) => x.successRate === 0 && x.failed === negatives));
  t.ok(r.dlmax!.radii.every((x) => x.q3 === 0 && x.min === 0), 'no loss to gain');
  const ws = r.wordswap!;
  t.same([ws.successRate, ws.successful, ws.failed], [0, 0, negatives]);
  t.equal(ws.accuracyUnderAttack, r.cleanAccuracy);
  const tf = await wordAttack(model, examples, { minCosine: -1, queryBudget: 30 });
  t.equal(tf.report.successRate, 0);
});
