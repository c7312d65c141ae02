import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/data.js';
import { nativeSkipReason } from '../helpers/native.js';
import { conllText, squadJson, syntheticChoice, syntheticNer, syntheticQa, taskVocab } from '../helpers/tasks.js';

const skip = nativeSkipReason();

const common = ['--size', 'tiny', '--batch-size', '16', '--lr', '3e-3', '--quiet'];

function writeVocab(dir: string): void {
  writeFileSync(join(dir, 'vocab.txt'), `${taskVocab().join('\n')}\n`);
}

/** The `dev <metric>` rows train prints, as numbers. */
function devRows(stdout: string): Record<string, number> {
  return Object.fromEntries([...stdout.matchAll(/^dev (\S+)\s+(\S+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

function architecture(dir: string): { architectures: string[]; id2label?: Record<string, string> } {
  return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
}

t.test('--task conll: tags from the training file, entity scores', { skip }, async (t) => {
  const dir = t.testdir({ 'train.conll': conllText(syntheticNer(96, 1)), 'dev.conll': conllText(syntheticNer(24, 2)), 'odd.conll': 'i\tO\nsaw\tO\nrex\tB-animal\n' });
  writeVocab(dir);
  const out = join(dir, 'run');
  const tr = await runCli(['train', '--task', 'conll', '--train', join(dir, 'train.conll'), '--dev', join(dir, 'dev.conll'), '--tokenizer', dir, '--method', 'freelb', '--steps', '2', '--max-steps', '8', '--max-length', '32', '--out', out, ...common]);
  t.equal(tr.code, 0, tr.stderr);
  t.match(tr.stdout, /task\s+conll/);
  const dev = devRows(tr.stdout);
  t.same(Object.keys(dev).sort(), ['examples', 'f1', 'loss', 'precision', 'recall', 'tokenAccuracy']);
  const cfg = architecture(out);
  t.same(cfg.architectures, ['BertForTokenClassification']);
  t.same(cfg.id2label, { 0: 'O', 1: 'B-location', 2: 'I-location', 3: 'B-person', 4: 'I-person' }, 'the tag list of the training file');

  const ev = await runCli(['eval', '--task', 'conll', '--model', out, '--data', join(dir, 'dev.conll'), '--max-length', '32', '--json']);
  t.equal(ev.code, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  t.same([m.task, m.examples], ['conll', 24]);
  t.equal(m.f1.toFixed(4), dev.f1!.toFixed(4), "eval agrees with train's last evaluation");

  const odd = await runCli(['eval', '--task', 'conll', '--model', out, '--data', join(dir, 'odd.conll')]);
  t.equal(odd.code, 1);
  t.match(odd.stderr, /odd\.conll: sentence 1 has the tag "B-animal", which is not among the model's labels \(O, B-location, I-location, B-person, I-person\) \[ERR_DATA\]/);
});

t.test('--task squad: windows by --max-length and --doc-stride, exact match and F1 from decoded spans', { skip }, async (t) => {
  const dir = t.testdir({ 'train.json': squadJson(syntheticQa(64, 1)), 'dev.json': squadJson(syntheticQa(16, 2)) });
  writeVocab(dir);
  const out = join(dir, 'run');
  const windows = ['--max-length', '24', '--doc-stride', '5'];
  const tr = await runCli(['train', '--task', 'squad', '--train', join(dir, 'train.json'), '--dev', join(dir, 'dev.json'), '--tokenizer', dir, '--method', 'vanilla', '--max-steps', '8', ...windows, '--out', out, ...common]);
  t.equal(tr.code, 0, tr.stderr);
  const dev = devRows(tr.stdout);
  t.same(Object.keys(dev).sort(), ['exact_match', 'examples', 'f1', 'features', 'loss']);
  t.equal(dev.examples, 16);
  t.ok(dev.features! > 16, `${dev.features} windows`);
  t.same(architecture(out).architectures, ['BertForQuestionAnswering']);

  const ev = await runCli(['eval', '--task', 'squad', '--model', out, '--data', join(dir, 'dev.json'), ...windows, '--json']);
  t.equal(ev.code, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  t.same([m.task, m.examples, m.features], ['squad', 16, dev.features]);
  t.same([m.exact_match.toFixed(4), m.f1.toFixed(4)], [dev.exact_match!.toFixed(4), dev.f1!.toFixed(4)], "eval agrees with train's last evaluation");
  t.ok(m.exact_match >= 0 && m.exact_match <= m.f1 && m.f1 <= 1);

  const whole = await runCli(['eval', '--task', 'squad', '--model', out, '--data', join(dir, 'dev.json'), '--json']);
  t.equal(whole.code, 0, whole.stderr);
  t.equal(JSON.parse(whole.stdout).features, 16, 'one window per question at the default 384 tokens');
  const bad = await runCli(['eval', '--task', 'squad', '--model', out, '--data', join(dir, 'dev.json'), '--doc-stride', 'x']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--doc-stride takes an integer >= 0, got 'x'/);
  const wide = await runCli(['eval', '--task', 'squad', '--model', out, '--data', join(dir, 'dev.json'), '--max-length', '24', '--doc-stride', '15']);
  t.equal(wide.code, 1);
  t.match(wide.stderr, /Expected an integer below 15, the context tokens per window of examples\[0\] .* for options\.docStride but received 15/);
});

t.test('--task choice: --fields maps the JSONL fields, accuracy', { skip }, async (t) => {
  const examples = (n: number, seed: number) => syntheticChoice(n, seed);
  const dir = t.testdir({
    'train.jsonl': examples(96, 3).map((e) => JSON.stringify({ premise: e.context, options: e.choices, answer: e.label })).join('\n'),
    'dev.jsonl': examples(24, 4).map((e) => JSON.stringify({ premise: e.context, options: e.choices, answer: e.label })).join('\n'),
    'dev-swag.jsonl': examples(24, 4).map((e) => JSON.stringify({ sent1: e.context, e0: e.choices[0], e1: e.choices[1], e2: e.choices[2], gold: String(e.label) })).join('\n'),
  });
  writeVocab(dir);
  const out = join(dir, 'run');
  const fields = ['--fields', 'context=premise,endings=options,label=answer'];
  const tr = await runCli(['train', '--task', 'choice', ...fields, '--train', join(dir, 'train.jsonl'), '--dev', join(dir, 'dev.jsonl'), '--tokenizer', dir, '--method', 'pgd', '--steps', '1', '--max-steps', '6', '--max-length', '32', '--out', out, ...common]);
  t.equal(tr.code, 0, tr.stderr);
  const dev = devRows(tr.stdout);
  t.same(Object.keys(dev).sort(), ['accuracy', 'examples', 'loss']);
  t.same(architecture(out).architectures, ['BertForMultipleChoice']);

  const ev = await runCli(['eval', '--task', 'choice', ...fields, '--model', out, '--data', join(dir, 'dev.jsonl'), '--max-length', '32', '--json']);
  t.equal(ev.code, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  t.same([m.task, m.examples, m.accuracy.toFixed(4)], ['choice', 24, dev.accuracy!.toFixed(4)]);
  const swag = await runCli(['eval', '--task', 'choice', '--fields', 'context=sent1,endings=e0+e1+e2,label=gold', '--model', out, '--data', join(dir, 'dev-swag.jsonl'), '--max-length', '32', '--json']);
  t.equal(swag.code, 0, swag.stderr);
  t.same(JSON.parse(swag.stdout), m, 'one field per ending (endings=A+B+C) reads the same examples');

  const bad = await runCli(['eval', '--task', 'choice', '--fields', 'context=premise,nope=x', '--model', out, '--data', join(dir, 'dev.jsonl')]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--fields: expected context=NAME, endings=NAME, label=NAME or prefix=NAME, got 'nope=x'/);
});

t.test('--size with --family: DeBERTa-v3 and ALBERT shapes with their Unigram tokenizers, trained by SiFT and InfoBERT', { skip }, async (t) => {
  const tokenizers = { 'deberta-v3': join(repoRoot, 'test', 'fixtures', 'deberta-v3-unigram-wikitext2'), albert: join(repoRoot, 'test', 'fixtures', 'albert-unigram-wikitext2') };
  const dir = t.testdir({ 'train.json': squadJson(syntheticQa(48, 1)), 'dev.json': squadJson(syntheticQa(12, 2)), 'train.conll': conllText(syntheticNer(48, 1)), 'dev.conll': conllText(syntheticNer(12, 2)) });
  // Question answering needs the Unigram tokenizer's offsets; SiFT perturbs DeBERTa's normalised embeddings.
  const qa = join(dir, 'qa');
  const tr = await runCli(['train', '--task', 'squad', '--train', join(dir, 'train.json'), '--dev', join(dir, 'dev.json'), '--family', 'deberta-v3', '--tokenizer', tokenizers['deberta-v3'], '--method', 'sift', '--max-steps', '4', '--max-length', '48', '--doc-stride', '8', '--out', qa, ...common]);
  t.equal(tr.code, 0, tr.stderr);
  t.same(Object.keys(devRows(tr.stdout)).sort(), ['exact_match', 'examples', 'f1', 'features', 'loss']);
  const cfg = architecture(qa) as { architectures: string[]; model_type?: string; relative_attention?: boolean; position_biased_input?: boolean };
  t.same([cfg.architectures, cfg.model_type, cfg.relative_attention, cfg.position_biased_input], [['DebertaV2ForQuestionAnswering'], 'deberta-v2', true, false]);
  t.ok(readFileSync(join(qa, 'tokenizer.json'), 'utf8').includes('"Unigram"'), 'the Unigram tokenizer is saved beside it');
  // NER through encodeWords' word ids on ALBERT's tokenizer; InfoBERT's critic trains beside the model.
  const ner = join(dir, 'ner');
  const tn = await runCli(['train', '--task', 'conll', '--train', join(dir, 'train.conll'), '--dev', join(dir, 'dev.conll'), '--family', 'albert', '--tokenizer', tokenizers.albert, '--method', 'infobert', '--max-steps', '4', '--max-length', '32', '--out', ner, ...common]);
  t.equal(tn.code, 0, tn.stderr);
  t.same(architecture(ner).architectures, ['AlbertForTokenClassification']);
  const bad = await runCli(['train', '--task', 'conll', '--train', join(dir, 'train.conll'), '--family', 'gpt', '--tokenizer', tokenizers.albert, '--out', join(dir, 'never'), ...common]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--family must be one of bert, deberta-v3, albert, got 'gpt'/);
});
