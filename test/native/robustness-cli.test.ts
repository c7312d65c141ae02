import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/data.js';
import { nativeSkipReason } from '../helpers/native.js';
import { reportErrors } from '../helpers/schema.js';

const skip = nativeSkipReason();

t.test('robustness, figures and eval --advglue from the command line', { skip }, async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
  const tsv = (rows: { text: string; label: number }[]) => `sentence\tlabel\n${rows.map((e) => `${e.text}\t${e.label}`).join('\n')}\n`;
  writeFileSync(join(dir, 'train.tsv'), tsv(generateSentiment(256, 1)));
  const dev = generateSentiment(24, 2);
  writeFileSync(join(dir, 'dev.tsv'), tsv(dev));
  const common = ['--task', 'sst2', '--train', join(dir, 'train.tsv'), '--size', 'tiny', '--tokenizer', dir, '--max-steps', '20', '--batch-size', '16', '--lr', '1e-3', '--quiet'];
  for (const method of ['creat', 'vanilla']) {
    const tr = await runCli(['train', ...common, '--method', method, '--out', join(dir, method)]);
    t.equal(tr.code, 0, tr.stderr);
  }
  const model = join(dir, 'creat');

  t.test('advtrain robustness writes report.json (the contract) and figures', async (t) => {
    const out = join(dir, 'rob');
    const res = await runCli(['robustness', '--model', model, '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', out, '--attacks', 'dlmax,pgd,wordswap', '--radii', '0.01,0.05', '--max-examples', '16', '--seed', '1', '--dlmax-steps', '20', '--patience', '5', '--pgd-steps', '3', '--query-budget', '30', '--min-cosine', '0']);
    t.equal(res.code, 0, res.stderr);
    t.match(res.stdout, /clean accuracy\s+0\.\d+/);
    t.match(res.stdout, /word attack textfooler_jin_2019\+custom\s+accuracy under attack/);
    t.match(res.stderr, /dlmax done in/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    t.equal(reportErrors(report), '');
    t.same([report.task, report.examples, report.available, report.seed], ['sst2', 16, 24, 1]);
    t.type(report.cleanAccuracy, 'number');
    for (const k of ['median', 'q1', 'q3']) t.type(report.dlmax[k], 'number');
    t.same(report.dlmax.radii.map((r: { epsilon: number }) => r.epsilon), [0.01, 0.05]);
    t.type(report.dlmax.radius.median, 'number');
    t.match(res.stdout, /robustness radius \(loss <= log 2\)\s+median/);
    t.same([report.dlmax.definition.start, report.pgd.definition.step.linf, report.pgd.definition.success], ['uniform', 'sign', 'any-iterate'], 'report.json names the attack definitions');
    t.same(Object.keys(report.pgd).filter((k) => ['accuracyUnderAttack', 'successRate'].includes(k)).length, 2);
    t.equal(report.pgd.results.length, 4, 'two radii x two norms');
    for (const k of ['accuracyUnderAttack', 'successRate', 'avgQueries']) t.type(report.wordswap[k], 'number');
    t.ok('avgWordsPerturbed' in report.wordswap);
    t.notOk('deviation' in report, 'only the attacks asked for');
    t.same(report.figures, ['loss-increase.svg', 'pgd.svg']);
    for (const f of report.figures) t.ok(existsSync(join(out, f)));

    const json = await runCli(['robustness', '--model', model, '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', join(dir, 'rob2'), '--attacks', 'deviation', '--radii', '0.05', '--max-examples', '4', '--json']);
    t.equal(json.code, 0, json.stderr);
    t.equal(JSON.parse(json.stdout).deviation.hiddenCosine.length, 3);

    const redraw = await runCli(['figures', '--report', join(out, 'report.json'), '--out', join(dir, 'redrawn')]);
    t.equal(redraw.code, 0, redraw.stderr);
    t.ok(existsSync(join(dir, 'redrawn', 'pgd.svg')));
  });

  t.test('--mlm: masked-LM substitutes from a model made by advtrain pretrain', async (t) => {
    writeFileSync(join(dir, 'corpus.txt'), `${generateSentiment(200, 5).map((e) => e.text).join('\n')}\n`);
    const pre = await runCli(['pretrain', '--corpus', join(dir, 'corpus.txt'), '--format', 'lines', '--tokenizer', dir, '--size', 'tiny', '--max-steps', '3', '--seq', '16', '--batch-size', '8', '--out', join(dir, 'mlm'), '--quiet']);
    t.equal(pre.code, 0, pre.stderr);
    const res = await runCli(['robustness', '--model', model, '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', join(dir, 'rob-mlm'), '--attacks', 'wordswap', '--mlm', join(dir, 'mlm'), '--max-examples', '8', '--query-budget', '20', '--similarity-encoder', model, '--json']);
    t.equal(res.code, 0, res.stderr);
    const w = JSON.parse(res.stdout).wordswap;
    t.same([w.recipe, w.transformation, w.candidates, w.maxWordsFraction, w.queryBudget], ['bertattack_li_2020', 'masked-lm', 48, 0.4, 20]);
    t.match(w.sentenceSimilarity, { metric: 'cosine', threshold: 0.2, encoder: model, note: /not the Universal Sentence Encoder/ });
    t.ok(w.avgQueries <= 20);
    t.equal(reportErrors(JSON.parse(readFileSync(join(dir, 'rob-mlm', 'report.json'), 'utf8'))), '');
  });

  t.test('--recipe pwws_ren_2019: WordNet synonyms, no query budget unless one is set', async (t) => {
    const res = await runCli(['robustness', '--model', model, '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', join(dir, 'rob-pwws'), '--attacks', 'wordswap', '--recipe', 'pwws_ren_2019', '--max-examples', '8', '--json']);
    t.equal(res.code, 0, res.stderr);
    const w = JSON.parse(res.stdout).wordswap;
    t.same([w.recipe, w.transformation, w.wordImportance, w.stopwordList, w.queryBudget, w.sentenceSimilarity], ['pwws_ren_2019', 'wordnet', 'weighted-saliency', 'nltk', null, null]);
    t.equal(reportErrors(JSON.parse(readFileSync(join(dir, 'rob-pwws', 'report.json'), 'utf8'))), '');
  });

  t.test('usage errors', async (t) => {
    const base = ['robustness', '--model', model, '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', join(dir, 'x')];
    for (const [extra, message] of [
      [['--recipe', 'bertattack_li_2020'], /needs --mlm/],
      [['--radii', '0,1'], /--radii takes numbers > 0/],
      [['--attacks', 'pgd,nope'], /--attacks: unknown 'nope'/],
      [['--task', 'stsb'], /classification task/],
    ] as const) {
      const res = await runCli([...base, ...extra]);
      t.equal(res.code, 2, res.stderr);
      t.match(res.stderr, message);
    }
  });

  t.test('advtrain figures draws the similarity vs loss view from training logs', async (t) => {
    const logs = [join(dir, 'creat', 'metrics.jsonl'), join(dir, 'vanilla', 'metrics.jsonl')];
    const res = await runCli(['figures', '--logs', logs.join(','), '--out', join(dir, 'figs')]);
    t.equal(res.code, 0, res.stderr);
    t.match(res.stderr, /vanilla.*has no repCos/);
    t.match(readFileSync(join(dir, 'figs', 'similarity-loss.svg'), 'utf8'), /^<svg[\s\S]*training loss[\s\S]*creat/);
    const none = await runCli(['figures', '--logs', logs[1]!, '--out', join(dir, 'figs')]);
    t.equal(none.code, 1);
    t.match(none.stderr, /no run has repCos.*\[ERR_DATA\]/);
    const labels = await runCli(['figures', '--logs', logs.join(','), '--labels', 'one', '--out', join(dir, 'figs')]);
    t.equal(labels.code, 2);
  });

  t.test('advtrain eval --advglue prints { task, accuracy, n }', async (t) => {
    const items = dev.map((e, idx) => ({ sentence: e.text, label: e.label, idx }));
    writeFileSync(join(dir, 'adv.json'), JSON.stringify({ sst2: items, rte: [], 'mnli-mm': [{ premise: 'a film', hypothesis: 'a movie', label: 0, idx: 0 }] }, null, 2));
    const res = await runCli(['eval', '--advglue', join(dir, 'adv.json'), '--task', 'sst2', '--model', model, '--json']);
    t.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    t.same(Object.keys(out), ['task', 'accuracy', 'n']);
    t.same([out.task, out.n], ['sst2', dev.length]);
    const plain = await runCli(['eval', '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--model', model, '--json']);
    t.equal(out.accuracy, JSON.parse(plain.stdout).accuracy, 'the same items as a GLUE file score the same');

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ sst2: [items[0], { ...items[1], label: 5 }] }, null, 2));
    const bad = await runCli(['eval', '--advglue', join(dir, 'bad.json'), '--task', 'sst2', '--model', model, '--json']);
    t.equal(bad.code, 1);
    t.match(bad.stderr, /bad\.json:\d+:\d+: sst2\[1\]\.label: expected an integer label in \[0, 1\] but found 5 \[ERR_DATA\]/);
    const empty = await runCli(['eval', '--advglue', join(dir, 'adv.json'), '--task', 'rte', '--model', model]);
    t.equal(empty.code, 1);
    t.match(empty.stderr, /no items for task rte/);
    const labels = await runCli(['eval', '--advglue', join(dir, 'adv.json'), '--task', 'mnli-mm', '--model', model]);
    t.equal(labels.code, 2);
    t.match(labels.stderr, /has 2 labels; mnli-mm needs 3/);
    const badTask = await runCli(['eval', '--advglue', join(dir, 'adv.json'), '--task', 'cola', '--model', model]);
    t.equal(badTask.code, 2);
  });
});

