import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CorpusBatches, corpusTokenizer } from '../../lib/data/corpus.js';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { createModel, loadModel } from '../../lib/model/model.js';
import { loadTokenizer } from '../../lib/tokenizer/load.js';
import type { MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { runCli } from '../helpers/cli.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

async function setup(dir: string) {
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
  writeFileSync(join(dir, 'corpus.txt'), generateSentiment(600, 4).map((e) => e.text).join('\n'));
  const tok = await loadTokenizer(dir);
  const specialIds = Object.values(tok.special).map((s) => s.id);
  const data = await CorpusBatches.open({ files: [join(dir, 'corpus.txt')], format: 'lines', tokenizer: corpusTokenizer(tok), seqLen: 24, batchSize: 16, seed: 1, masking: { maskId: tok.special.mask.id, vocabSize: tok.vocabSize, specialIds } });
  return { tok, data };
}

t.test('every pre-training method lowers the MLM loss on a toy corpus', { skip }, async (t) => {
  const dir = t.testdir();
  const { tok, data } = await setup(dir);
  const methods: MethodConfig[] = [{ name: 'vanilla' }, { name: 'alum' }, { name: 'creat' }, { name: 'freelb' }, { name: 'pgd', cleanWeight: 0.5 }];
  for (const method of methods) {
    const model = await createModel({ model_type: 'bert', vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 }, { task: 'masked-lm', seed: 2 });
    const trainer = new Trainer({ model, method, optimizer: { name: 'adamw', lr: 3e-3 }, seed: 2 });
    const losses: number[] = [];
    for await (const s of trainer.steps(data, { maxSteps: 60, epochs: 100 })) losses.push((s.cleanLoss as number | undefined) ?? s.loss);
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    t.ok(last < first - 0.5, `${method.name}: MLM loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    model.dispose();
  }
});

t.test('a pre-trained MLM folder fine-tunes: the encoder loads, the MLM head is dropped', { skip }, async (t) => {
  const dir = t.testdir();
  const { tok } = await setup(dir);
  const mlm = await createModel({ model_type: 'bert', vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 32 }, { task: 'masked-lm', seed: 3 });
  await mlm.save(join(dir, 'mlm'));
  const cls = await loadModel(join(dir, 'mlm'), { task: 'sequence-classification', numLabels: 2 });
  t.same(cls.loadReport.missingKeys, ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias'], 'as transformers: pooler and classifier are new');
  t.ok(cls.loadReport.unexpectedKeys.every((k) => k.startsWith('cls.predictions.')), 'only the MLM head is unused');
  mlm.dispose();
  cls.dispose();
});

t.test('advtrain pretrain writes a BertForMaskedLM folder that advtrain train fine-tunes', { skip }, async (t) => {
  const dir = t.testdir();
  await setup(dir);
  const out = join(dir, 'pre');
  const pre = await runCli(['pretrain', '--corpus', join(dir, 'corpus.txt'), '--format', 'lines', '--tokenizer', dir, '--size', 'tiny', '--method', 'alum', '--max-steps', '4', '--seq', '24', '--batch-size', '8', '--whole-word', '--out', out, '--quiet']);
  t.equal(pre.code, 0, pre.stderr);
  t.match(pre.stdout, /method\s+alum/);
  const tsv = `sentence\tlabel\n${generateSentiment(64, 9).map((e) => `${e.text}\t${e.label}`).join('\n')}\n`;
  writeFileSync(join(dir, 'train.tsv'), tsv);
  const ft = await runCli(['train', '--task', 'table', '--columns', 'text=sentence,label=label', '--labels', 'neg,pos', '--train', join(dir, 'train.tsv'), '--model', out, '--max-steps', '2', '--batch-size', '8', '--out', join(dir, 'ft'), '--quiet']);
  t.equal(ft.code, 0, ft.stderr);
});
