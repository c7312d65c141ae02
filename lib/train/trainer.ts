/**
 * The Trainer: the outer loop (epochs, evaluation, callbacks, checkpoints, logging) in TypeScript,
 * one native Promise per optimizer step; each method's inner loop runs natively.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { native, type NativeTrainer } from '../binding.js';
import { checkBf16Device } from '../device.js';
import { AdvtrainError, invalidArg } from '../errors.js';
import { fsyncDir, swapInDir, writeFileAtomic } from '../io/atomic.js';
import { readCheckpointJson } from '../io/json-file.js';
import { checkManifest } from '../io/manifest.js';
import { ioError, prepareRunDir, rotateCheckpoints } from '../io/output-dir.js';
import { prepareBatch, type LabeledBatch } from '../model/batch.js';
import { layerApplications } from '../model/config.js';
import type { Model } from '../model/model.js';
import { readSafetensorsHeader } from '../model/safetensors.js';
import { float32Array, integer, knownKeys, object, string } from '../validate.js';
import { BatchLoader, type DataShard } from '../data/batching.js';
import { CONFIG_KEYS, resolveConfig, type ResolvedConfig, type TrainingConfig } from './config.js';
import { evaluateModel, type Scorer } from './evaluate.js';
import { allGatherJson } from '../distributed/collectives.js';
import { collectives, currentGroup, initDistributed, resolveDistributed, type DistributedOptions, type DistributedSetting } from '../distributed/group.js';
import { launchEnv } from '../distributed/env.js';

/** What one optimizer step reports. Methods add `cleanLoss`, `advLoss`, `deltaNorm`, `repCos`. */
export interface StepResult {
  /** Optimizer steps attempted so far (this one included). */
  step: number;
  loss: number;
  lr: number;
  /** Total gradient 2-norm before clipping. */
  gradNorm: number;
  /** True when the loss or gradient was not finite: no update was applied. */
  skipped: boolean;
  /** Milliseconds the native step took. */
  ms: number;
  cleanLoss?: number;
  advLoss?: number;
  deltaNorm?: number;
  repCos?: number;
  [figure: string]: number | boolean | undefined;
}

/** Where training stands; saved with checkpoints (trainer_state.json). */
export interface TrainerState {
  globalStep: number;
  epoch: number;
  /** Next batch of `epoch` to train on. */
  batchInEpoch: number;
  maxSteps: number;
  logHistory: Record<string, number>[];
  consecutiveNonFinite: number;
  skippedSteps: number;
}

/** Callbacks set these to steer the loop (as transformers' TrainerControl). */
export interface TrainerControl {
  shouldStop: boolean;
  shouldSave: boolean;
  shouldEvaluate: boolean;
}

type Awaitable<T> = T | Promise<T>;

/** HF-style hooks. Each receives the state and a control object it may change. */
export interface TrainerCallback {
  onStepEnd?(state: Readonly<TrainerState>, control: TrainerControl, step: StepResult): Awaitable<void>;
  onEvaluate?(state: Readonly<TrainerState>, control: TrainerControl, metrics: Record<string, number>): Awaitable<void>;
  onLog?(state: Readonly<TrainerState>, control: TrainerControl, logs: Record<string, number>): Awaitable<void>;
  onSave?(state: Readonly<TrainerState>, control: TrainerControl, checkpointDir: string): Awaitable<void>;
}

/** Training data that can be replayed deterministically and resumed mid-epoch. */
export interface BatchSource {
  /** Batches per epoch. */
  readonly length: number;
  /** The batches of `epoch` (same seed and epoch give the same order), from index `start`. */
  epoch(epoch: number, start: number): Iterable<LabeledBatch> | AsyncIterable<LabeledBatch>;
}

/** A fixed list of batches as a BatchSource (the same order every epoch). */
export function arraySource(batches: LabeledBatch[]): BatchSource {
  return { length: batches.length, epoch: (_e, start) => batches.slice(start) };
}

/** What fit() and steps() train on: a BatchSource, a BatchLoader (lib/data) or a fixed batch list. */
// Any item type: the trainer only sees the collated batches.
export type TrainData = BatchSource | BatchLoader<any, LabeledBatch> | LabeledBatch[];

/** The BatchSource a TrainData stands for. */
export function toSource(train: TrainData): BatchSource {
  if (Array.isArray(train)) return arraySource(train);
  if (train instanceof BatchLoader) {
    const loader = train;
    return {
      length: loader.batchesPerEpoch,
      *epoch(e, start) {
        for (const step of loader.epoch(e, start)) yield step.batch;
      },
    };
  }
  return train;
}

/**
 * Evaluates the model itself, for tasks whose metrics need more than batches: question answering
 * decodes spans from the logits of several windows per example (see `evaluateQa`).
 *
 * @example
 * ```ts
 * const evaluator: Evaluator = (m) => evaluateQa(m, dev, devFeatures);
 * await trainer.fit(loader, { epochs: 2, evalData: evaluator });
 * ```
 */
export type Evaluator = (model: Model) => Promise<Record<string, number>>;

