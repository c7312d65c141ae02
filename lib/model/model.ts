/**
 * The Model class: a BERT, RoBERTa, ELECTRA, ALBERT or DeBERTa-v2 encoder with a task head, held natively. Load one from a
 * Hugging Face folder or create one randomly initialised; run it; save it back as an HF folder.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { native, type NativeAttackResult, type NativeForwardOutput, type NativeModel } from '../binding.js';
import { checkBf16Device, resolveDevice, type DeviceName } from '../device.js';
import { AdvtrainError, invalidArg } from '../errors.js';
import { fsyncDir, swapInDir, writeFileAtomic } from '../io/atomic.js';
import { readCheckpointJson } from '../io/json-file.js';
import { checkManifest, isModelFile, MANIFEST, manifestFiles, writeManifest } from '../io/manifest.js';
import { ioError } from '../io/output-dir.js';
import { boolean, finiteNumber, float32Array, integer, knownKeys, object, oneOf } from '../validate.js';
import { prepareBatch, type LabeledBatch } from './batch.js';
import { configToJson, isPruned, layerShapes, MODEL_SIZES, type ModelConfig, type ModelSize, parseConfig, PRUNABLE_TYPES, type Task, TASKS } from './config.js';
import { checkpointTensors, mapCheckpointKeys, type KeyMapping } from './weights.js';
import { loadTokenizer } from '../tokenizer/load.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export type DType = 'float32' | 'bfloat16';

export interface ModelOptions {
  /** `'cpu'` (default), `'cuda'` or `'cuda:N'`. */
  device?: string;
  /** Parameter storage; `'bfloat16'` halves memory for inference (training keeps fp32 master weights). */
  dtype?: DType;
  /** Overrides the task inferred from config.json's `architectures`. */
  task?: Task;
  /** Number of labels of a classification head (default: from config.json). */
  numLabels?: number;
  /** Label names by id (sets numLabels). */
  labels?: string[];
  /** Seed of the random initialisation of parameters the checkpoint lacks (default 0). */
  seed?: number;
}

export interface LoadOptions extends ModelOptions {
  /** Re-initialise parameters whose checkpoint shape differs instead of failing. */
  ignoreMismatchedSizes?: boolean;
}

/** Keys transformers would report when loading the same folder. */
export interface LoadReport {
  missingKeys: string[];
  unexpectedKeys: string[];
  mismatchedKeys: KeyMapping['mismatchedKeys'];
}

export interface ForwardOptions {
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  /**
   * Copy the last hidden state ([rows, seqLen, hidden] floats) into the result (default true). False leaves
   * `lastHiddenState` empty and saves the copy off the device and into JS, for callers that read only the
   * logits and the loss (evaluation, attacks, prediction).
   */
  outputLastHiddenState?: boolean;
  /** `'bf16'` computes matmuls in bfloat16 (CUDA, or a CPU with avx512_bf16 / amx_bf16 on libtorch >= 2: see info().cpuBf16); default fp32. */
  precision?: 'fp32' | 'bf16';
  /** Also return the loss of each example (needs labels). */
  perExampleLoss?: boolean;
  /** `'math'` forces the explicit softmax(QK^T)V path; `'auto'` (default) uses SDPA on libtorch >= 2. */
  attention?: 'auto' | 'math';
  /** Added to the word embeddings: [rows, seqLen, embeddingSize] row-major (e.g. an attack's delta). */
  perturbation?: Float32Array;
  /**
   * Run the token-wise layers (projections, feed-forward, LayerNorm) on the real tokens of a padded batch
   * only, as the Trainer does (its `skipPadding`): the outputs of real tokens are those of the padded
   * computation up to rounding, and faster. The last hidden state is then zero at padding positions (and
   * a token head's logits there are its bias), where the default (false) gives transformers' values.
   * Not with outputHiddenStates / outputAttentions. Extractive QA always keeps the padding.
   */
  skipPadding?: boolean;
  /**
   * Masked LM with labels: compute the vocabulary projection at the labelled positions only (label !=
   * -100); `logits` is then [M, vocabSize] for the M labelled positions in row-major order, and the loss
   * is the same. The projection is most of a small model's forward, and [N, L, vocabSize] logits are
   * large (32 x 128 x 30522 floats = 500 MB).
   */
  labeledOnly?: boolean;
}

