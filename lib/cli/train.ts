import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { MODEL_SIZES, type ModelSize, type Task } from '../model/config.js';
import { FAMILY_NAMES, FAMILY_SETTINGS, type FamilyName } from '../model/families.js';
import { findTicket, TICKET_DEFAULTS, type TicketOptions } from '../train/ticket-search.js';
import { prunedIndices } from '../train/tickets.js';
import type { PruneSpec } from '../model/model.js';
import { ticketSpec } from '../train/ticket-figure.js';
import { renderSvg } from '../plot/render.js';
import { writeFileAtomic } from '../io/atomic.js';
import { createModel, loadModel, type Model, sizedConfig } from '../model/model.js';
import { QA_DEFAULTS } from '../tasks/qa.js';
import { loadTokenizer } from '../tokenizer/load.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type Command, INTERRUPT_NOTES, noTokenizerError, type ParsedArgs, UsageError } from './command.js';
import { methodFromArgs, methodOptions, numberFlag } from './method-flags.js';
import { distributed } from '../distributed/group.js';
import { progressCallback, table } from './progress.js';
import { interruptOnSignals, keepPaddingOption, noStepCopyOption, prepareOut, reportInterrupted, resumeArgs, runDirOptions, runSettingsOf, trainingConfigFromArgs } from './training-run.js';
import { Trainer } from '../train/trainer.js';
import { CLI_TASKS, maxLengthFlag, taskSpec } from './task-data.js';