export interface FitOptions {
  /** Epochs to run (default 1); maxSteps wins when both are given. */
  epochs?: number;
  /** Optimizer steps to run in total. */
  maxSteps?: number;
  /**
   * Evaluated every `evalEvery` steps and at the end: labeled batches (see evaluate()), a BatchLoader
   * (its epoch 0), or an {@link Evaluator}.
   */
  evalData?: Iterable<LabeledBatch> | BatchLoader<any, LabeledBatch> | Evaluator;
  evalEvery?: number;
  /** Checkpoint every `saveEvery` steps (and at the end) into outputDir/checkpoint-<step>. */
  saveEvery?: number;
  /**
   * Where checkpoints, metrics.jsonl (every step, log, evaluation and save, one JSON object a line)
   * and the final model go. A folder that holds another run is refused unless `overwriteOutputDir`
   * or `resumeFrom` is given.
   */
  outputDir?: string;
  /** Clear the previous run's model, checkpoints and metrics.jsonl from outputDir first. */
  overwriteOutputDir?: boolean;
  /** Keep only the newest N checkpoints in outputDir (transformers' save_total_limit). */
  saveTotalLimit?: number;
  /** Log (onLog) every `logEvery` steps; default 10. */
  logEvery?: number;
  /** Aborting finishes the running step, saves a checkpoint (with outputDir) and returns. */
  signal?: AbortSignal;
  /**
   * A checkpoint folder to continue from exactly. The data must give as many batches per epoch (and
   * a BatchLoader the same batch size), and epochs/maxSteps the same step count, as the checkpointed
   * run; otherwise ERR_CHECKPOINT. Entries of outputDir/metrics.jsonl after the checkpoint's step are
   * dropped.
   */
  resumeFrom?: string;
  /**
   * The caller's settings (JSON), stored in every checkpoint's trainer_state.json as `runSettings` and
   * read back with {@link checkpointRunSettings}: the CLI keeps its flags there, so `--resume DIR` needs nothing else.
   */
  runSettings?: Record<string, unknown>;
}

/** What trainer_state.json records of the data, to refuse a resume that would read it differently. */
interface DataShape {
  batchesPerEpoch: number;
  batchSize?: number;
}

export interface FitResult {
  state: TrainerState;
  stopReason: 'completed' | 'maxSteps' | 'aborted' | 'callback';
  /** Last evaluation, when evalData was given. */
  evalMetrics?: Record<string, number>;
}

/**
 * @internal Base random draws of one step, before the method scales and masks them (native
 * RandomDraws); each is checked natively against the shape the method draws.
 */
export interface RandomDraws {
  /** [rows, seqLen, width]: the U(-1, 1) draw of an initMag start or of R3F's uniform noise (width embeddingSize), or the N(0, 1) draw of R3F's normal and SMART/ALUM noise and of SiFT's start (SMART/ALUM/SiFT: the perturbed output's width, hiddenSize on DeBERTa-v2 and on ALUM's layer outputs). */
  start?: { data: Float32Array; shape: [number, number, number] };
  /** [vocabSize, embeddingSize]: the U(-1, 1) draw TextAT's table is re-made from. */
  table?: { data: Float32Array; shape: [number, number] };
  /** [numLabels] and [hiddenSize]: the N(0, 1) draws R4F's power-iteration vectors u and v are re-made from (normalised); given together. */
  spectralU?: { data: Float32Array; shape: [number] };
  spectralV?: { data: Float32Array; shape: [number] };
  /** [P]: the U(-1, 1) draw InfoBERT's InfoNCE critic is re-made from (W1, b1, W2, b2, each / sqrt(fan_in)). */
  estimator?: { data: Float32Array; shape: [number] };
  /** [steps, rows * seqLen]: U(0, 1) draws of InfoBERT's CLUB negatives, floor(u * n) over the n real tokens of each pass. */
  indices?: { data: Float32Array; shape: [number, number] };
}

/**
 * @internal Test hook, not part of the public API: the next `trainer.step()` (of one micro-batch) takes
 * its random draws from `draws` instead of the generator, so parity tests can run the random-start code
 * paths (scaling, masking, TextAT's table) on draws made by the reference loops.
 */
export function setNextRandomDraws(trainer: Trainer, draws: RandomDraws): void {
  const o = object('draws', draws) as RandomDraws;
  const keys = ['start', 'table', 'spectralU', 'spectralV', 'estimator', 'indices'] as const;
  knownKeys('draws', o as Record<string, unknown>, keys);
  for (const key of keys) {
    const d = o[key];
    if (d === undefined) continue;
    object(`draws.${key}`, d);
    if (!Array.isArray(d.shape) || !d.shape.every((n) => Number.isInteger(n) && n >= 0)) throw invalidArg(`draws.${key}.shape`, 'an array of sizes', d.shape);
    float32Array(`draws.${key}.data`, d.data, d.shape.reduce((a, b) => a * b, 1));
  }
  trainer['ensureNative']().setNextRandomDraws(o);
}

export interface TrainerOptions extends TrainingConfig {
  model: Model;
  callbacks?: TrainerCallback[];
  /** Metrics of evaluate() for classification and regression (e.g. GLUE's, via glueScores). */
  scorer?: Scorer;
  /**
   * Data-parallel training over torch's c10d (see docs/distributed.md): 'auto' joins the process group
   * the launch variables describe (`advtrain launch`, torchrun, srun) at the first step, and trains as a
   * single process without them. Gradients are averaged once per optimizer step; a BatchLoader is sharded
   * per rank (its batchSize is then the per-rank batch); rank 0 writes checkpoints, the model and metrics.jsonl.
   */
  distributed?: DistributedSetting;
}