export interface AttackOptions {
  /** Radius of the ball: per-example l2 over real tokens, or linf; 0 = unbounded. */
  epsilon: number;
  norm?: 'l2' | 'linf';
  /**
   * Ascent step: 'normalized' (default) delta + stepSize * g / ||g|| (FreeLB, the training methods; ||g||
   * the l2 norm, or max abs for linf), or 'sign' delta + stepSize * sign(g) (Madry et al.'s l-inf PGD).
   */
  step?: 'normalized' | 'sign';
  /** Start: 'zero' (default), or 'uniform' U(-1, 1) on real tokens times epsilon / sqrt(n * D) (l2, FreeLB's
   * get_highest_loss.py; n the example's tokens) or times epsilon (linf, Madry's random start). */
  start?: 'zero' | 'uniform';
  /** Step size (default 5e-3, FreeLB's evaluation). */
  stepSize?: number;
  /** Iterations at most. */
  steps: number;
  /**
   * FreeLB's stopping rule (get_highest_loss.py): stop an example after this many consecutive iterations whose
   * loss changed by less than `tol` relative to the largest so far (or whose last 25 losses have a std below
   * `tol` times the loss) with ||delta|| >= 0.999 epsilon. 0 (default): run all steps.
   */
  patience?: number;
  /** Relative tolerance of that rule (default 1e-5). */
  tol?: number;
  /** Stop an example once its largest loss exceeds this (get_highest_loss.py's early stop at log 2). */
  stopAbove?: number;
  /** Seed of the uniform start (default: the global generator). */
  seed?: number;
  /**
   * Run every pass's token-wise layers on the real tokens only (as the Trainer's `skipPadding`; default
   * true): the per-example losses are the padded computation's up to rounding. The returned logits at
   * padding positions of a token head then come from a zero hidden state; their labels are ignored anyway.
   */
  skipPadding?: boolean;
  /** Return the final perturbation. */
  keepDelta?: boolean;
}

/** Per-example results of {@link Model.attack}: clean, largest and final losses, clean and final logits
 * (`logitsShape`), iterations run, final per-row perturbation norm, and the perturbation with `keepDelta`. */
export type AttackResult = NativeAttackResult;

export interface ForwardOutput {
  /** Task logits, row-major with shape `logitsShape` (absent for a base model without pooler). */
  logits: Float32Array;
  logitsShape: number[];
  /** [rows, seqLen, hidden] row-major; empty (length 0) with `outputLastHiddenState: false`. */
  lastHiddenState: Float32Array;
  /** [rows, seqLen, hidden] */
  hiddenShape: [number, number, number];
  /** Embedding output and each layer's output (ALBERT: each layer call, see layerApplications), each of `hiddenShape`. */
  hiddenStates?: Float32Array[];
  /** Attention probabilities per layer (call), [rows, heads, seqLen, seqLen]. */
  attentions?: Float32Array[];
  /** Mean task loss when the batch has labels. */
  loss?: number;
  perExampleLoss?: Float32Array;
}

export interface SaveOptions {
  /**
   * `'hf-padded'`: a pruned model is written at full width, zero rows/columns where heads and FFN neurons
   * were removed, without `pruned_heads` / `advtrain_intermediate_sizes`, so any transformers version loads
   * an equivalent model. Default: the pruned layout (see {@link Model.prune}).
   */
  export?: 'hf-padded';
}

/** EarlyRobust slimming coefficients, per layer: one per head, one per FFN neuron. */
export interface SlimmingCoefficients {
  heads: Float32Array[];
  ffn: Float32Array[];
}

/** Units to remove, per layer, in the current numbering (the coefficients' indices). */
export interface PruneSpec {
  heads: number[][];
  ffn: number[][];
}

