import { distributed } from '../distributed/group.js';
import { CorpusBatches, corpusTokenizer, type CorpusFormat } from '../data/corpus.js';
import { type Command, INTERRUPT_NOTES, UsageError } from './command.js';
import { methodFromArgs, methodOptions, numberFlag } from './method-flags.js';
import { progressCallback, table } from './progress.js';
import { interruptOnSignals, keepPaddingOption, prepareOut, reportInterrupted, resumeArgs, runDirOptions, runSettingsOf, trainingConfigFromArgs } from './training-run.js';
import { Trainer } from '../train/trainer.js';
import { modelFromArgs } from './train.js';
import { FAMILY_NAMES } from '../model/families.js';

const PRETRAIN_METHODS = ['vanilla', 'alum', 'creat', 'freelb', 'pgd'];
const { method: methodOption, ...methodFlags } = methodOptions;

export const pretrain: Command = {
  name: 'pretrain',
  summary: 'Masked-LM (continued) pre-training, plainly or adversarially (ALUM, CreAT, FreeLB, PGD)',
  usage: `advtrain pretrain --corpus FILE... --tokenizer DIR (--size tiny|mini|small|base | --model DIR) [--method ${PRETRAIN_METHODS.join('|')}] [method flags] --max-steps N --seq N --batch-size N --out DIR`,
  notes: INTERRUPT_NOTES,
  options: {
    corpus: { type: 'string', multiple: true, help: 'plain-text files (one or more --corpus)' },
    format: { type: 'string', help: "'lines', 'paragraphs' or 'wikitext' (default: detected per file)" },
    tokenizer: { type: 'string', help: 'tokenizer folder (with --size; --model folders bring theirs)' },
    model: { type: 'string', help: 'a model folder to continue pre-training' },
    size: { type: 'string', help: 'random initialisation: tiny, mini, small, base' },
    family: { type: 'string', help: `with --size: the encoder family's settings at that size (${FAMILY_NAMES.join(', ')})`, default: 'bert' },
    'max-steps': { type: 'string', help: 'optimizer steps', default: '1000' },
    seq: { type: 'string', help: 'tokens per packed sequence', default: '128' },
    'batch-size': { type: 'string', help: 'sequences per step (per process under advtrain launch)', default: '32' },
    lr: { type: 'string', help: 'peak learning rate', default: '5e-4' },
    'weight-decay': { type: 'string', help: 'AdamW weight decay', default: '0.01' },
    'warmup-ratio': { type: 'string', help: 'linear warmup fraction', default: '0.06' },
    'max-grad-norm': { type: 'string', help: 'gradient clipping, 0 = off', default: '1' },
    'mask-prob': { type: 'string', help: 'fraction of tokens to predict', default: '0.15' },
    'whole-word': { type: 'boolean', help: 'whole-word masking (WordPiece ## pieces follow their word)' },
    seed: { type: 'string', help: 'seed', default: '42' },
    device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
    precision: { type: 'string', help: "'fp32' or 'bf16' (CUDA, or a CPU with avx512_bf16/amx_bf16: see advtrain doctor)", default: 'fp32' },
    'keep-padding': keepPaddingOption,
    'save-every': { type: 'string', help: 'checkpoint every N steps' },
    resume: { type: 'string', help: "continue from a checkpoint folder; the run's other flags are stored there (flags given again must agree)" },
    quiet: { type: 'boolean', help: 'no progress output (the summary table and errors still print)' },
    out: { type: 'string', help: 'output folder: the BertForMaskedLM-layout model, checkpoints, metrics.jsonl' },
    ...runDirOptions,
    method: { ...methodOption!, help: `pre-training method: ${PRETRAIN_METHODS.join(', ')}` },
    ...methodFlags,
  },
  async run(typed, _positionals, given) {
    const args = resumeArgs('pretrain', typed, given);
    const files = args.corpus as string[] | undefined;
    if (!files?.length) throw new UsageError('--corpus FILE is required (repeat it for several files)');
    if (typeof args.out !== 'string') throw new UsageError('--out is required');
    const method = methodFromArgs(args);
    if (!PRETRAIN_METHODS.includes(method.name)) throw new UsageError(`--method for pre-training must be one of ${PRETRAIN_METHODS.join(', ')}`);
    const format = args.format as CorpusFormat | undefined;
    if (format !== undefined && !['lines', 'paragraphs', 'wikitext'].includes(format)) throw new UsageError("--format must be 'lines', 'paragraphs' or 'wikitext'");
    const seed = numberFlag(args, 'seed', 42, { int: true, min: 0 });
    const batchSize = numberFlag(args, 'batch-size', 32, { int: true, min: 1 });
    const seqLen = numberFlag(args, 'seq', 128, { int: true, min: 8 });
    const config = trainingConfigFromArgs(args, method, 5e-4);
    const saveTotalLimit = args['save-total-limit'] === undefined ? undefined : numberFlag(args, 'save-total-limit', 1, { int: true, min: 1 });
    const maxSteps = numberFlag(args, 'max-steps', 1000, { int: true, min: 1 });
    const saveEvery = args['save-every'] === undefined ? undefined : numberFlag(args, 'save-every', 1, { int: true, min: 1 });
    const maskProb = numberFlag(args, 'mask-prob', 0.15, { min: 0.01, max: 1 });
    const out = args.out;
    const world = distributed.worldSize;
    // Rank 0 alone touches --out (fit() then has every rank wait for it).
    if (distributed.isMain) prepareOut(args, out);
    const { model, tokenizer } = await modelFromArgs(args, 'masked-lm', [], seed);
    const tok = corpusTokenizer(tokenizer);
    const specialIds = [...new Set(Object.values(tokenizer.special).map((s) => s.id))];
    const data = await CorpusBatches.open({
      files,
      format,
      tokenizer: tok,
      seqLen,
      batchSize,
      seed,
      // Under a launcher each rank takes its rows of every global batch of batchSize x world sequences.
      ...(world > 1 ? { shard: { rank: distributed.rank, worldSize: world } } : {}),
      masking: {
        maskId: tokenizer.special.mask.id,
        vocabSize: tokenizer.vocabSize,
        specialIds,
        probability: maskProb,
        ...(args['whole-word'] ? { isContinuation: (id: number) => tokenizer.idToToken(id)?.startsWith('##') ?? false } : {}),
      },
    });
    if (data.length === 0) throw new UsageError(`the corpus holds ${data.sequences} sequences of ${seqLen} tokens: fewer than one batch of ${batchSize * world}`);
    const progress = progressCallback({ examplesPerStep: batchSize * world, quiet: args.quiet === true || !distributed.isMain, label: `mlm ${method.name}` });
    const trainer = new Trainer({ ...config, model, callbacks: [progress], distributed: 'auto' });
    const interrupt = interruptOnSignals();
    const t0 = performance.now();
    try {
      const result = await trainer.fit(data, {
        maxSteps,
        epochs: 1_000_000,
        saveEvery,
        outputDir: out,
        saveTotalLimit,
        signal: interrupt.signal,
        resumeFrom: typeof args.resume === 'string' ? args.resume : undefined,
        runSettings: runSettingsOf('pretrain', args),
      });
      progress.stop();
      if (result.stopReason === 'aborted') {
        return reportInterrupted(out, result.state.globalStep, interrupt.exitCode);
      }
      const last = result.state.logHistory.filter((l) => typeof l.loss === 'number').at(-1);
      const seconds = (performance.now() - t0) / 1000;
      if (distributed.isMain) console.log(
        table([
          ['method', method.name],
          ['corpus', `${data.sequences} sequences of ${seqLen} tokens (${data.length} batches per epoch)`],
          ['steps', String(result.state.globalStep)],
          ['time', `${seconds.toFixed(1)} s (${((result.state.globalStep * batchSize * world * seqLen) / seconds).toFixed(0)} tokens/s)`],
          ['last logged MLM loss', last ? (last.cleanLoss ?? last.loss)!.toFixed(4) : '-'],
          ['model', out],
        ]),
      );
      return 0;
    } finally {
      interrupt.release();
      trainer.dispose();
      model.dispose();
    }
  },
};