const TRAINER_KEYS = ['model', 'callbacks', 'scorer', 'distributed', ...CONFIG_KEYS] as const;

/**
 * Trains a model with one of advtrain's methods.
 *
 * @example
 * ```ts
 * const trainer = new Trainer({ model, method: { name: 'freelb', steps: 3 }, optimizer: { name: 'adamw', lr: 2e-5 } });
 * const m = await trainer.step(batch);          // one optimizer step
 * await trainer.fit(source, { epochs: 3, outputDir: 'runs/sst2', evalData: dev });
 * ```
 */
export class Trainer {
  readonly model: Model;
  /** The validated, frozen configuration (saved with checkpoints). */
  readonly config: Readonly<ResolvedConfig>;
  readonly state: TrainerState;
  private readonly callbacks: TrainerCallback[];
  private readonly scorer?: Scorer;
  private nativeTrainer?: NativeTrainer;
  private totalSteps?: number;
  private disposed = false;
  /** The data of the current run (saved with checkpoints). */
  private data?: DataShape;
  /** Set by resume(): what the next steps() must agree with. */
  private resumed?: { file: string; maxSteps: number; data?: DataShape };
  private lastSavedStep = -1;
  /** metrics.jsonl of the running fit(). */
  private metricsFile?: string;
  private runSettings?: Record<string, unknown>;
  private readonly distributedOptions?: DistributedOptions;
  /** The ranks agreed to stop the running loop (an abort on any of them). */
  private stopAgreed = false;
  private warnedUnsharded = false;

  constructor(options: TrainerOptions) {
    const o = object('options', options) as unknown as TrainerOptions;
    knownKeys('options', o as unknown as Record<string, unknown>, TRAINER_KEYS);
    if (!o.model || typeof o.model.forward !== 'function') throw invalidArg('options.model', 'a Model', o.model);
    if (o.model.task === 'base') throw invalidArg('options.model', 'a model with a task head (loaded with a task)', o.model.task);
    this.model = o.model;
    this.config = resolveConfig(o, { task: o.model.task, numLayers: layerApplications(o.model.config) });
    if (this.config.precision === 'bf16') checkBf16Device('options.precision', this.model.device);
    if (o.distributed !== undefined) this.distributedOptions = resolveDistributed(o.distributed);
    this.callbacks = o.callbacks ?? [];
    this.scorer = o.scorer;
    this.state = { globalStep: 0, epoch: 0, batchInEpoch: 0, maxSteps: 0, logHistory: [], consecutiveNonFinite: 0, skippedSteps: 0 };
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return this.ensureNative().lr;
  }

  /** Joins the process group (a distributed trainer, before its native half exists). */
  private async joinGroup(): Promise<void> {
    if (this.distributedOptions && !this.nativeTrainer) await initDistributed(this.distributedOptions, this.model.device);
  }

  /** True when this trainer averages over several ranks (rank 0 then writes every file). */
  private get isDistributed(): boolean {
    return this.distributedOptions !== undefined && currentGroup() !== undefined;
  }

  /** A step of several updates (FreeAT) that may keep some of them when it fails or turns non-finite. */
  private get partialSteps(): boolean {
    return !this.config.atomicSteps && this.config.method.name === 'freeat';
  }

  /** This trainer writes files and logs: a single process, or rank 0. */
  private get writes(): boolean {
    return !this.isDistributed || currentGroup()!.env.rank === 0;
  }

  private ensureNative(): NativeTrainer {
    if (this.disposed) throw new AdvtrainError('this Trainer has been disposed; create a new one', 'ERR_DISPOSED');
    if (this.nativeTrainer) return this.nativeTrainer;
    const group = this.distributedOptions ? currentGroup() : undefined;
    if (this.distributedOptions && !group && (launchEnv()?.worldSize ?? 1) > 1) {
      throw new AdvtrainError('this distributed Trainer has not joined its process group yet: await distributed.init() (or a step, fit or resume) first', 'ERR_DISTRIBUTED');
    }
    const c = this.config;
    const total = c.scheduler.totalSteps ?? this.totalSteps;
    if (c.scheduler.name !== 'constant' && total === undefined) {
      throw invalidArg('scheduler.totalSteps', `a step count for the ${c.scheduler.name} schedule when step() is called outside fit()`, undefined);
    }
    const warmupSteps = c.scheduler.warmupSteps ?? Math.ceil((c.scheduler.warmupRatio ?? 0) * (total ?? 0));
    if ((c.slimmingL1.heads > 0 || c.slimmingL1.ffn > 0) && !this.model.slimming) {
      throw invalidArg('slimmingL1', 'zero unless the model has slimming coefficients (call model.enableSlimming() before training)', c.slimmingL1);
    }
    this.nativeTrainer = new (native().NativeTrainer)(this.model._native, {
      optimizer: c.optimizer,
      scheduler: { name: c.scheduler.name, warmupSteps, totalSteps: total ?? 0 },
      method: c.method,
      maxGradNorm: c.maxGradNorm,
      seed: c.seed,
      precision: c.precision,
      slimmingL1: c.slimmingL1,
      skipPadding: c.skipPadding,
      atomicSteps: c.atomicSteps,
      distributed: group !== undefined,
      ...(group ? { bucketBytes: group.bucketBytes } : {}),
    });
    return this.nativeTrainer;
  }