function need(args: ParsedArgs, flag: string): string {
  const v = args[flag];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${flag} is required`);
  return v;
}

/** The model to train: a folder (with its tokenizer) or a named size with --tokenizer. */
export async function modelFromArgs(args: ParsedArgs, task: Task, labels: string[], seed: number): Promise<{ model: Model; tokenizer: Tokenizer }> {
  // Under a launcher each rank trains on the GPU of its LOCAL_RANK.
  const device = distributed.deviceFor(typeof args.device === 'string' ? args.device : 'cpu');
  if (typeof args.model === 'string' && typeof args.size === 'string') throw new UsageError('give --model DIR or --size NAME, not both');
  const family = (typeof args.family === 'string' ? args.family : 'bert') as FamilyName;
  if (!FAMILY_NAMES.includes(family)) throw new UsageError(`--family must be one of ${FAMILY_NAMES.join(', ')}, got '${family}'`);
  if (typeof args.model === 'string' && family !== 'bert') throw new UsageError('--family shapes a random initialisation (--size); a --model folder has its own config.json');
  if (typeof args.model === 'string') {
    const model = await loadModel(args.model, { task, ...(labels.length ? { labels } : {}), device, seed });
    let tokenizer = model.tokenizer;
    if (typeof args.tokenizer === 'string') tokenizer = await loadTokenizer(args.tokenizer);
    if (!tokenizer) throw noTokenizerError(args.model, '; pass --tokenizer DIR');
    model.tokenizer = tokenizer;
    return { model, tokenizer };
  }
  if (typeof args.size !== 'string') throw new UsageError('--model DIR or --size tiny|mini|small|base is required');
  if (!(args.size in MODEL_SIZES)) throw new UsageError(`--size must be one of ${Object.keys(MODEL_SIZES).join(', ')}`);
  const tokenizer = await loadTokenizer(need(args, 'tokenizer'));
  const model = await createModel(sizedConfig(args.size as ModelSize, tokenizer.vocabSize, { pad_token_id: tokenizer.special.pad.id, ...FAMILY_SETTINGS[family] }), {
    task,
    ...(labels.length ? { labels } : {}),
    device,
    seed,
  });
  model.tokenizer = tokenizer;
  return { model, tokenizer };
}

/** --tickets and its --ticket-* flags, or undefined without --tickets. */
function ticketsFromArgs(args: ParsedArgs): TicketOptions | undefined {
  if (args.tickets !== true) return undefined;
  const weights = typeof args['ticket-weights'] === 'string' ? args['ticket-weights'] : TICKET_DEFAULTS.weights;
  if (weights !== 'rewind' && weights !== 'search') throw new UsageError(`--ticket-weights must be 'rewind' or 'search', got '${weights}'`);
  return {
    heads: numberFlag(args, 'ticket-heads', TICKET_DEFAULTS.heads, { min: 0, max: 0.99 }),
    ffn: numberFlag(args, 'ticket-ffn', TICKET_DEFAULTS.ffn, { min: 0, max: 0.99 }),
    l1Heads: numberFlag(args, 'ticket-l1-heads', TICKET_DEFAULTS.l1Heads, { min: 0 }),
    l1Ffn: numberFlag(args, 'ticket-l1-ffn', TICKET_DEFAULTS.l1Ffn, { min: 0 }),
    pointsPerEpoch: numberFlag(args, 'ticket-points', TICKET_DEFAULTS.pointsPerEpoch, { int: true, min: 1 }),
    window: numberFlag(args, 'ticket-window', TICKET_DEFAULTS.window, { int: true, min: 1 }),
    epsilon: numberFlag(args, 'ticket-epsilon', TICKET_DEFAULTS.epsilon, { min: 0, max: 1 }),
    maxSearchEpochs: numberFlag(args, 'ticket-max-epochs', TICKET_DEFAULTS.maxSearchEpochs, { int: true, min: 1 }),
    weights,
  };
}

const TICKET_FILE = 'ticket.json';

export const trainOptions = {
  out: { type: 'string', help: 'output folder: final model (HF folder), checkpoints, metrics.jsonl' },
  epochs: { type: 'string', help: 'epochs', default: '3' },
  'max-steps': { type: 'string', help: 'optimizer steps (overrides --epochs)' },
  'batch-size': { type: 'string', help: 'examples per step (per process under advtrain launch)', default: '32' },
  lr: { type: 'string', help: 'peak learning rate', default: '5e-5' },
  'weight-decay': { type: 'string', help: 'AdamW weight decay', default: '0.01' },
  'warmup-ratio': { type: 'string', help: 'linear warmup fraction', default: '0.06' },
  'max-grad-norm': { type: 'string', help: 'gradient clipping, 0 = off', default: '1' },
  'max-length': { type: 'string', help: 'tokens per example (default: 128; squad: 384, per window)' },
  'doc-stride': { type: 'string', help: 'squad: context tokens a window shares with the previous one', default: String(QA_DEFAULTS.docStride) },
  seed: { type: 'string', help: 'seed', default: '42' },
  device: { type: 'string', help: "'cpu', 'cuda' or 'cuda:N'", default: 'cpu' },
  precision: { type: 'string', help: "'fp32' or 'bf16' (CUDA, or a CPU with avx512_bf16/amx_bf16: see advtrain doctor)", default: 'fp32' },
  'keep-padding': keepPaddingOption,
  'no-step-copy': noStepCopyOption,
  'eval-every': { type: 'string', help: 'evaluate on --dev every N steps' },
  'save-every': { type: 'string', help: 'checkpoint every N steps' },
  resume: { type: 'string', help: "continue from a checkpoint folder; the run's other flags are stored there (flags given again must agree)" },
  tickets: { type: 'boolean', help: 'EarlyRobust: search a robust early-bird ticket (FreeLB + L1 on head/neuron coefficients), prune to it, then train it with --method' },
  'ticket-heads': { type: 'string', help: 'fraction of all heads to prune', default: String(TICKET_DEFAULTS.heads) },
  'ticket-ffn': { type: 'string', help: 'fraction of all FFN neurons to prune', default: String(TICKET_DEFAULTS.ffn) },
  'ticket-l1-heads': { type: 'string', help: 'L1 weight on the head coefficients', default: String(TICKET_DEFAULTS.l1Heads) },
  'ticket-l1-ffn': { type: 'string', help: 'L1 weight on the FFN coefficients', default: String(TICKET_DEFAULTS.l1Ffn) },
  'ticket-points': { type: 'string', help: 'search points per epoch', default: String(TICKET_DEFAULTS.pointsPerEpoch) },
  'ticket-window': { type: 'string', help: 'points a ticket must stay within --ticket-epsilon for', default: String(TICKET_DEFAULTS.window) },
  'ticket-epsilon': { type: 'string', help: 'largest mask distance that counts as unchanged', default: String(TICKET_DEFAULTS.epsilon) },
  'ticket-max-epochs': { type: 'string', help: 'longest search, in epochs', default: String(TICKET_DEFAULTS.maxSearchEpochs) },
  'ticket-weights': { type: 'string', help: "'rewind' (weights before the search, as the official code) or 'search' (at the ticket)", default: TICKET_DEFAULTS.weights },
  ...runDirOptions,
  quiet: { type: 'boolean', help: 'no progress output (the summary table and errors still print)' },
} as const;

export const train: Command = {
  name: 'train',
  summary: 'Fine-tune a model with any method on a GLUE task, a table file, CoNLL NER, SQuAD or multiple choice',
  usage: `advtrain train --task ${CLI_TASKS.join('|')} --train FILE [--dev FILE] (--model DIR | --size tiny|mini|small|base [--family bert|deberta-v3|albert] --tokenizer DIR) [--method NAME] [method flags] --out DIR`,
  notes: INTERRUPT_NOTES,
  options: {
    task: { type: 'string', help: `task preset: ${CLI_TASKS.join(', ')}` },
    train: { type: 'string', help: 'training data file' },
    dev: { type: 'string', help: 'evaluation data file' },
    model: { type: 'string', help: 'a Hugging Face model folder to start from' },
    size: { type: 'string', help: 'random initialisation of a named BERT size: tiny, mini, small, base' },
    family: { type: 'string', help: `with --size: the encoder family's settings at that size (${FAMILY_NAMES.join(', ')})`, default: 'bert' },
    tokenizer: { type: 'string', help: 'tokenizer folder (needed with --size)' },
    columns: { type: 'string', help: 'table task: text=NAME[,pair=NAME][,label=NAME]' },
    labels: { type: 'string', help: 'table task: class names in id order' },
    regression: { type: 'boolean', help: 'table task: numeric labels' },
    fields: { type: 'string', help: 'choice task: context=NAME,endings=NAME[,label=NAME][,prefix=NAME] (endings=A+B+... for one field per choice)' },
    ...trainOptions,
    ...methodOptions,
  },
  async run(typed, _positionals, given) {
    const args = resumeArgs('train', typed, given);
    const spec = taskSpec(args);
    const out = need(args, 'out');
    const trainFile = need(args, 'train');
    const seed = numberFlag(args, 'seed', 42, { int: true, min: 0 });
    const batchSize = numberFlag(args, 'batch-size', 32, { int: true, min: 1 });
    const method = methodFromArgs(args);
    const config = trainingConfigFromArgs(args, method, 5e-5);
    if (args['eval-every'] !== undefined && typeof args.dev !== 'string') throw new UsageError('--eval-every needs --dev FILE (there is nothing to evaluate)');
    const saveTotalLimit = args['save-total-limit'] === undefined ? undefined : numberFlag(args, 'save-total-limit', 1, { int: true, min: 1 });
    const schedule = {
      epochs: numberFlag(args, 'epochs', 3, { int: true, min: 1 }),
      maxSteps: args['max-steps'] === undefined ? undefined : numberFlag(args, 'max-steps', 1, { int: true, min: 1 }),
      evalEvery: args['eval-every'] === undefined ? undefined : numberFlag(args, 'eval-every', 1, { int: true, min: 1 }),
      saveEvery: args['save-every'] === undefined ? undefined : numberFlag(args, 'save-every', 1, { int: true, min: 1 }),
    };
    const resume = typeof args.resume === 'string' ? args.resume : undefined;
    const world = distributed.worldSize;
    // Rank 0 alone touches --out (fit() then has every rank wait for it).
    if (distributed.isMain) prepareOut(args, out);
    const tickets = ticketsFromArgs(args);
    if (tickets && world > 1) throw new UsageError('--tickets runs in one process (the ticket search is not data-parallel); drop advtrain launch or --tickets');
    const built = await modelFromArgs(args, spec.modelTask, await spec.trainLabels(trainFile), seed);
    let model = built.model;
    const tokenizer = built.tokenizer;
    const load = {
      maxLength: maxLengthFlag(args, spec.maxLength, model),
      docStride: numberFlag(args, 'doc-stride', QA_DEFAULTS.docStride, { int: true, min: 0 }),
    };
    const labels = model.config.id2label;
    const loader = (await spec.load(trainFile, tokenizer, { ...load, labels })).trainData(batchSize, seed);
    const devFile = typeof args.dev === 'string' ? args.dev : undefined;
    const dev = devFile ? (await spec.load(devFile, tokenizer, { ...load, labels })).evaluator(64) : undefined;
    const ticketRows: [string, string][] = [];
    if (tickets && resume) {
      // The stage-2 checkpoint holds the pruned model: prune the fresh one to the same ticket, then resume.
      // ticket.json sits in the run folder that holds the checkpoint (or in --out when it is that folder).
      const file = [join(dirname(resolve(resume)), TICKET_FILE), join(out, TICKET_FILE)].find((f) => existsSync(f));
      if (!file) throw new UsageError(`--resume with --tickets needs the ${TICKET_FILE} its run wrote after the search, beside ${resume}`);
      const ticket = readFileSync(file, 'utf8');
      await model.prune((JSON.parse(ticket) as { prune: PruneSpec }).prune);
      if (resolve(file) !== resolve(join(out, TICKET_FILE))) await writeFileAtomic(join(out, TICKET_FILE), ticket);
    } else if (tickets) {
      const search = progressCallback({ examplesPerStep: batchSize, quiet: args.quiet === true, label: 'ticket search' });
      const points: Record<string, number | null>[] = [];
      let r;
      try {
        r = await findTicket(model, loader, {
          tickets,
          optimizer: config.optimizer,
          ...(config.scheduler ? { scheduler: config.scheduler } : {}),
          ...(config.maxGradNorm !== undefined ? { maxGradNorm: config.maxGradNorm } : {}),
          seed,
          onPoint: (p) => void points.push({ ...p }),
          callbacks: [search],
        });
      } finally {
        search.stop();
      }
      model = r.model;
      const record = {
        ticketStep: r.ticketStep,
        converged: r.converged,
        searchSteps: r.searchSteps,
        searchSeconds: r.searchSeconds,
        searchExamplesPerSec: (r.searchSteps * batchSize) / r.searchSeconds,
        before: r.before,
        after: r.after,
        layerHeads: r.layerHeads,
        layerFfn: r.layerFfn,
        points,
        prune: prunedIndices(r.masks),
      };
      await writeFileAtomic(join(out, TICKET_FILE), `${JSON.stringify(record, null, 2)}\n`);
      await writeFileAtomic(join(out, 'ticket.svg'), await renderSvg(ticketSpec(r, tickets.epsilon ?? TICKET_DEFAULTS.epsilon)));
      ticketRows.push(
        ['ticket', `step ${r.ticketStep} of ${r.searchSteps} searched${r.converged ? '' : ' (no ticket stayed within epsilon: the last point)'}, ${r.searchSeconds.toFixed(1)} s`],
        ['pruned', `${r.before.heads} -> ${r.after.heads} heads, ${r.before.ffn} -> ${r.after.ffn} FFN neurons, ${r.before.parameters} -> ${r.after.parameters} parameters`],
      );
    }
    // --batch-size is per rank: a step trains on batchSize x world examples.
    const progress = progressCallback({ examplesPerStep: batchSize * world, quiet: args.quiet === true || !distributed.isMain, label: `${method.name}` });
    const trainer = new Trainer({ ...config, model, callbacks: [progress], distributed: 'auto' });
    const interrupt = interruptOnSignals();
    const t0 = performance.now();
    try {
      const result = await trainer.fit(loader, {
        ...schedule,
        evalData: dev,
        outputDir: out,
        saveTotalLimit,
        signal: interrupt.signal,
        resumeFrom: resume,
        runSettings: runSettingsOf('train', args),
      });
      progress.stop();
      const seconds = (performance.now() - t0) / 1000;
      if (result.stopReason === 'aborted') {
        return reportInterrupted(out, result.state.globalStep, interrupt.exitCode);
      }
      const rows: [string, string][] = [
        ['task', spec.name],
        ['method', method.name],
        ['steps', String(result.state.globalStep)],
        ['time', `${seconds.toFixed(1)} s (${((result.state.globalStep * batchSize * world) / seconds).toFixed(1)} examples/s)`],
        ...(world > 1 ? ([['processes', `${world} (batch ${batchSize} each)`]] as [string, string][]) : []),
        ['skipped steps', String(result.state.skippedSteps)],
        ...ticketRows,
      ];
      for (const [k, v] of Object.entries(result.evalMetrics ?? {})) rows.push([`dev ${k}`, Number.isInteger(v) ? String(v) : v.toFixed(4)]);
      rows.push(['model', out]);
      if (distributed.isMain) console.log(table(rows));
      return 0;
    } catch (err) {
      progress.stop();
      throw err;
    } finally {
      interrupt.release();
      trainer.dispose();
      model.dispose();
    }
  },
};
