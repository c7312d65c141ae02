import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchLoader, collateTexts } from '../data/batching.js';
import { generateSentiment, syntheticVocabulary } from '../demo/synthetic.js';
import { ensureWritableDir } from '../io/output-dir.js';
import { FAMILY_NAMES, FAMILY_SETTINGS, type FamilyName } from '../model/families.js';
import { createModel, loadModel } from '../model/model.js';
import { loadTokenizer } from '../tokenizer/load.js';
import { evaluateModel } from '../train/evaluate.js';
import { METHOD_NAMES, type MethodConfig, type MethodName } from '../train/methods.js';
import { Trainer } from '../train/trainer.js';
import { type Command, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';
import { encodeExamples, evalBatches } from './task-data.js';

// A BERT small enough to train from scratch on two CPU cores in seconds per method (--family lays
// DeBERTa-v3's or ALBERT's settings over it).
const DEMO_CONFIG = {
  model_type: 'bert',
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 128,
  max_position_embeddings: 40,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
}

export const demo: Command = {
  name: 'demo',
  summary: 'Train a tiny BERT on a synthetic sentiment task, then fine-tune it with every method and compare them',
  usage: 'advtrain demo [--methods vanilla,freelb,...] [--family bert|deberta-v3|albert] [--steps N] [--seed N] [--out DIR]',
  options: {
    methods: { type: 'string', help: `comma-separated methods (default: all: ${METHOD_NAMES.join(',')})` },
    family: { type: 'string', help: `encoder family at the demo's size (${FAMILY_NAMES.join(', ')})`, default: 'bert' },
    'warmup-steps': { type: 'string', help: 'plain training from scratch that every method starts from', default: '250' },
    steps: { type: 'string', help: 'fine-tuning steps per method', default: '250' },
    'train-size': { type: 'string', help: 'synthetic training sentences', default: '4000' },
    seed: { type: 'string', help: 'seed of data, initialisation and training', default: '7' },
    device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
    out: { type: 'string', help: 'keep the tokenizer, the trained models and results.json here' },
    json: { type: 'boolean', help: 'print the results as JSON lines instead of a table' },
  },
  async run(args) {
    const methods = (typeof args.methods === 'string' ? args.methods.split(',') : [...METHOD_NAMES]) as MethodName[];
    for (const m of methods) if (!METHOD_NAMES.includes(m)) throw new UsageError(`--methods: unknown method '${m}' (known: ${METHOD_NAMES.join(', ')})`);
    const family = (typeof args.family === 'string' ? args.family : 'bert') as FamilyName;
    if (!FAMILY_NAMES.includes(family)) throw new UsageError(`--family: unknown family '${family}' (known: ${FAMILY_NAMES.join(', ')})`);
    const steps = numberFlag(args, 'steps', 250, { int: true, min: 1 });
    const warmupSteps = numberFlag(args, 'warmup-steps', 250, { int: true, min: 0 });
    const seed = numberFlag(args, 'seed', 7, { int: true, min: 0 });
    const trainSize = numberFlag(args, 'train-size', 4000, { int: true, min: 64 });
    const device = typeof args.device === 'string' ? args.device : 'cpu';
    const keep = typeof args.out === 'string';
    if (keep) ensureWritableDir(args.out as string);
    const root = keep ? (args.out as string) : mkdtempSync(join(tmpdir(), 'advtrain-demo-'));
    try {
      // The project's own vocabulary and data: nothing is downloaded.
      const tokDir = join(root, 'tokenizer');
      mkdirSync(tokDir, { recursive: true });
      writeFileSync(join(tokDir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
      writeFileSync(join(tokDir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
      const tok = await loadTokenizer(tokDir);
      const train = encodeExamples(tok, generateSentiment(trainSize, seed), 32);
      const dev = evalBatches(encodeExamples(tok, generateSentiment(1000, seed + 1), 32), tok.special.pad.id, 'sequence-classification', 100);
      const results: Record<string, number | string>[] = [];
      const batches = (dataSeed: number) => new BatchLoader(train, (xs) => collateTexts(xs, { padId: tok.special.pad.id }), { batchSize: 32, seed: dataSeed });
      console.error(`advtrain demo: ${trainSize} synthetic sentences (negation, contrast, intensifiers), ${family}, ${device}`);
      // Adversarial training from a random start stalls on this task's initial plateau (and in the
      // papers every method fine-tunes a trained encoder): all methods start from one plain-trained model.
      // At this size: ALBERT's 128-wide factorised embeddings would be wider than the model (half its width
      // instead), and DeBERTa-v3's 256 log buckets need more than its 40 positions (16 buckets instead).
      const settings =
        family === 'albert'
          ? { ...FAMILY_SETTINGS.albert, embedding_size: DEMO_CONFIG.hidden_size / 2 }
          : family === 'deberta-v3'
            ? { ...FAMILY_SETTINGS['deberta-v3'], position_buckets: 16 }
            : FAMILY_SETTINGS[family];
      const base = await createModel({ ...DEMO_CONFIG, ...settings, vocab_size: tok.vocabSize }, { task: 'sequence-classification', labels: ['negative', 'positive'], seed, device });
      base.tokenizer = tok;
      const warm = new Trainer({ model: base, optimizer: { name: 'adamw', lr: 1e-3, weightDecay: 0.01 }, scheduler: { name: 'constant', warmupSteps: 20 }, seed });
      const tw = performance.now();
      for await (const _ of warm.steps(batches(seed), { maxSteps: Math.max(1, warmupSteps), epochs: 1000 })) void _;
      const baseDir = join(root, 'base');
      await base.save(baseDir);
      console.error(`  base model: ${warmupSteps} plain steps from scratch, dev accuracy ${(100 * (await evaluateModel(base, dev)).accuracy!).toFixed(1)}% (${((performance.now() - tw) / 1000).toFixed(1)} s)`);
      warm.dispose();
      base.dispose();
      console.error(`  fine-tuning it with ${methods.length} method(s), ${steps} steps each:`);
      for (const name of methods) {
        const model = await loadModel(baseDir, { seed, device });
        // Fine-tuning: ALUM's alpha defaults to the paper's 1 here (10 on a masked-LM model).
        const method = { name } as MethodConfig;
        const trainer = new Trainer({ model, method, optimizer: { name: 'adamw', lr: 5e-4, weightDecay: 0.01 }, scheduler: { name: 'linear', warmupRatio: 0.06 }, seed });
        const ms: number[] = [];
        const deltas: number[] = [];
        const cosines: number[] = [];
        const t0 = performance.now();
        for await (const s of trainer.steps(batches(seed + 1), { maxSteps: steps, epochs: 1000 })) {
          ms.push(s.ms);
          if (s.deltaNorm !== undefined) deltas.push(s.deltaNorm);
          if (s.repCos !== undefined) cosines.push(s.repCos);
        }
        const seconds = (performance.now() - t0) / 1000;
        const metrics = await evaluateModel(model, dev);
        const row: Record<string, number | string> = {
          method: name,
          accuracy: metrics.accuracy!,
          loss: metrics.loss!,
          deltaNorm: deltas.length ? deltas.reduce((a, b) => a + b, 0) / deltas.length : Number.NaN,
          repCos: cosines.length ? cosines.reduce((a, b) => a + b, 0) / cosines.length : Number.NaN,
          msPerStep: median(ms),
          seconds,
        };
        results.push(row);
        if (args.json) console.log(JSON.stringify(row));
        else console.error(`  ${name.padEnd(8)} accuracy ${(100 * metrics.accuracy!).toFixed(1)}% in ${seconds.toFixed(1)} s`);
        if (keep) await model.save(join(root, name));
        trainer.dispose();
        model.dispose();
      }
      if (keep) writeFileSync(join(root, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
      if (!args.json) {
        const fmt = (v: number | string, d: number) => (typeof v !== 'number' ? v : Number.isNaN(v) ? '-' : Math.abs(v) < 0.01 && v !== 0 ? v.toExponential(1) : v.toFixed(d));
        const header = ['method', 'dev accuracy', 'deltaNorm', 'repCos', 'ms/step', 'time (s)'];
        const rows = results.map((r) => [String(r.method), `${(100 * (r.accuracy as number)).toFixed(1)}%`, fmt(r.deltaNorm!, 3), fmt(r.repCos!, 3), fmt(r.msPerStep!, 1), fmt(r.seconds!, 1)]);
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
        console.log(line(header));
        console.log(widths.map((w) => '-'.repeat(w)).join('  '));
        for (const r of rows) console.log(line(r));
      }
      return 0;
    } finally {
      if (!keep) rmSync(root, { recursive: true, force: true });
    }
  },
};