  /**
   * One optimizer step: `gradientAccumulation` micro-batches (an array), or one batch when it is 1.
   * A step whose loss or gradient is not finite is skipped (weights untouched) and counted; after
   * `maxNonFiniteSteps` in a row it throws ERR_NON_FINITE.
   */
  async step(batch: LabeledBatch | LabeledBatch[]): Promise<StepResult> {
    if (this.disposed) throw new AdvtrainError('this Trainer has been disposed; create a new one', 'ERR_DISPOSED');
    const list = Array.isArray(batch) ? batch : [batch];
    if (list.length < 1 || list.length > this.config.gradientAccumulation) {
      throw invalidArg('batch', `1 to ${this.config.gradientAccumulation} micro-batches (gradientAccumulation)`, batch);
    }
    const prepared = list.map((b, i) => prepareBatch(b, this.model.config, list.length > 1 ? `batch[${i}]` : 'batch', true));
    await this.joinGroup();
    const nt = this.ensureNative();
    const t0 = performance.now();
    const before = nt.stepCount;
    let out: Awaited<ReturnType<NativeTrainer['step']>>;
    try {
      out = await nt.step(prepared);
    } catch (e) {
      // Only without atomicSteps can a failed step have applied updates (FreeAT's earlier replays).
      const applied = nt.stepCount - before;
      if (applied > 0) {
        this.state.globalStep = nt.stepCount;
        if (e instanceof Error) e.message += ` (${applied} of this step's updates were applied before the failure and stay: atomicSteps is false)`;
      }
      throw e;
    }
    const ms = performance.now() - t0;
    const result: StepResult = { ...out.metrics, step: out.step, loss: out.metrics.loss ?? Number.NaN, lr: out.metrics.lr ?? 0, gradNorm: out.metrics.gradNorm ?? 0, skipped: out.skipped, ms };
    this.state.globalStep = out.step;
    if (out.skipped) {
      this.state.skippedSteps++;
      this.state.consecutiveNonFinite++;
      if (this.state.consecutiveNonFinite >= this.config.maxNonFiniteSteps) {
        throw new AdvtrainError(
          `${this.state.consecutiveNonFinite} steps in a row had a non-finite loss or gradient (last loss ${result.loss}); ` +
            (this.partialSteps
              ? 'the replays before the non-finite one in each of those steps kept their updates (atomicSteps is false). '
              : `no update was applied since step ${out.step - this.state.consecutiveNonFinite}, so the weights are intact. `) +
            'Lower the learning rate or the attack step size, keep maxGradNorm on, or start the attack later (advBeginStep).',
          'ERR_NON_FINITE',
        );
      }
    } else {
      this.state.consecutiveNonFinite = 0;
    }
    return result;
  }

  /**
   * The last step's final perturbation (word-embedding delta, or SMART's embedding-output noise),
   * [rows, seqLen, embeddingSize] row-major; null for vanilla or before the first step.
   */
  lastPerturbation(): { data: Float32Array; shape: [number, number, number] } | null {
    const p = this.nativeTrainer?.lastPerturbation() ?? null;
    return p ? { data: p.data, shape: p.shape as [number, number, number] } : null;
  }