const MODEL_OPTION_KEYS = ['device', 'dtype', 'task', 'numLabels', 'labels', 'seed'] as const;

function checkModelOptions(options: unknown, extra: readonly string[] = []): ModelOptions & LoadOptions {
  const o = object('options', options ?? {}) as LoadOptions;
  knownKeys('options', o as Record<string, unknown>, [...MODEL_OPTION_KEYS, ...extra]);
  if (o.dtype !== undefined) oneOf('options.dtype', o.dtype, ['float32', 'bfloat16'] as const);
  if (o.task !== undefined) oneOf('options.task', o.task, TASKS);
  if (o.numLabels !== undefined) integer('options.numLabels', o.numLabels, { min: 1 });
  if (o.labels !== undefined && (!Array.isArray(o.labels) || o.labels.length === 0 || !o.labels.every((l) => typeof l === 'string'))) {
    throw invalidArg('options.labels', 'a non-empty array of label names', o.labels);
  }
  if (o.seed !== undefined) integer('options.seed', o.seed, { min: 0, max: 2 ** 53 - 1 });
  if (o.ignoreMismatchedSizes !== undefined) boolean('options.ignoreMismatchedSizes', o.ignoreMismatchedSizes);
  return o;
}

/**
 * A transformer encoder with its task head. Long operations return Promises and run off the event
 * loop; one operation at a time (a second one while the first runs is an ERR_BUSY error).
 */
export class Model {
  /** Attached when the model came from a folder with tokenizer files; saved with the model. */
  tokenizer?: Tokenizer;
  /** Missing/unexpected keys of the checkpoint it was loaded from (empty for createModel). */
  readonly loadReport: LoadReport;