t.test('robustness on DeBERTa-v3 and ALBERT shapes with their Unigram tokenizers: word attacks through Unigram offsets', { skip }, async (t) => {
  const dir = t.testdir();
  const tsv = (rows: { text: string; label: number }[]) => `sentence\tlabel\n${rows.map((e) => `${e.text}\t${e.label}`).join('\n')}\n`;
  writeFileSync(join(dir, 'train.tsv'), tsv(generateSentiment(128, 1)));
  writeFileSync(join(dir, 'dev.tsv'), tsv(generateSentiment(12, 2)));
  for (const family of ['deberta-v3', 'albert']) {
    const tokenizer = join(repoRoot, 'test', 'fixtures', `${family}-unigram-wikitext2`);
    const model = join(dir, family);
    const tr = await runCli(['train', '--task', 'sst2', '--train', join(dir, 'train.tsv'), '--size', 'tiny', '--family', family, '--tokenizer', tokenizer, '--max-steps', '4', '--batch-size', '16', '--lr', '1e-3', '--quiet', '--out', model]);
    t.equal(tr.code, 0, tr.stderr);
    const res = await runCli(['robustness', '--model', model, '--task', 'sst2', '--data', join(dir, 'dev.tsv'), '--out', join(dir, `${family}-rob`), '--attacks', 'pgd,wordswap,deviation', '--radii', '0.05', '--max-examples', '6', '--seed', '1', '--pgd-steps', '2', '--query-budget', '15', '--min-cosine', '0', '--json']);
    t.equal(res.code, 0, res.stderr);
    const report = JSON.parse(res.stdout);
    t.equal(reportErrors(report), '', `${family}: report.json follows its schema`);
    t.type(report.wordswap.accuracyUnderAttack, 'number', `${family}: the word attack ran`);
    t.equal(report.deviation.hiddenCosine.length, 3, `${family}: embedding output and both layers`);
  }
});