  /**
   * Iterates the training loop one optimizer step at a time; `fit` is built on it.
   *
   * @example
   * ```ts
   * for await (const s of trainer.steps(source, { maxSteps: 100 })) console.log(s.step, s.loss);
   * ```
   */
  async *steps(train: TrainData, options: Pick<FitOptions, 'epochs' | 'maxSteps' | 'signal'> = {}): AsyncGenerator<StepResult> {
    await this.joinGroup();
    this.stopAgreed = false;
    const pg = this.isDistributed ? currentGroup()! : undefined;
    // Each rank reads its own shard of a seeded order (DistributedSampler's semantics): BatchLoader and
    // MaskedLmBatches make one with withShard().
    const shardable = train as { shard?: unknown; withShard?: (s: DataShard) => TrainData };
    if (pg && !Array.isArray(train) && shardable.shard === undefined && typeof shardable.withShard === 'function') train = shardable.withShard({ rank: pg.env.rank, worldSize: pg.env.worldSize });
    else if (pg && shardable.shard === undefined && !this.warnedUnsharded) {
      this.warnedUnsharded = true;
      process.emitWarning(`rank ${pg.env.rank}: the training data is not a sharded source, so each rank trains on the batches it was given; give each rank its own (BatchLoader, MaskedLmBatches and CorpusBatches shard themselves)`, { code: 'ADVTRAIN_UNSHARDED_DATA' });
    }
    const source = toSource(train);
    if (!source || typeof source.epoch !== 'function' || !(source.length > 0)) throw invalidArg('train', 'a non-empty BatchSource or batch array', train);
    const accum = this.config.gradientAccumulation;
    const stepsPerEpoch = Math.ceil(source.length / accum);
    const epochs = integer('options.epochs', options.epochs ?? 1, { min: 1 });
    const maxSteps = options.maxSteps === undefined ? epochs * stepsPerEpoch : integer('options.maxSteps', options.maxSteps, { min: 1 });
    this.data = { batchesPerEpoch: source.length, ...(train instanceof BatchLoader ? { batchSize: train.batchSize } : {}) };
    if (this.resumed) this.checkResumedRun(this.resumed, maxSteps, this.data);
    this.state.maxSteps = maxSteps;
    if (!this.nativeTrainer) this.totalSteps = maxSteps;
    while (this.state.globalStep < maxSteps) {
      let group: LabeledBatch[] = [];
      let index = this.state.batchInEpoch;
      for await (const b of source.epoch(this.state.epoch, this.state.batchInEpoch)) {
        group.push(b);
        index++;
        if (group.length < accum && index < source.length) continue;
        if (await this.shouldStop(options.signal)) return;
        const r = await this.step(group);
        group = [];
        this.state.batchInEpoch = index;
        yield r;
        // Ranks agree on stopping before the next step (shouldStop), never on their own.
        if (this.state.globalStep >= maxSteps || (!this.isDistributed && options.signal?.aborted)) break;
      }
      if (this.state.globalStep >= maxSteps || (!this.isDistributed && options.signal?.aborted)) {
        if (this.state.batchInEpoch >= source.length) this.nextEpoch();
        return;
      }
      this.nextEpoch();
    }
  }

  /**
   * Whether to stop before the next step: the abort signal, agreed by all ranks of a distributed run
   * (one rank's Ctrl-C stops every rank at the same step instead of leaving the others in a collective).
   */
  private async shouldStop(signal?: AbortSignal): Promise<boolean> {
    const mine = signal?.aborted === true;
    const c = this.isDistributed ? collectives() : null;
    if (!c) return mine;
    const votes = await c.allGather(new Uint8Array([mine ? 1 : 0]));
    if (votes.some((v) => v[0] === 1)) this.stopAgreed = true;
    return this.stopAgreed;
  }

  private nextEpoch(): void {
    this.state.epoch++;
    this.state.batchInEpoch = 0;
  }

