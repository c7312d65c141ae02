/**
 * Loads the native addon and declares its surface by hand. Everything native goes through here;
 * the rest of lib/ validates arguments before calling in.
 */
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { AdvtrainError } from './errors.js';
import { packageRoot } from './paths.js';

export interface NativeDeviceInfo {
  index: number;
  name: string;
  computeCapability: string;
  totalMemoryMB: number;
  multiprocessors: number;
}

export interface NativeInfo {
  torchVersion: string;
  /** The libtorch_cpu shared library this process runs (compared at load with the one compiled against). */
  torchLibrary: string;
  napiVersion: number;
  buildType: string;
  numThreads: number;
  parallelInfo: string;
  torchConfig: string;
  cpuBf16: boolean;
  cpuBf16Emulated: boolean;
  /** Space-separated. */
  cpuBf16Flags: string;
  cpuBf16Reason: string;
  cudaCompiled: boolean;
  cuda: boolean;
  cudaDeviceCount: number;
  devices: NativeDeviceInfo[];
}

export interface NativeParam {
  name: string;
  shape: number[];
  decay: boolean;
}

export interface NativeForwardOutput {
  logits?: Float32Array;
  logitsShape?: number[];
  /** Absent with outputLastHiddenState false. */
  lastHiddenState?: Float32Array;
  hiddenShape: number[];
  hiddenStates?: Float32Array[];
  attentions?: Float32Array[];
  attentionShape?: number[];
  loss?: number;
  perExampleLoss?: Float32Array;
}