  private constructor(
    private readonly handle: NativeModel,
    private cfg: ModelConfig,
    readonly device: DeviceName,
    readonly dtype: DType,
    loadReport?: LoadReport,
  ) {
    this.loadReport = loadReport ?? { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] };
  }

  /** @internal */
  static async _create(config: ModelConfig, options: ModelOptions, report?: LoadReport): Promise<Model> {
    const device = resolveDevice('options.device', options.device);
    const dtype = options.dtype ?? 'float32';
    const nativeConfig = { ...config, raw: undefined, id2label: undefined, prunedHeads: undefined, intermediateSizes: undefined, ...(isPruned(config) ? layerShapes(config) : {}) };
    const handle = await native().createModel(nativeConfig, { device, dtype, seed: options.seed ?? 0 });
    return new Model(handle, config, device, dtype, report);
  }

  /** The validated configuration (prune() replaces it with one recording the pruned layers). */
  get config(): ModelConfig {
    return this.cfg;
  }

  /** @internal The native handle, for trainers. */
  get _native(): NativeModel {
    return this.handle;
  }

  get task(): Task {
    return this.config.task;
  }

  /** True after dispose(). */
  get disposed(): boolean {
    return this.handle.disposed;
  }

  /** Number of parameters (tied weights counted once). */
  numParameters(): number {
    return this.handle.numParameters();
  }

  /** Parameter names (transformers' names) and shapes, in state_dict order. */
  parameters(): { name: string; shape: number[] }[] {
    return this.handle.parameters().map(({ name, shape }) => ({ name, shape }));
  }

  /**
   * Runs the model in eval mode (no dropout, no gradients).
   *
   * @example
   * ```ts
   * const tok = await loadTokenizer('bert-dir');
   * const out = await model.forward(tok.encodeBatch(['a fine film', 'dull']), { outputHiddenStates: true });
   * console.log(out.logitsShape, out.hiddenStates?.length);
   * ```
   */
  async forward(batch: LabeledBatch, options: ForwardOptions = {}): Promise<ForwardOutput> {
    const o = object('options', options) as ForwardOptions;
    knownKeys('options', o as Record<string, unknown>, ['outputHiddenStates', 'outputAttentions', 'outputLastHiddenState', 'precision', 'perExampleLoss', 'attention', 'perturbation', 'skipPadding', 'labeledOnly']);
    if (o.skipPadding !== undefined) boolean('options.skipPadding', o.skipPadding);
    if (o.outputLastHiddenState !== undefined) boolean('options.outputLastHiddenState', o.outputLastHiddenState);
    if (o.labeledOnly !== undefined) boolean('options.labeledOnly', o.labeledOnly);
    if (o.labeledOnly === true && (this.task !== 'masked-lm' || batch.labels === undefined)) {
      throw invalidArg('options.labeledOnly', `false unless the model is masked-lm and the batch has labels (task '${this.task}'${batch.labels === undefined ? ', no labels' : ''})`, true);
    }
    if (o.skipPadding === true && (o.outputHiddenStates === true || o.outputAttentions === true)) {
      throw invalidArg('options.skipPadding', 'false with outputHiddenStates or outputAttentions (hidden states keep every position)', true);
    }
    if (o.precision !== undefined) oneOf('options.precision', o.precision, ['fp32', 'bf16'] as const);
    if (o.attention !== undefined) oneOf('options.attention', o.attention, ['auto', 'math'] as const);
    if (o.precision === 'bf16') checkBf16Device('options.precision', this.device);
    const nb = prepareBatch(batch, this.config);
    if (o.perturbation !== undefined) float32Array('options.perturbation', o.perturbation, nb.inputIds.length * this.config.embeddingSize);
    const out: NativeForwardOutput = await this.handle.forward(nb, {
      ...o,
      skipPadding: o.skipPadding ?? false,
      labeledOnly: o.labeledOnly ?? false,
      outputLastHiddenState: o.outputLastHiddenState ?? true,
    });
    return {
      logits: out.logits ?? new Float32Array(0),
      logitsShape: out.logitsShape ?? [0],
      lastHiddenState: out.lastHiddenState ?? new Float32Array(0),
      hiddenShape: out.hiddenShape as [number, number, number],
      hiddenStates: out.hiddenStates,
      attentions: out.attentions,
      loss: out.loss,
      perExampleLoss: out.perExampleLoss,
    };
  }

  /**
   * The input (word) embedding matrix, [vocabSize, embeddingSize] row-major.
   *
   * @example
   * ```ts
   * const E = await model.wordEmbeddings(); // row of token id t: E.subarray(t * D, (t + 1) * D)
   * ```
   */
  async wordEmbeddings(): Promise<Float32Array> {
    return this.handle.wordEmbeddings();
  }

  /**
   * Projected gradient ascent on the word embeddings in eval mode (no dropout, no parameter
   * gradients), per example: the largest loss found in the ball, the logits at the final
   * perturbation, whether some iterate was misclassified, with optional early stopping (FreeLB's
   * loss-increase protocol uses `{ start: 'uniform', stepSize: 5e-3, steps: 2000, patience: 50 }`).
   *
   * @example
   * ```ts
   * const r = await model.attack(batch, { epsilon: 0.5, steps: 10, stepSize: 0.1 });
   * const increase = r.maxLoss.map((l, i) => l - r.cleanLoss[i]);
   * ```
   */
  async attack(batch: LabeledBatch, options: AttackOptions): Promise<AttackResult> {
    const o = object('options', options) as unknown as AttackOptions;
    knownKeys('options', o as unknown as Record<string, unknown>, ['epsilon', 'norm', 'step', 'start', 'stepSize', 'steps', 'patience', 'tol', 'stopAbove', 'seed', 'keepDelta', 'skipPadding']);
    finiteNumber('options.epsilon', o.epsilon, { min: 0 });
    if (o.norm !== undefined) oneOf('options.norm', o.norm, ['l2', 'linf'] as const);
    if (o.step !== undefined) oneOf('options.step', o.step, ['normalized', 'sign'] as const);
    if (o.start !== undefined) oneOf('options.start', o.start, ['zero', 'uniform'] as const);
    if (o.tol !== undefined) finiteNumber('options.tol', o.tol, { above: 0 });
    if (o.stopAbove !== undefined) finiteNumber('options.stopAbove', o.stopAbove);
    if (o.seed !== undefined) integer('options.seed', o.seed, { min: 0, max: 2 ** 53 - 1 });
    if (o.stepSize !== undefined) finiteNumber('options.stepSize', o.stepSize, { above: 0 });
    integer('options.steps', o.steps, { min: 1, max: 1_000_000 });
    if (o.patience !== undefined) integer('options.patience', o.patience, { min: 0 });
    if (o.keepDelta !== undefined) boolean('options.keepDelta', o.keepDelta);
    if (o.skipPadding !== undefined) boolean('options.skipPadding', o.skipPadding);
    const nb = prepareBatch(batch, this.config, 'batch', true);
    return this.handle.attack(nb, { ...o, skipPadding: o.skipPadding ?? true });
  }

  /**
   * Writes the model as a Hugging Face folder: model.safetensors (transformers' key layout, tied
   * weights once), config.json, the tokenizer when one is attached, and advtrain-manifest.json (each
   * file's size and sha256, written last; transformers ignores it, loadModel checks it).
   *
   * The files are written and fsynced in a temporary folder first. A folder holding only a model (or
   * none yet) is then replaced as a whole by renames, the previous one deleted only once the new one is
   * in place. A folder holding more (a run's checkpoints and metrics.jsonl) gets the new manifest first
   * and then the files, one rename each: if the process dies in between, loadModel refuses the folder
   * with ERR_CHECKPOINT instead of loading old and new files mixed.
   *
   * @example
   * ```ts
   * await model.save('out/my-model'); // AutoModelForSequenceClassification.from_pretrained('out/my-model')
   * ```
   */
  async save(dir: string, options: SaveOptions = {}): Promise<void> {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArg('dir', 'a folder path', dir);
    const so = object('options', options) as SaveOptions;
    knownKeys('options', so as Record<string, unknown>, ['export']);
    if (so.export !== undefined) oneOf('options.export', so.export, ['hf-padded'] as const);
    const final = resolve(dir);
    if (existsSync(final) && !statSync(final).isDirectory()) throw new AdvtrainError(`${dir}: exists and is not a folder`, 'ERR_IO');
    // The working folder (or one above it) is never renamed away from under the process.
    const holdsMore = (existsSync(final) && readdirSync(final).some((n) => !isModelFile(n))) || `${process.cwd()}${sep}`.startsWith(`${final}${sep}`);
    const tmp = holdsMore ? join(final, `.advtrain-save.tmp-${randomBytes(4).toString('hex')}`) : join(dirname(final), `.${basename(final)}.tmp-${randomBytes(4).toString('hex')}`);
    try {
      mkdirSync(dirname(tmp), { recursive: true });
      mkdirSync(tmp);
    } catch (err) {
      throw ioError(dir, 'cannot create a folder to save the model in', err);
    }
    try {
      await this._writeFolder(tmp, so.export === 'hf-padded');
      if (holdsMore) {
        // The new manifest goes first: until the last file is in, the folder disagrees with it.
        const names = manifestFiles(tmp)!;
        renameSync(join(tmp, MANIFEST), join(final, MANIFEST));
        fsyncDir(final);
        // Model files of an earlier save that this one does not have (a vocab.txt beside a new tokenizer.json).
        for (const name of readdirSync(final)) if (isModelFile(name) && name !== MANIFEST && !names.includes(name)) rmSync(join(final, name), { force: true });
        for (const name of names) renameSync(join(tmp, name), join(final, name));
        fsyncDir(final);
        rmSync(tmp, { recursive: true, force: true });
      } else {
        swapInDir(tmp, final);
      }
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (err instanceof AdvtrainError) throw err;
      throw ioError(dir, 'cannot save the model', err);
    }
  }

  /** @internal Writes the model's files and their manifest into `dir`, an empty folder (save, checkpoints). */
  async _writeFolder(dir: string, padded = false): Promise<void> {
    await this.handle.save(join(dir, 'model.safetensors'), [['advtrain', 'model']], { padded });
    await writeFileAtomic(join(dir, 'config.json'), `${JSON.stringify(configToJson(this.config, { padded }), null, 2)}\n`);
    if (this.tokenizer) await this.tokenizer.save(dir);
    await writeManifest(dir, readdirSync(dir).filter(isModelFile));
    fsyncDir(dir);
  }

  /**
   * @internal Copies a checkpoint folder's tensors into this model (loadModel, resuming a run).
   * Parameters the folder lacks keep their values.
   */
  async _loadWeights(dir: string, tensors = checkpointTensors(dir), ignoreMismatchedSizes = false): Promise<LoadReport> {
    const mapping = mapCheckpointKeys(this.config, this.handle.parameters(), this.handle.aliases(), tensors, ignoreMismatchedSizes);
    await this.handle.loadTensors(
      [...mapping.assignments].map(([param, t]) => ({ param, file: t.file, key: t.name, dtype: t.dtype, shape: t.shape, begin: t.begin, end: t.end })),
    );
    return { missingKeys: mapping.missingKeys, unexpectedKeys: mapping.unexpectedKeys, mismatchedKeys: mapping.mismatchedKeys };
  }

  private checkPrunable(op: string): void {
    if (!PRUNABLE_TYPES.includes(this.config.modelType)) {
      throw new AdvtrainError(
        `${op}: model_type '${this.config.modelType}' is not supported (slimming and pruning support ${PRUNABLE_TYPES.join(', ')}; ALBERT shares its layers, DeBERTa-v2 has its own attention)`,
        'ERR_INVALID_ARG',
      );
    }
  }

  /** True while the model has EarlyRobust slimming coefficients (enableSlimming, until prune). */
  get slimming(): boolean {
    return this.slimmingOn;
  }
  private slimmingOn = false;

  /**
   * Adds EarlyRobust's slimming coefficients (Xi et al., EMNLP 2022), initialised to 1: one per attention
   * head of each layer, scaling the head's context (the official code scales its attention probabilities,
   * the same product), and one per FFN neuron, scaling the activated intermediate output. They are
   * parameters `advtrain.slimming.layer.<i>.heads` / `.ffn` (no weight decay) that a Trainer created
   * afterwards updates; `slimmingL1` in the Trainer's config adds their L1 penalty. They are never written
   * into saved folders: read them with slimmingCoefficients() and restore them with setSlimmingCoefficients().
   * BERT, RoBERTa and ELECTRA. A Trainer created before this call refuses to step.
   */
  async enableSlimming(): Promise<void> {
    this.checkPrunable('enableSlimming');
    if (this.slimmingOn) throw new AdvtrainError('enableSlimming: slimming is already enabled on this model', 'ERR_INVALID_ARG');
    await this.handle.enableSlimming();
    this.slimmingOn = true;
  }

  /** The slimming coefficients per layer (copies). */
  async slimmingCoefficients(): Promise<SlimmingCoefficients> {
    if (!this.slimmingOn) throw new AdvtrainError('slimmingCoefficients: slimming is not enabled (call enableSlimming() first)', 'ERR_INVALID_ARG');
    return this.handle.slimmingCoefficients();
  }

  /** Overwrites the slimming coefficients (e.g. from a checkpoint); shapes as slimmingCoefficients() returns them. */
  async setSlimmingCoefficients(coefficients: SlimmingCoefficients): Promise<void> {
    if (!this.slimmingOn) throw new AdvtrainError('setSlimmingCoefficients: slimming is not enabled (call enableSlimming() first)', 'ERR_INVALID_ARG');
    const c = object('coefficients', coefficients) as unknown as SlimmingCoefficients;
    knownKeys('coefficients', c as unknown as Record<string, unknown>, ['heads', 'ffn']);
    const shapes = layerShapes(this.config);
    for (const key of ['heads', 'ffn'] as const) {
      const list = c[key];
      if (!Array.isArray(list) || list.length !== this.config.numLayers) throw invalidArg(`coefficients.${key}`, `${this.config.numLayers} Float32Arrays (one per layer)`, list);
      list.forEach((a, i) => {
        float32Array(`coefficients.${key}[${i}]`, a, key === 'heads' ? shapes.layerHeads[i] : shapes.layerIntermediate[i]);
        if (a.some((x) => !Number.isFinite(x))) throw invalidArg(`coefficients.${key}[${i}]`, 'finite numbers', a);
      });
    }
    await this.handle.setSlimmingCoefficients({ heads: c.heads, ffn: c.ffn });
  }

  /**
   * Physically removes attention heads and FFN neurons (EarlyRobust's stage 2, transformers 4.x's
   * prune_heads): the heads' rows of the query/key/value weights and biases and columns of the attention
   * output, the neurons' rows of intermediate.dense and columns of output.dense. `heads[i]` / `ffn[i]`
   * list the units of layer i to remove, in the current numbering (as slimmingCoefficients() indexes them);
   * every layer keeps at least one head and one neuron. With slimming on, the kept units' coefficients are
   * folded into the following projection (the official code keeps them as frozen parameters: the same
   * outputs) and slimming ends. The result equals the unpruned model with those units' coefficients at 0.
   * Saved folders record the heads in `pruned_heads` (original numbering) and the FFN widths in
   * `advtrain_intermediate_sizes`; `save(dir, { export: 'hf-padded' })` writes a full-size equivalent.
   * A Trainer created before this call refuses to step.
   */
  async prune(spec: PruneSpec): Promise<void> {
    this.checkPrunable('prune');
    const o = object('spec', spec) as unknown as PruneSpec;
    knownKeys('spec', o as unknown as Record<string, unknown>, ['heads', 'ffn']);
    const L = this.config.numLayers;
    const shapes = layerShapes(this.config);
    const check = (key: 'heads' | 'ffn', sizes: number[]) => {
      const list = o[key];
      if (!Array.isArray(list) || list.length !== L) throw invalidArg(`spec.${key}`, `${L} arrays of indices (one per layer)`, list);
      return list.map((idx, i) => {
        const name = `spec.${key}[${i}]`;
        if (!Array.isArray(idx)) throw invalidArg(name, 'an array of indices', idx);
        idx.forEach((x, j) => integer(`${name}[${j}]`, x, { min: 0, max: sizes[i] - 1 }));
        const sorted = [...new Set(idx)].sort((a, b) => a - b);
        if (sorted.length !== idx.length) throw invalidArg(name, 'indices without repeats', idx);
        if (sorted.length >= sizes[i]) throw invalidArg(name, `fewer than ${sizes[i]} indices (layer ${i} must keep at least one ${key === 'heads' ? 'head' : 'FFN neuron'})`, idx);
        return sorted;
      });
    };
    const heads = check('heads', shapes.layerHeads);
    const ffn = check('ffn', shapes.layerIntermediate);
    await this.handle.prune(heads, ffn);
    // Current head indices -> original numbering, for pruned_heads.
    const prunedHeads = heads.map((drop, i) => {
      const before = this.config.prunedHeads?.[i] ?? [];
      const kept = Array.from({ length: this.config.numHeads }, (_, h) => h).filter((h) => !before.includes(h));
      return [...before, ...drop.map((c) => kept[c])].sort((a, b) => a - b);
    });
    const intermediateSizes = shapes.layerIntermediate.map((n, i) => n - ffn[i].length);
    this.cfg = { ...this.cfg, prunedHeads, intermediateSizes };
    this.slimmingOn = false;
  }

  /** Frees the native weights (CUDA memory included). Later calls fail with ERR_DISPOSED. */
  dispose(): void {
    this.handle.dispose();
  }
}