  /**
   * Trains for `epochs` or `maxSteps`, evaluating, logging and checkpointing as asked.
   */
  async fit(train: TrainData, options: FitOptions = {}): Promise<FitResult> {
    const o = object('options', options) as FitOptions;
    knownKeys('options', o as Record<string, unknown>, ['epochs', 'maxSteps', 'evalData', 'evalEvery', 'saveEvery', 'outputDir', 'overwriteOutputDir', 'saveTotalLimit', 'logEvery', 'signal', 'resumeFrom', 'runSettings']);
    if (this.disposed) throw new AdvtrainError('this Trainer has been disposed; create a new one', 'ERR_DISPOSED');
    const logEvery = integer('options.logEvery', o.logEvery ?? 10, { min: 1 });
    const evalEvery = o.evalEvery === undefined ? 0 : integer('options.evalEvery', o.evalEvery, { min: 1 });
    const saveEvery = o.saveEvery === undefined ? 0 : integer('options.saveEvery', o.saveEvery, { min: 1 });
    const saveTotalLimit = o.saveTotalLimit === undefined ? 0 : integer('options.saveTotalLimit', o.saveTotalLimit, { min: 1 });
    if (saveEvery && !o.outputDir) throw invalidArg('options.outputDir', 'a folder when saveEvery is set', o.outputDir);
    if (o.overwriteOutputDir !== undefined && typeof o.overwriteOutputDir !== 'boolean') throw invalidArg('options.overwriteOutputDir', 'a boolean', o.overwriteOutputDir);
    if (o.evalData !== undefined && typeof o.evalData !== 'function' && !(o.evalData instanceof BatchLoader) && typeof (o.evalData as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
      throw invalidArg('options.evalData', 'labeled batches (an array or iterable), a BatchLoader or an evaluator function', o.evalData);
    }
    if (o.runSettings !== undefined) this.runSettings = object('options.runSettings', o.runSettings);
    if (o.evalEvery !== undefined && o.evalData === undefined) throw invalidArg('options.evalData', 'evaluation data when evalEvery is set', undefined);
    await this.joinGroup();
    if (o.outputDir !== undefined) {
      const dir = string('options.outputDir', o.outputDir);
      await this.onMain(() => prepareRunDir(dir, { overwrite: o.overwriteOutputDir === true, resume: o.resumeFrom !== undefined }), 'prepare the output folder');
    }
    if (o.resumeFrom !== undefined) await this.resume(o.resumeFrom);
    this.metricsFile = o.outputDir === undefined || !this.writes ? undefined : join(o.outputDir, 'metrics.jsonl');
    if (this.metricsFile && o.resumeFrom !== undefined) await truncateMetrics(this.metricsFile, this.state.globalStep);
    try {
      return await this.fitLoop(train, o, { logEvery, evalEvery, saveEvery, saveTotalLimit });
    } finally {
      this.metricsFile = undefined;
    }
  }

  private async fitLoop(train: TrainData, o: FitOptions, { logEvery, evalEvery, saveEvery, saveTotalLimit }: { logEvery: number; evalEvery: number; saveEvery: number; saveTotalLimit: number }): Promise<FitResult> {
    const control: TrainerControl = { shouldStop: false, shouldSave: false, shouldEvaluate: false };
    let stopReason: FitResult['stopReason'] = 'completed';
    let evalMetrics: Record<string, number> | undefined;
    let window: StepResult[] = [];
    for await (const s of this.steps(train, o)) {
      window.push(s);
      this.record({ type: 'step', epoch: this.state.epoch, ...s });
      for (const cb of this.callbacks) await cb.onStepEnd?.(this.state, control, s);
      if (s.step % logEvery === 0 || s.step === this.state.maxSteps) {
        await this.log(control, summarise(window));
        window = [];
      }
      if ((evalEvery && s.step % evalEvery === 0) || control.shouldEvaluate) {
        control.shouldEvaluate = false;
        if (o.evalData) evalMetrics = await this.runEvaluation(o.evalData, control);
      }
      if (o.outputDir && ((saveEvery && s.step % saveEvery === 0) || control.shouldSave)) {
        control.shouldSave = false;
        await this.saveCheckpoint(o.outputDir, control, saveTotalLimit);
      }
      if (control.shouldStop) {
        stopReason = 'callback';
        break;
      }
    }
    if (o.signal?.aborted || this.stopAgreed) stopReason = 'aborted';
    else if (stopReason === 'completed' && this.state.globalStep >= this.state.maxSteps && o.maxSteps !== undefined) stopReason = 'maxSteps';
    if (window.length) await this.log(control, summarise(window));
    if (o.evalData && stopReason !== 'aborted' && (!evalEvery || this.state.globalStep % evalEvery !== 0)) evalMetrics = await this.runEvaluation(o.evalData, control);
    if (o.outputDir) {
      // A checkpoint of this very step may have been written in the loop.
      if (this.lastSavedStep !== this.state.globalStep) await this.saveCheckpoint(o.outputDir, control, saveTotalLimit);
      const dir = o.outputDir;
      if (stopReason !== 'aborted') await this.onMain(() => this.model.save(dir), 'save the model');
    }
    return { state: this.state, stopReason, evalMetrics };
  }

  private async log(control: TrainerControl, logs: Record<string, number>): Promise<void> {
    const entry = { step: this.state.globalStep, epoch: this.state.epoch, ...logs };
    this.state.logHistory.push(entry);
    this.record({ type: 'log', ...entry });
    for (const cb of this.callbacks) await cb.onLog?.(this.state, control, entry);
  }

  /** Appends one entry to the running fit's metrics.jsonl. */
  private record(entry: Record<string, unknown>): void {
    if (!this.metricsFile) return;
    try {
      appendFileSync(this.metricsFile, `${JSON.stringify(entry)}\n`);
    } catch (err) {
      throw ioError(this.metricsFile, 'cannot append', err);
    }
  }

  private async runEvaluation(data: NonNullable<FitOptions['evalData']>, control: TrainerControl): Promise<Record<string, number>> {
    const metrics = typeof data === 'function' ? await data(this.model) : await this.evaluate(data instanceof BatchLoader ? toSource(data).epoch(0, 0) as Iterable<LabeledBatch> : data);
    await this.log(control, Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`eval_${k}`, v])));
    this.record({ type: 'eval', step: this.state.globalStep, ...metrics });
    for (const cb of this.callbacks) await cb.onEvaluate?.(this.state, control, metrics);
    return metrics;
  }

  /**
   * Mean loss and the task's metrics over `data`, in eval mode (see {@link evaluateModel}); the
   * trainer's `scorer` replaces the default classification/regression metrics.
   */
  async evaluate(data: Iterable<LabeledBatch>): Promise<Record<string, number>> {
    // Each rank of a distributed run scores its share of the batches; the counts are gathered exactly.
    const c = this.isDistributed ? collectives() : null;
    return evaluateModel(this.model, data, { scorer: this.scorer, ...(c ? { collectives: c } : {}) });
  }

  /**
   * Writes outputDir/checkpoint-<step> atomically: the model folder, the native trainer state
   * (optimizer, schedule, method state, RNG) and trainer_state.json. Returns its path.
   */
  async saveCheckpoint(outputDir: string, control?: TrainerControl, saveTotalLimit = 0): Promise<string> {
    const nt = this.ensureNative();
    const final = join(outputDir, `checkpoint-${this.state.globalStep}`);
    if (!this.writes) {
      // Rank 0 writes; this rank's random generator states travel into its file.
      await nt.saveState(null);
      await this.onMain(() => {}, 'write the checkpoint');
    } else {
      await this.onMain(() => this.writeCheckpoint(nt, outputDir, final, saveTotalLimit), 'write the checkpoint');
    }
    this.lastSavedStep = this.state.globalStep;
    this.record({ type: 'save', step: this.state.globalStep, dir: final });
    for (const cb of this.callbacks) await cb.onSave?.(this.state, control ?? { shouldStop: false, shouldSave: false, shouldEvaluate: false }, final);
    return final;
  }

  private async writeCheckpoint(nt: NativeTrainer, outputDir: string, final: string, saveTotalLimit: number): Promise<void> {
    const tmp = join(outputDir, `.${basename(final)}.tmp-${randomBytes(4).toString('hex')}`);
    let made: unknown;
    try {
      mkdirSync(outputDir, { recursive: true });
      mkdirSync(tmp);
    } catch (err) {
      made = err;
    }
    // The state first, even when the folder failed: other ranks take part in gathering it.
    await nt.saveState(made === undefined ? join(tmp, 'trainer_state.safetensors') : null);
    if (made !== undefined) throw ioError(tmp, 'cannot create the checkpoint folder', made);
    try {
      await this.model._writeFolder(tmp);
      const worldSize = currentGroup()?.env.worldSize ?? 1;
      await writeFileAtomic(join(tmp, 'trainer_state.json'), `${JSON.stringify({ state: this.state, config: this.config, totalSteps: this.totalSteps, data: this.data, runSettings: this.runSettings, ...(this.isDistributed ? { worldSize } : {}) }, null, 2)}\n`);
      fsyncDir(tmp);
      swapInDir(tmp, final);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (err instanceof AdvtrainError) throw err;
      throw ioError(final, 'cannot write the checkpoint', err);
    }
    if (saveTotalLimit > 0) rotateCheckpoints(outputDir, saveTotalLimit, final);
  }

  /**
   * Runs `work` where files are written (a single process, or rank 0) and, in a distributed run, makes
   * every rank finish with rank 0's outcome: the others wait for it and throw its error, instead of
   * waiting in a later collective for a rank that failed.
   */
  private async onMain(work: () => unknown, what: string): Promise<void> {
    let failure: unknown;
    if (this.writes) {
      try {
        await work();
      } catch (err) {
        failure = err;
      }
    }
    const c = this.isDistributed ? collectives() : null;
    if (c) {
      const mine = failure === undefined ? {} : { message: (failure as Error).message ?? String(failure), code: (failure as AdvtrainError).code ?? 'ERR_NATIVE' };
      const [outcome] = await allGatherJson<{ message?: string; code?: AdvtrainError['code'] }>(c, mine);
      if (failure === undefined && outcome.message !== undefined) throw new AdvtrainError(`rank 0 could not ${what}: ${outcome.message}`, outcome.code);
    }
    if (failure !== undefined) throw failure;
  }

  /** Restores weights, optimizer, schedule, method state, RNG and data position from a checkpoint. */
  async resume(dir: string): Promise<void> {
    const { file: stateFile, saved } = readSavedState(dir);
    // Checkpoints from before slimmingL1 existed trained without it.
    const savedConfig = { ...saved.config, slimmingL1: saved.config.slimmingL1 ?? { heads: 0, ffn: 0 } };
    for (const key of ['method', 'optimizer', 'seed', 'gradientAccumulation', 'precision', 'slimmingL1'] as const) {
      if (JSON.stringify(savedConfig[key]) !== JSON.stringify(this.config[key])) {
        throw new AdvtrainError(`${stateFile}: the checkpoint was trained with ${key} ${JSON.stringify(savedConfig[key])}, this trainer has ${JSON.stringify(this.config[key])}`, 'ERR_CHECKPOINT');
      }
    }
    if (this.nativeTrainer) throw new AdvtrainError('resume must come before the first step of this trainer', 'ERR_INVALID_ARG');
    await this.joinGroup();
    const world = this.isDistributed ? currentGroup()!.env.worldSize : 1;
    if ((saved.worldSize ?? 1) !== world) {
      throw new AdvtrainError(`${stateFile}: the checkpoint was written by ${saved.worldSize ?? 1} rank(s), this run has ${world}; resume with as many ranks (each rank's data shard and random streams are in it)`, 'ERR_CHECKPOINT');
    }
    const stateTensors = join(dir, 'trainer_state.safetensors');
    if (!existsSync(stateTensors)) throw new AdvtrainError(`${stateTensors}: not found (the checkpoint is incomplete)`, 'ERR_CHECKPOINT');
    this.totalSteps = saved.totalSteps;
    await checkManifest(dir);
    await this.model._loadWeights(dir);
    const nt = this.ensureNative();
    const header = readSafetensorsHeader(stateTensors);
    await nt.loadState([...header.tensors.values()].map((e) => ({ file: header.file, key: e.name, dtype: e.dtype, shape: e.shape, begin: e.begin, end: e.end })));
    Object.assign(this.state, saved.state);
    this.resumed = { file: stateFile, maxSteps: saved.state.maxSteps, data: saved.data };
  }

  /** A resumed run must read the data and schedule as the checkpointed one did. */
  private checkResumedRun(saved: NonNullable<Trainer['resumed']>, maxSteps: number, data: DataShape): void {
    this.resumed = undefined;
    const refuse = (what: string) => {
      throw new AdvtrainError(`${saved.file}: ${what}; resume with the same settings, or start a new run from the checkpoint's model`, 'ERR_CHECKPOINT');
    };
    if (saved.data?.batchSize !== undefined && data.batchSize !== undefined && saved.data.batchSize !== data.batchSize) {
      refuse(`the checkpoint was trained with batch size ${saved.data.batchSize}, this run has ${data.batchSize}`);
    }
    if (saved.data && saved.data.batchesPerEpoch !== data.batchesPerEpoch) {
      refuse(`the checkpoint's data had ${saved.data.batchesPerEpoch} batches per epoch, this run's has ${data.batchesPerEpoch} (another batch size or data file)`);
    }
    if (saved.maxSteps !== maxSteps) refuse(`the checkpoint's run was ${saved.maxSteps} steps long (its learning-rate schedule too), this run asks for ${maxSteps} (max steps or epochs differ)`);
  }

  /** Frees the native trainer (optimizer state); later calls fail with ERR_DISPOSED. The model stays usable. */
  dispose(): void {
    this.nativeTrainer?.dispose();
    this.nativeTrainer = undefined;
    this.disposed = true;
  }
}

