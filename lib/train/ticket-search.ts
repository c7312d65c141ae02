/**
 * findTicket: EarlyRobust's first stage (Xi et al., EMNLP 2022; WooooDyy/EarlyRobust freelb_search.py and
 * second_stage.py). Slimming coefficients on every head and FFN neuron, trained by FreeLB with their L1
 * penalty; at regular points the ticket masks are drawn and compared; the search stops at the first
 * ticket that stays within epsilon for `window` points; the model is then physically pruned to it, from
 * the weights before the search (the official second stage loads `checkpoint-0`, saved before any
 * update) or from those at the search point (`weights: 'search'`). Stage 2 is any Trainer on the result.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdvtrainError, invalidArg } from '../errors.js';
import { layerShapes } from '../model/config.js';
import { loadModel, type Model } from '../model/model.js';
import { finiteNumber, integer, knownKeys, object, oneOf } from '../validate.js';
import type { OptimizerOptions, SchedulerOptions } from './config.js';
import { resolveMethod, type MethodConfig } from './methods.js';
import { DEFAULT_PRUNE_RATIOS, prunedIndices, searchPoints, TicketSearch, ticketMasks, type SlimmingCoefficients, type TicketMasks } from './tickets.js';
import { toSource, Trainer, type TrainData, type TrainerCallback } from './trainer.js';

export interface TicketOptions {
  /** Fraction of all heads to prune. Default 1/6. */
  heads?: number;
  /** Fraction of all FFN neurons to prune. Default 0.4. */
  ffn?: number;
  /** L1 weight on the head coefficients. Default 1e-5. */
  l1Heads?: number;
  /** L1 weight on the FFN coefficients. Default 2e-4. */
  l1Ffn?: number;
  /** The search's training method. Default FreeLB as the official search: 5 passes, step 0.01, start 0.05, l2, no projection, fresh dropout each pass. */
  searchMethod?: MethodConfig;
  /** Search points per epoch. Default 20. */
  pointsPerEpoch?: number;
  /** Points a ticket must stay within epsilon for. Default 5. */
  window?: number;
  /** Largest normalised Hamming distance that counts as unchanged. Default 0.1. */
  epsilon?: number;
  /** Longest search, in epochs of the training data. Default 1. */
  maxSearchEpochs?: number;
  /** Weights of the pruned model: 'rewind' (before the search, as the official second stage) or 'search' (at the ticket's point). Default 'rewind'. */
  weights?: 'rewind' | 'search';
}

export const TICKET_DEFAULTS: Required<TicketOptions> = {
  heads: DEFAULT_PRUNE_RATIOS.heads,
  ffn: DEFAULT_PRUNE_RATIOS.ffn,
  l1Heads: 1e-5,
  l1Ffn: 2e-4,
  searchMethod: { name: 'freelb', steps: 5, stepSize: 0.01, initMag: 0.05, epsilon: 0, norm: 'l2', syncDropout: false },
  pointsPerEpoch: 20,
  window: 5,
  epsilon: 0.1,
  maxSearchEpochs: 1,
  weights: 'rewind',
};

/** One search point as logged: mask distances to the previous point and how much the masks keep. */
export interface TicketPointLog {
  step: number;
  headDistance: number | null;
  ffnDistance: number | null;
  keptHeads: number;
  keptFfn: number;
}

export interface ModelShape {
  parameters: number;
  heads: number;
  ffn: number;
}

export interface TicketResult {
  /** The pruned model: the same object with weights 'search', a new one (loaded from before the search) with 'rewind'. */
  model: Model;
  /** False when no mask stayed within epsilon for `window` points: the last point's masks were used. */
  converged: boolean;
  /** The optimizer step whose masks are the ticket. */
  ticketStep: number;
  /** Optimizer steps the search ran. */
  searchSteps: number;
  points: TicketPointLog[];
  masks: TicketMasks;
  /** Heads and neurons per layer after pruning. */
  layerHeads: number[];
  layerFfn: number[];
  before: ModelShape;
  after: ModelShape;
  searchSeconds: number;
}

export interface FindTicketOptions {
  tickets?: TicketOptions;
  optimizer: OptimizerOptions;
  scheduler?: SchedulerOptions;
  maxGradNorm?: number;
  seed?: number;
  /** Called at every search point. */
  onPoint?: (point: TicketPointLog) => void;
  /** Told each search step through onStepEnd (progress bars, logs). */
  callbacks?: TrainerCallback[];
  signal?: AbortSignal;
}

export function resolveTickets(options: TicketOptions = {}): Required<TicketOptions> {
  const o = object('tickets', options);
  knownKeys('tickets', o, Object.keys(TICKET_DEFAULTS));
  const t = { ...TICKET_DEFAULTS, ...(o as TicketOptions) };
  for (const k of ['heads', 'ffn'] as const) {
    const v = finiteNumber(`tickets.${k}`, t[k], { min: 0 });
    if (v >= 1) throw invalidArg(`tickets.${k}`, 'a fraction in [0, 1)', v);
  }
  finiteNumber('tickets.l1Heads', t.l1Heads, { min: 0 });
  finiteNumber('tickets.l1Ffn', t.l1Ffn, { min: 0 });
  integer('tickets.pointsPerEpoch', t.pointsPerEpoch, { min: 1 });
  integer('tickets.window', t.window, { min: 1 });
  const eps = finiteNumber('tickets.epsilon', t.epsilon, { min: 0 });
  if (!(eps > 0 && eps <= 1)) throw invalidArg('tickets.epsilon', 'a number in (0, 1]', eps);
  integer('tickets.maxSearchEpochs', t.maxSearchEpochs, { min: 1 });
  oneOf('tickets.weights', t.weights, ['rewind', 'search'] as const);
  resolveMethod(t.searchMethod);
  return t;
}