/**
 * Loads a Hugging Face folder: config.json plus model.safetensors (or sharded safetensors), and the
 * tokenizer (`model.tokenizer`) when the folder has tokenizer.json or vocab.txt. A tokenizer that cannot be
 * resolved (no special tokens found) does not stop the load: a warning with code ADVTRAIN_TOKENIZER_UNRESOLVED
 * is emitted and `model.tokenizer` stays undefined.
 * Keys are matched as transformers does; parameters the checkpoint lacks (a new head) are
 * initialised normal(0, initializer_range) and listed in `model.loadReport.missingKeys`.
 *
 * @example
 * ```ts
 * const model = await loadModel('checkpoints/bert-mini', { task: 'sequence-classification', numLabels: 2 });
 * ```
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<Model> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalidArg('dir', 'a model folder path', dir);
  const o = checkModelOptions(options, ['ignoreMismatchedSizes']);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new AdvtrainError(`${configPath}: not found (a model folder needs config.json)${interruptedSave(dir)}`, 'ERR_CHECKPOINT');
  const json = readCheckpointJson(configPath);
  const config = parseConfig(json, configPath, { task: o.task, numLabels: o.numLabels, labels: o.labels });
  await checkManifest(dir);
  const tensors = checkpointTensors(dir);
  const model = await Model._create(config, o);
  try {
    const report = await model._loadWeights(dir, tensors, o.ignoreMismatchedSizes ?? false);
    Object.assign(model, { loadReport: report });
    if (existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'vocab.txt'))) {
      // The weights are usable without a tokenizer: a tokenizer the loader cannot resolve is a warning.
      try {
        model.tokenizer = await loadTokenizer(dir);
      } catch (err) {
        if (!(err instanceof AdvtrainError)) throw err;
        process.emitWarning(`${dir}: model loaded without its tokenizer (model.tokenizer is undefined): ${err.message}`, {
          type: 'AdvtrainLoadWarning',
          code: 'ADVTRAIN_TOKENIZER_UNRESOLVED',
        });
      }
    }
    if (report.missingKeys.length) process.emitWarning(`${dir}: newly initialised (not in the checkpoint): ${report.missingKeys.join(', ')}`, 'AdvtrainLoadWarning');
    if (report.unexpectedKeys.length) process.emitWarning(`${dir}: checkpoint weights not used: ${report.unexpectedKeys.join(', ')}`, 'AdvtrainLoadWarning');
    return model;
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** What a save killed between its two folder renames left beside `dir` (see Model.save), as a hint. */
function interruptedSave(dir: string): string {
  const abs = resolve(dir);
  const prefix = `.${basename(abs)}.tmp-`;
  if (existsSync(abs) || !existsSync(dirname(abs))) return '';
  const old = readdirSync(dirname(abs)).find((n) => n.startsWith(prefix) && n.endsWith('.old'));
  return old ? `; a save into it was interrupted: the previous model is in ${join(dirname(abs), old)}` : '';
}

/**
 * Creates a randomly initialised model from a config.json-shaped object (transformers' field names)
 * or a named size (`'tiny' | 'mini' | 'small' | 'base'`, BERT) with a vocabulary size.
 *
 * @example
 * ```ts
 * const model = await createModel({ model_type: 'bert', ...MODEL_SIZES.mini, vocab_size: 30522 }, { task: 'sequence-classification' });
 * ```
 */
export async function createModel(config: Record<string, unknown>, options: ModelOptions = {}): Promise<Model> {
  const o = checkModelOptions(options);
  const cfg = parseConfig(object('config', config), 'config', { task: o.task ?? 'sequence-classification', numLabels: o.numLabels, labels: o.labels });
  return Model._create(cfg, o);
}

/** A BERT config.json object of a named size (see MODEL_SIZES) for `createModel`. */
export function sizedConfig(size: ModelSize, vocabSize: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  oneOf('size', size, Object.keys(MODEL_SIZES) as ModelSize[]);
  integer('vocabSize', vocabSize, { min: 1 });
  return { model_type: 'bert', ...MODEL_SIZES[size], vocab_size: vocabSize, ...extra };
}