/** trainer_state.json as fit() writes it. */
interface SavedState {
  state: TrainerState;
  config: ResolvedConfig;
  totalSteps?: number;
  data?: DataShape;
  runSettings?: Record<string, unknown>;
  /** Ranks of the data-parallel run that wrote it (absent: one). */
  worldSize?: number;
}

/** Reads and checks a checkpoint's trainer_state.json (ERR_CHECKPOINT when missing or malformed). */
function readSavedState(dir: string): { file: string; saved: SavedState } {
  const file = join(dir, 'trainer_state.json');
  if (!existsSync(file)) throw new AdvtrainError(`${file}: not found (resumeFrom needs a checkpoint folder written by fit)`, 'ERR_CHECKPOINT');
  const saved = readCheckpointJson(file);
  checkSavedState(file, saved);
  return { file, saved };
}

/**
 * The `runSettings` a checkpoint was written with (see FitOptions.runSettings), or undefined when the
 * run gave none; ERR_CHECKPOINT when `dir` is not a checkpoint written by fit.
 */
export function checkpointRunSettings(dir: string): { file: string; settings?: Record<string, unknown> } {
  const { file, saved } = readSavedState(dir);
  return { file, settings: saved.runSettings };
}

/** Refuses a trainer_state.json that is not what fit() writes (ERR_CHECKPOINT naming the field). */
function checkSavedState(file: string, saved: unknown): asserts saved is SavedState {
  const bad = (field: string, expected: string) => new AdvtrainError(`${file}: ${field} should be ${expected} (not a trainer_state.json written by fit, or damaged)`, 'ERR_CHECKPOINT');
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const isCount = (x: unknown) => Number.isInteger(x) && (x as number) >= 0;
  if (!isObj(saved)) throw bad('the file', 'a JSON object');
  const { state, config, totalSteps, data } = saved;
  if (!isObj(state)) throw bad('state', 'an object');
  for (const k of ['globalStep', 'epoch', 'batchInEpoch', 'maxSteps', 'consecutiveNonFinite', 'skippedSteps']) if (!isCount(state[k])) throw bad(`state.${k}`, 'an integer >= 0');
  if (!Array.isArray(state.logHistory)) throw bad('state.logHistory', 'an array');
  if (!isObj(config)) throw bad('config', 'an object');
  for (const k of ['method', 'optimizer']) if (!isObj(config[k])) throw bad(`config.${k}`, 'an object');
  if (totalSteps !== undefined && totalSteps !== null && !isCount(totalSteps)) throw bad('totalSteps', 'an integer >= 0');
  if (saved.runSettings !== undefined && !isObj(saved.runSettings)) throw bad('runSettings', 'an object');
  if (saved.worldSize !== undefined && !(isCount(saved.worldSize) && (saved.worldSize as number) >= 1)) throw bad('worldSize', 'an integer >= 1');
  if (data !== undefined) {
    if (!isObj(data) || !isCount(data.batchesPerEpoch) || (data.batchSize !== undefined && !isCount(data.batchSize))) throw bad('data', '{ batchesPerEpoch, batchSize? } of integers');
  }
}

/** Drops the entries of a metrics.jsonl after `step` (a resumed run writes them again). */
async function truncateMetrics(file: string, step: number): Promise<void> {
  if (!existsSync(file)) return;
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  } catch (err) {
    throw ioError(file, 'cannot read', err);
  }
  const kept = lines.filter((l) => {
    try {
      const e = JSON.parse(l) as { step?: unknown };
      return !(typeof e.step === 'number' && e.step > step);
    } catch {
      return false; // a line torn by a kill
    }
  });
  if (kept.length === lines.length) return;
  try {
    await writeFileAtomic(file, kept.length ? `${kept.join('\n')}\n` : '');
  } catch (err) {
    throw ioError(file, 'cannot rewrite', err);
  }
}

function summarise(window: StepResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  const keys = new Set<string>();
  for (const s of window) for (const [k, v] of Object.entries(s)) if (typeof v === 'number' && k !== 'step') keys.add(k);
  for (const k of keys) {
    const vals = window.map((s) => s[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (vals.length) out[k] = vals.reduce((a, b) => a + b, 0) / vals.length;
  }
  out.lr = window[window.length - 1]!.lr;
  out.skipped = window.filter((s) => s.skipped).length;
  return out;
}
