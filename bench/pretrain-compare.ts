/**
 * Our own pre-trained encoder, and the CreAT pre-training comparison (pre-training issue):
 *  1. builds one plain-text corpus from ../shared/data: WikiText-2 (valid + test), the SST-2 training
 *     sentences and the WNUT-17 training sentences, as unlabeled text;
 *  2. pre-trains the same randomly initialised BERT with masked-LM (vanilla) and with CreAT for the same
 *     number of steps (`advtrain pretrain`, bert-base-uncased tokenizer);
 *  3. fine-tunes each, and a model from scratch, on SST-2 for each seed, and reports dev accuracy
 *     (mean over seeds) — one JSON line per (init, seed) and a summary line.
 * GPU recipe: `node dist/bench/pretrain-compare.js --size mini --device cuda --precision bf16 --pretrain-steps 20000`.
 * CPU smoke: `node dist/bench/pretrain-compare.js --size tiny --pretrain-steps 200 --finetune-steps 300 --seeds 1`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../lib/paths.js';
import { sharedData } from './shared-data.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: 'mini' },
    device: { type: 'string', default: 'cpu' },
    precision: { type: 'string', default: 'fp32' },
    'pretrain-steps': { type: 'string', default: '2000' },
    'finetune-steps': { type: 'string', default: '2000' },
    seeds: { type: 'string', default: '3' },
    seq: { type: 'string', default: '128' },
    out: { type: 'string', default: join(tmpdir(), 'advtrain-pretrain-compare') },
  },
});
const out = values.out!;
mkdirSync(out, { recursive: true });
const cli = join(packageRoot, 'dist', 'lib', 'cli', 'main.js');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`advtrain ${args[0]} failed (exit ${r.status})`);
  return r.stdout;
};

// 1. The corpus: WikiText as it is (its headings delimit articles); SST-2 and WNUT sentences one per
// paragraph (blank-line separated, as the paragraph reader expects).
const sst2 = readFileSync(sharedData('sst2', 'train.tsv'), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[0]!).filter(Boolean);
const wnut = readFileSync(sharedData('wnut17', 'train.conll'), 'utf8').split(/\n\s*\n/).map((s) => s.split('\n').map((l) => l.split(/\s/)[0]).join(' ').trim()).filter(Boolean);
const lines = join(out, 'sentences.txt');
writeFileSync(lines, `${[...sst2, ...wnut].join('\n\n')}\n`);
const tokenizer = sharedData('bert-base-uncased-tokenizer');
const corpus = ['--corpus', sharedData('wikitext2', 'wiki.valid.tokens'), '--corpus', sharedData('wikitext2', 'wiki.test.raw')];
const common = ['--tokenizer', tokenizer, '--device', values.device!, '--precision', values.precision!, '--seq', values.seq!, '--quiet'];

// 2. Pre-training: the same initialisation (seed 1), data order and steps for both objectives.
const initDirs: Record<string, string | undefined> = { scratch: undefined };
for (const method of ['vanilla', 'creat']) {
  const dir = join(out, `mlm-${method}`);
  const t0 = performance.now();
  run(['pretrain', ...corpus, '--corpus', lines, '--size', values.size!, '--method', method, '--max-steps', values['pretrain-steps']!, '--batch-size', '32', '--seed', '1', '--out', dir, ...common]);
  const log = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((e) => (e as unknown as { type: string }).type === 'log');
  console.log(JSON.stringify({ stage: 'pretrain', method, steps: Number(values['pretrain-steps']), seconds: +((performance.now() - t0) / 1000).toFixed(1), firstMlmLoss: log[0]?.cleanLoss ?? log[0]?.loss, lastMlmLoss: log.at(-1)?.cleanLoss ?? log.at(-1)?.loss }));
  initDirs[method] = dir;
}

// 3. Fine-tuning on SST-2 from each start, per seed.
const summary: Record<string, number[]> = {};
for (const [init, dir] of Object.entries(initDirs)) {
  for (let seed = 1; seed <= Number(values.seeds); seed++) {
    const ft = join(out, `ft-${init}-${seed}`);
    const model = dir ? ['--model', dir] : ['--size', values.size!, '--tokenizer', tokenizer];
    run(['train', '--task', 'sst2', '--train', sharedData('sst2', 'train.tsv'), ...model, '--method', 'vanilla', '--max-steps', values['finetune-steps']!, '--batch-size', '32', '--lr', '1e-4', '--seed', String(seed), '--device', values.device!, '--precision', values.precision!, '--out', ft, '--quiet']);
    const metrics = JSON.parse(run(['eval', '--task', 'sst2', '--model', ft, '--data', sharedData('sst2', 'dev.tsv'), '--device', values.device!, '--json'])) as { accuracy: number };
    (summary[init] ??= []).push(metrics.accuracy);
    console.log(JSON.stringify({ stage: 'finetune', init, seed, devAccuracy: +metrics.accuracy.toFixed(4) }));
  }
}
console.log(JSON.stringify({ stage: 'summary', meanDevAccuracy: Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, +(v.reduce((a, b) => a + b) / v.length).toFixed(4)])) }));
