import { closeSync, openSync, writeSync } from 'node:fs';
import { ioError } from '../io/output-dir.js';
import { loadModel } from '../model/model.js';
import { type Command, noTokenizerError, type ParsedArgs, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';
import { encodeExamples, evalBatches, maxLengthFlag, taskSpec, TEXT_TASKS } from './task-data.js';

function softmax(row: Float32Array): number[] {
  const m = Math.max(...row);
  const e = Array.from(row, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

async function readTexts(args: ParsedArgs, file: string) {
  const spec = taskSpec(args);
  if (!spec.readTexts) throw new UsageError(`predict --data reads the files of ${TEXT_TASKS.join(', ')}; --task ${spec.name} is not one of them`);
  return spec.readTexts(file);
}

export const predict: Command = {
  name: 'predict',
  summary: 'Label texts with a model folder (JSON lines out)',
  usage: `advtrain predict --model DIR (--text TEXT [--pair TEXT] | --task ${TEXT_TASKS.join('|')} --data FILE) [--out FILE]`,
  options: {
    model: { type: 'string', help: 'model folder (with its tokenizer)' },
    text: { type: 'string', help: 'one text to label' },
    pair: { type: 'string', help: 'its second text, for pair tasks' },
    task: { type: 'string', help: 'with --data: the file format preset' },
    data: { type: 'string', help: 'a data file to label' },
    columns: { type: 'string', help: 'table task: text=NAME[,pair=NAME]' },
    labels: { type: 'string', help: 'table task: class names in id order' },
    regression: { type: 'boolean', help: 'table task: numeric labels' },
    out: { type: 'string', help: 'write JSON lines here instead of stdout' },
    'batch-size': { type: 'string', help: 'examples per forward pass', default: '64' },
    'max-length': { type: 'string', help: 'tokens per example (default: 128)' },
    device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
  },
  async run(args) {
    if (typeof args.model !== 'string') throw new UsageError('--model DIR is required');
    if ((typeof args.text === 'string') === (typeof args.data === 'string')) throw new UsageError('give --text or --data (one of them)');
    if (typeof args.data === 'string') taskSpec(args);
    else for (const flag of ['task', 'columns', 'labels', 'regression']) if (args[flag] !== undefined) throw new UsageError(`--${flag} describes a --data file; with --text it has no effect`);
    if (args.pair !== undefined && typeof args.text !== 'string') throw new UsageError('--pair goes with --text (a --data file brings its own pairs)');
    // Opened before any work: an unwritable --out fails at once, naming the file.
    const outFile = typeof args.out === 'string' ? args.out : undefined;
    let fd: number | undefined;
    if (outFile !== undefined) {
      try {
        fd = openSync(outFile, 'w');
      } catch (err) {
        throw ioError(outFile, 'cannot open for writing', err);
      }
    }
    const write = (line: string) => {
      if (fd === undefined) return void process.stdout.write(line);
      try {
        writeSync(fd, line);
      } catch (err) {
        throw ioError(outFile!, 'cannot write', err);
      }
    };
    let model: Awaited<ReturnType<typeof loadModel>> | undefined;
    try {
      model = await loadModel(args.model, { device: typeof args.device === 'string' ? args.device : 'cpu' });
      const m = model;
      const tok = m.tokenizer;
      if (!tok) throw noTokenizerError(args.model);
      if (m.task !== 'sequence-classification' && m.task !== 'regression') throw new UsageError(`predict handles classification and regression models; ${args.model} is ${m.task}`);
      const maxLength = maxLengthFlag(args, 128, m);
      const examples =
        typeof args.text === 'string'
          ? [{ text: args.text, textPair: typeof args.pair === 'string' ? args.pair : undefined }]
          : await readTexts(args, args.data as string);
      const items = encodeExamples(tok, examples.map((e) => ({ text: e.text, textPair: e.textPair })), maxLength);
      let i = 0;
      for (const batch of evalBatches(items, tok.special.pad.id, m.task, numberFlag(args, 'batch-size', 64, { int: true, min: 1 }))) {
        const res = await m.forward(batch, { skipPadding: true, outputLastHiddenState: false });
        const k = res.logitsShape[1]!;
        for (let r = 0; r < batch.batchSize; r++, i++) {
          const row = res.logits.subarray(r * k, (r + 1) * k);
          const ex = examples[i]!;
          const base = { text: ex.text, ...(ex.textPair !== undefined ? { pair: ex.textPair } : {}) };
          if (m.task === 'regression') {
            write(`${JSON.stringify({ ...base, value: row[0] })}\n`);
          } else {
            const probs = softmax(row);
            const best = probs.indexOf(Math.max(...probs));
            write(`${JSON.stringify({ ...base, label: m.config.id2label[best], probs: Object.fromEntries(probs.map((p, j) => [m.config.id2label[j], +p.toFixed(6)])) })}\n`);
          }
        }
      }
      return 0;
    } finally {
      if (fd !== undefined) closeSync(fd);
      model?.dispose();
    }
  },
};