export interface NativeTensorSource {
  param: string;
  file: string;
  key: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface NativeAttackResult {
  cleanLoss: Float32Array;
  maxLoss: Float32Array;
  finalLoss: Float32Array;
  cleanLogits: Float32Array;
  advLogits: Float32Array;
  logitsShape: number[];
  iterations: Float32Array;
  deltaNorm: Float32Array;
  /** Per example 1 when misclassified at some evaluated iterate (the final one included), else 0. */
  succeeded: Float32Array;
  delta?: Float32Array;
}

/**
 * testing.attackCheck (native/binding/attack_check.cc): the attack loop on a toy objective, in float64, per
 * example b over its first lengths[b] of l tokens:
 * linear: logits = clean[b] + sum delta[b] * weights[c] (weights [C, l, d], clean [n, C]), cross-entropy with labels;
 * quadratic: loss = clean[b] + sum weights * delta[b]^2 (weights [l, d], clean [n]), "misclassified" when loss > wrongAbove.
 */
export interface NativeAttackCheckSpec {
  objective: 'linear' | 'quadratic';
  l: number;
  d: number;
  lengths: Int32Array;
  weights: Float32Array;
  clean: Float32Array;
  labels?: Int32Array;
  wrongAbove?: number;
  options: object;
}

/** native/binding/model_wrap.cc */
export interface NativeModel {
  attack(batch: object, options: object): Promise<NativeAttackResult>;
  wordEmbeddings(): Promise<Float32Array>;
  parameters(): NativeParam[];
  aliases(): [string, string][];
  numParameters(): number;
  loadTensors(entries: NativeTensorSource[]): Promise<void>;
  forward(batch: object, options: object): Promise<NativeForwardOutput>;
  save(path: string, metadata: [string, string][], options?: { padded?: boolean }): Promise<void>;
  enableSlimming(): Promise<void>;
  slimmingCoefficients(): Promise<{ heads: Float32Array[]; ffn: Float32Array[] }>;
  setSlimmingCoefficients(coefficients: { heads: Float32Array[]; ffn: Float32Array[] }): Promise<void>;
  prune(heads: number[][], ffn: number[][]): Promise<void>;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeStepOutcome {
  metrics: Record<string, number>;
  skipped: boolean;
  step: number;
}

/** A tensor handed to the addon: row-major data and its shape. */
export interface NativeDraw {
  data: Float32Array;
  shape: number[];
}

/** native/binding/trainer_wrap.cc */
export interface NativeTrainer {
  step(batches: object[]): Promise<NativeStepOutcome>;
  /** Test hook: the next step's base random draws (see setNextRandomDraws in train/trainer.ts). */
  setNextRandomDraws(draws: { start?: NativeDraw; table?: NativeDraw; spectralU?: NativeDraw; spectralV?: NativeDraw; estimator?: NativeDraw; indices?: NativeDraw }): void;
  lastPerturbation(): { data: Float32Array; shape: number[] } | null;
  /** null: take part in the collectives of a data-parallel save without writing (ranks other than 0). */
  saveState(path: string | null): Promise<void>;
  loadState(entries: Omit<NativeTensorSource, 'param'>[]): Promise<void>;
  dispose(): void;
  readonly lr: number;
  readonly stepCount: number;
}

/** The fused kernels testing.kernelCheck knows (native/kernels/). */
export type NativeKernelName = 'ascendProject' | 'tokenAwareStep' | 'representationCosine' | 'tokenNormalize' | 'symmetricKl';

/**
 * Sizes and knobs of one kernel check (native/binding/kernel_check.cc). Tensors are [n, l, d]; for
 * symmetricKl the logits are n * l rows of d classes.
 */
export interface NativeKernelCheckOptions {
  n: number;
  l: number;
  d: number;
  dtype?: 'float32' | 'bfloat16';
  device?: string;
  seed?: number;
  /** ascendProject, tokenNormalize */
  norm?: 'l2' | 'linf';
  stepSize?: number;
  /** The projection radius (ascendProject, tokenAwareStep; 0: none) or the division guard (tokenNormalize). */
  epsilon?: number;
  /** representationCosine: the first token only. */
  cls?: boolean;
  /** symmetricKl: the stop-gradient variant. */
  detach?: 'none' | 'each';
  /** symmetricKl: b = a + spread * noise. */
  spread?: number;
  /** tokenNormalize: an infinite gradient entry. */
  nonFinite?: boolean;
}

/**
 * Kernel vs float64 reference: max abs difference, and the worst row's (last dimension) max abs difference
 * over its max abs reference value.
 */
export interface NativeKernelCheckResult {
  absError: number;
  relError: number;
  /** Autograd functions: gradients vs autograd through the reference. */
  gradAbsError?: number;
  gradRelError?: number;
  /** Non-finite entries in the kernel's outputs (and gradients). */
  nonFinite: number;
  /** Entries compared. */
  outputs: number;
  /** representationCosine: the reference's written-out libtorch 1.13 cosine vs at::cosine_similarity (relative). */
  builtinError?: number;
  /** tokenNormalize: the kernel's and the reference's all-finite flags. */
  finite?: number;
  referenceFinite?: number;
}

/** The native surface; grown by each exposed class (see native/binding/exports.cc). */
export interface NativeAddon {
  createModel(config: object, options: { device: string; dtype: string; seed: number }): Promise<NativeModel>;
  NativeTrainer: new (model: NativeModel, config: object) => NativeTrainer;
  setErrorClass(cls: typeof AdvtrainError): void;
  info(): NativeInfo;
  matmulBench(n: number, iters: number, device: string): Promise<{ msPerIter: number; gflops: number }>;
  memory(device: string, reset?: boolean): { peakMB: number; allocatedMB: number; heapMB: number };
  /** native/binding/distributed_wrap.cc */
  distributedInit(options: { rank: number; worldSize: number; localRank: number; masterAddr: string; masterPort: number; backend: 'gloo' | 'nccl'; timeoutMs: number; device: string }): Promise<void>;
  distributedBarrier(): Promise<void>;
  distributedAllGather(bytes: Uint8Array): Promise<Uint8Array[]>;
  distributedShutdown(): void;
  distributedBackends(): { gloo: boolean; nccl: boolean };
  testing: {
    raise(kind: string): Promise<void>;
    /** The thread the addon's promise work runs on (native/binding/compute_thread.h): one for all of it. */
    threadId(): Promise<string>;
    /** Statistics of the CPU dropout mask (native/model/layers.h dropoutMaskCpu) for a seeded generator. */
    dropoutCheck(numel: number, p: number, seed: number): Promise<{ keptFraction: number; keptMin: number; keptMax: number; sameSeedMaxDiff: number; nextMatchFraction: number; oneThreadMaxDiff: number }>;
    kernelCheck(name: NativeKernelName, options: NativeKernelCheckOptions): Promise<NativeKernelCheckResult>;
    attackCheck(spec: NativeAttackCheckSpec): Promise<Omit<NativeAttackResult, 'cleanLogits' | 'advLogits' | 'logitsShape'> & Partial<NativeAttackResult>>;
  };
}

let addon: NativeAddon | undefined;

/**
 * Where the addon may be. ADVTRAIN_ADDON (a build against another libtorch, a node-gyp build) is then the
 * only candidate: falling back to build/ would run a different build than the one asked for.
 */
export function addonCandidates(): string[] {
  if (process.env.ADVTRAIN_ADDON) return [process.env.ADVTRAIN_ADDON];
  return [join(packageRoot, 'build', 'Release', 'advtrain.node'), join(packageRoot, 'build', 'Debug', 'advtrain.node')];
}

/** Loads (once) and returns the addon; throws ERR_ADDON_MISSING explaining why it could not be loaded. */
export function native(): NativeAddon {
  if (addon) return addon;
  const problems: string[] = [];
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      problems.push(`${path}: not built`);
      continue;
    }
    try {
      // RTLD_NOW: every symbol is bound at load, so an addon built against another libtorch fails here with
      // "undefined symbol" instead of aborting the process at its first call (Node binds lazily by default).
      const module = { exports: {} as NativeAddon };
      process.dlopen(module, path, constants.dlopen.RTLD_NOW);
      const loaded = module.exports;
      loaded.setErrorClass(AdvtrainError);
      addon = loaded;
      return loaded;
    } catch (err) {
      problems.push(`${path}: ${(err as Error).message}`);
    }
  }
  throw new AdvtrainError(
    [
      'advtrain: the native addon could not be loaded.',
      ...problems.map((p) => `  - ${p}`),
      'Build it with `npm rebuild advtrain` (or `npm run build:native` in a checkout). npm 11 skips dependency',
      'install scripts unless approved: `npm install-scripts approve advtrain` first. The build needs libtorch:',
      '`node scripts/libtorch.mjs` shows which one the build finds. A "cannot open shared object file" above',
      'means the libtorch it was built against has moved: rebuild, or put its lib/ on LD_LIBRARY_PATH. An',
      '"undefined symbol" means this process found another libtorch first (LD_LIBRARY_PATH, say): the addon',
      'only runs on the one it was built against.',
    ].join('\n'),
    'ERR_ADDON_MISSING',
  );
}

/** True when the addon loads (tests use it to skip native tiers with a reason). */
export function hasNative(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