function shape(model: Model): ModelShape {
  const layers = layerShapes(model.config);
  return { parameters: model.numParameters(), heads: layers.layerHeads.reduce((a, b) => a + b, 0), ffn: layers.layerIntermediate.reduce((a, b) => a + b, 0) };
}

/** A layer whose FFN mask keeps nothing keeps its largest-coefficient neuron (a layer needs one; the official code never meets the case at its ratios). */
function keepOneNeuron(masks: TicketMasks, coeffs: SlimmingCoefficients): TicketMasks {
  const ffn = masks.ffn.map((m, i) => {
    if (m.some(Boolean)) return m;
    const c = Array.from(coeffs.ffn[i]!);
    const best = c.indexOf(Math.max(...c));
    return m.map((_, j) => j === best);
  });
  return { heads: masks.heads, ffn };
}

/**
 * EarlyRobust's ticket search on `model` (BERT, RoBERTa or ELECTRA), then physical pruning to the ticket.
 *
 * @example
 * ```ts
 * const { model: small, ticketStep, after } = await findTicket(model, loader, { optimizer: { name: 'adamw', lr: 2e-5 } });
 * const trainer = new Trainer({ model: small, method: presets.freelb.sst2, optimizer: { name: 'adamw', lr: 2e-5 } });
 * await trainer.fit(loader, { epochs: 3 });
 * ```
 */
export async function findTicket(model: Model, train: TrainData, options: FindTicketOptions): Promise<TicketResult> {
  const o = object('options', options) as unknown as FindTicketOptions;
  knownKeys('options', o as unknown as Record<string, unknown>, ['tickets', 'optimizer', 'scheduler', 'maxGradNorm', 'seed', 'onPoint', 'callbacks', 'signal']);
  const t = resolveTickets(o.tickets);
  const perEpoch = toSource(train).length;
  if (!(perEpoch > 0)) throw invalidArg('train', 'a non-empty batch source', train);
  const points = searchPoints(perEpoch, t.pointsPerEpoch, t.maxSearchEpochs);
  const at = new Set(points);
  const before = shape(model);
  const rewind = t.weights === 'rewind' ? mkdtempSync(join(tmpdir(), 'advtrain-ticket-')) : undefined;
  let trainer: Trainer | undefined;
  try {
    if (rewind) await model.save(rewind);
    await model.enableSlimming();
    trainer = new Trainer({
      model,
      method: t.searchMethod,
      optimizer: o.optimizer,
      ...(o.scheduler ? { scheduler: o.scheduler } : {}),
      ...(o.maxGradNorm !== undefined ? { maxGradNorm: o.maxGradNorm } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
      slimmingL1: { heads: t.l1Heads, ffn: t.l1Ffn },
    });
    const control = { shouldStop: false, shouldSave: false, shouldEvaluate: false };
    const search = new TicketSearch({ window: t.window, epsilon: t.epsilon });
    const coeffsAt = new Map<number, SlimmingCoefficients>();
    const logs: TicketPointLog[] = [];
    let steps = 0;
    const t0 = performance.now();
    for await (const s of trainer.steps(train, { maxSteps: points.at(-1)!, ...(o.signal ? { signal: o.signal } : {}) })) {
      steps = s.step;
      // steps() (unlike fit()) calls no callbacks: the search's progress goes through onStepEnd here.
      for (const cb of o.callbacks ?? []) await cb.onStepEnd?.(trainer.state, control, s);
      if (!at.has(s.step)) continue;
      const coeffs = await model.slimmingCoefficients();
      coeffsAt.set(s.step, coeffs);
      const masks = ticketMasks(coeffs, { heads: t.heads, ffn: t.ffn });
      const ticket = search.add(s.step, masks);
      const p = search.points.at(-1)!;
      const log = { step: s.step, headDistance: p.headDistance, ffnDistance: p.ffnDistance, keptHeads: count(masks.heads), keptFfn: count(masks.ffn) };
      logs.push(log);
      o.onPoint?.(log);
      if (ticket) break;
    }
    const searchSeconds = (performance.now() - t0) / 1000;
    if (o.signal?.aborted) throw new AdvtrainError(`findTicket: aborted after ${steps} search steps; the model keeps its slimming coefficients, unpruned`, 'ERR_ABORTED');
    const chosen = search.ticket ?? search.points.at(-1);
    if (!chosen) throw invalidArg('train', `enough batches for a search point (the first is after ${points[0]} steps)`, train);
    const masks = keepOneNeuron(chosen.masks, coeffsAt.get(chosen.step)!);
    trainer.dispose();
    trainer = undefined;
    let pruned = model;
    if (rewind) {
      pruned = await loadModel(rewind, { device: model.device, dtype: model.dtype });
      if (model.tokenizer) pruned.tokenizer = model.tokenizer;
      model.dispose();
    }
    await pruned.prune(prunedIndices(masks));
    const layers = layerShapes(pruned.config);
    return {
      model: pruned,
      converged: search.ticket !== undefined,
      ticketStep: chosen.step,
      searchSteps: steps,
      points: logs,
      masks,
      layerHeads: layers.layerHeads,
      layerFfn: layers.layerIntermediate,
      before,
      after: shape(pruned),
      searchSeconds,
    };
  } finally {
    trainer?.dispose();
    if (rewind) rmSync(rewind, { recursive: true, force: true });
  }
}

function count(masks: boolean[][]): number {
  return masks.reduce((n, l) => n + l.filter(Boolean).length, 0);
}
