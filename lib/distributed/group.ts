/**
 * This process's place in a data-parallel run: the c10d process group (native/distributed), made from
 * the variables torchrun, SLURM or `advtrain launch` set, and the one place that says which rank
 * writes files and logs.
 */
import { native } from '../binding.js';
import { AdvtrainError, invalidArg } from '../errors.js';
import { info } from '../info.js';
import { integer, knownKeys, object, oneOf } from '../validate.js';
import { allGatherJson, type Collectives } from './collectives.js';
import { launchEnv, type LaunchEnv } from './env.js';

/** How a Trainer joins the process group (TrainerOptions.distributed). */
export interface DistributedOptions {
  /** 'gloo' (CPU tensors; CUDA tensors through host copies) or 'nccl' (CUDA). Default: nccl for a CUDA model when the build has it, else gloo. */
  backend?: 'gloo' | 'nccl';
  /** How long a collective or the rendezvous waits for the other ranks before ERR_DISTRIBUTED (default 30 minutes, PyTorch's). */
  timeoutMs?: number;
  /** Gradient bucket size in MB (default 25, DDP's). */
  bucketMB?: number;
}

/** TrainerOptions.distributed: 'auto' joins when the launch variables are set (a single process otherwise). */
export type DistributedSetting = 'auto' | DistributedOptions;

/** Defaults of {@link DistributedOptions}. */
export const DISTRIBUTED_DEFAULTS = { timeoutMs: 30 * 60 * 1000, bucketMB: 25 } as const;

interface Group {
  env: LaunchEnv;
  backend: 'gloo' | 'nccl';
  timeoutMs: number;
  bucketBytes: number;
}

let group: Group | undefined;
let joining: Promise<Group | undefined> | undefined;

/** Checks a {@link DistributedSetting}; returns the options ('auto' as {}). */
export function resolveDistributed(setting: unknown): DistributedOptions {
  if (setting === 'auto') return {};
  const o = object('distributed', setting) as DistributedOptions;
  knownKeys('distributed', o as Record<string, unknown>, ['backend', 'timeoutMs', 'bucketMB']);
  if (o.backend !== undefined) oneOf('distributed.backend', o.backend, ['gloo', 'nccl'] as const);
  if (o.timeoutMs !== undefined) integer('distributed.timeoutMs', o.timeoutMs, { min: 1, max: 2 ** 31 - 1 });
  if (o.bucketMB !== undefined && !(typeof o.bucketMB === 'number' && o.bucketMB > 0 && o.bucketMB <= 2047)) throw invalidArg('distributed.bucketMB', 'a number of MB in (0, 2047]', o.bucketMB);
  return o;
}

/**
 * Joins the process group described by the launch variables (torchrun's RANK, WORLD_SIZE, ...,
 * SLURM's as a fallback), once per process; later calls return the same group. Returns false, and
 * changes nothing, in a single process (no variables, or WORLD_SIZE 1).
 *
 * @param device where this rank's model lives: 'cpu' or 'cuda:LOCAL_RANK' (see {@link distributed.device}).
 */
export async function initDistributed(options: DistributedOptions = {}, device = 'cpu'): Promise<boolean> {
  const o = resolveDistributed(options);
  if (group) {
    if (o.backend && o.backend !== group.backend) throw invalidArg('distributed.backend', `'${group.backend}' (this process already joined a ${group.backend} group)`, o.backend);
    return true;
  }
  joining ??= join(o, device).finally(() => {
    joining = undefined;
  });
  return (await joining) !== undefined;
}

async function join(o: DistributedOptions, device: string): Promise<Group | undefined> {
  const env = launchEnv();
  if (!env || env.worldSize === 1) return undefined;
  const isCuda = device.startsWith('cuda');
  if (isCuda && device !== `cuda:${env.localRank}`) {
    throw invalidArg('model.device', `cuda:${env.localRank} on local rank ${env.localRank} (each rank uses the GPU of its LOCAL_RANK: load the model on distributed.device())`, device);
  }
  const backends = native().distributedBackends();
  let backend = o.backend ?? (isCuda && backends.nccl ? 'nccl' : 'gloo');
  if (backend === 'nccl' && !backends.nccl) throw new AdvtrainError("distributed.backend 'nccl': this build of the addon has no NCCL (a CUDA build against a libtorch with NCCL is needed); use 'gloo'", 'ERR_DISTRIBUTED');
  if (backend === 'nccl' && !isCuda) throw invalidArg('distributed.backend', "'gloo' for a model on the CPU (NCCL reduces CUDA tensors only)", backend);
  if (backend === 'gloo' && !backends.gloo) throw new AdvtrainError('this build of the addon has no Gloo backend (gloo/context.h was missing when it was compiled: apt install libgloo-dev, then npm run build:native)', 'ERR_DISTRIBUTED');
  if (backend === 'gloo' && isCuda) process.emitWarning(`rank ${env.rank}: reducing CUDA gradients through Gloo (host copies); a build with NCCL is much faster`, { code: 'ADVTRAIN_GLOO_ON_CUDA' });
  backend = backend as 'gloo' | 'nccl';
  const timeoutMs = o.timeoutMs ?? DISTRIBUTED_DEFAULTS.timeoutMs;
  await native().distributedInit({ rank: env.rank, worldSize: env.worldSize, localRank: env.localRank, masterAddr: env.masterAddr, masterPort: env.masterPort, backend, timeoutMs, device });
  group = { env, backend, timeoutMs, bucketBytes: Math.round((o.bucketMB ?? DISTRIBUTED_DEFAULTS.bucketMB) * 2 ** 20) };
  return group;
}

/** The joined group, or undefined in a single process. @internal */
export function currentGroup(): Readonly<Group> | undefined {
  return group;
}

/** Leaves the process group (a new initDistributed() may join another). Trainers made with it keep it. */
export function shutdownDistributed(): void {
  if (!group) return;
  native().distributedShutdown();
  group = undefined;
}

/** The process group as the data and evaluation code sees it; null in a single process. */
export function collectives(): Collectives | null {
  if (!group) return null;
  const g = group;
  return {
    rank: g.env.rank,
    worldSize: g.env.worldSize,
    allGather: (bytes: Uint8Array) => native().distributedAllGather(bytes),
  };
}

/**
 * Where this process stands in a data-parallel run. In a single process: rank 0 of 1, main.
 *
 * @example
 * ```ts
 * import { distributed, Trainer } from 'advtrain';
 * const model = await loadModel(dir, { task: 'sequence-classification', device: distributed.device() });
 * const trainer = new Trainer({ model, distributed: 'auto', method: { name: 'freelb' } });
 * await trainer.fit(loader, { epochs: 3, outputDir: 'runs/sst2' }); // rank 0 writes the files
 * if (distributed.isMain) console.log('done');
 * ```
 */
export const distributed = {
  /** Joins the group now (a distributed Trainer joins it at its first step otherwise). */
  init: initDistributed,
  /** Leaves the group. */
  shutdown: shutdownDistributed,
  /** This process's rank (RANK; 0 in a single process). Read from the environment before the group is joined. */
  get rank(): number {
    return group?.env.rank ?? launchEnv()?.rank ?? 0;
  },
  /** Processes in the run (WORLD_SIZE; 1 in a single process). */
  get worldSize(): number {
    return group?.env.worldSize ?? launchEnv()?.worldSize ?? 1;
  },
  /** This process's rank on its machine (LOCAL_RANK). */
  get localRank(): number {
    return group?.env.localRank ?? launchEnv()?.localRank ?? 0;
  },
  /** True on rank 0: the one that writes checkpoints, models, metrics.jsonl and progress. */
  get isMain(): boolean {
    return this.rank === 0;
  },
  /** True once this process joined a group of more than one rank. */
  get active(): boolean {
    return group !== undefined;
  },
  /** The device this rank should train on: cuda:LOCAL_RANK where CUDA is usable, else 'cpu'. */
  device(): string {
    const i = info();
    return i.cuda ? `cuda:${this.localRank}` : 'cpu';
  },
  /**
   * The device a user asked for, as this rank takes it: plain 'cuda' under a launcher (more than one rank)
   * is the GPU of this rank's LOCAL_RANK; anything else as given.
   *
   * @example
   * ```ts
   * const model = await loadModel(dir, { device: distributed.deviceFor(args.device ?? 'cpu') });
   * ```
   */
  deviceFor(requested: string): string {
    return requested === 'cuda' && this.worldSize > 1 ? `cuda:${this.localRank}` : requested;
  },
  /** Waits until every rank got here (ERR_DISTRIBUTED when one failed or the timeout passed). No-op in a single process. */
  async barrier(): Promise<void> {
    if (!group) return;
    await native().distributedBarrier();
  },
  /** Every rank's JSON value, in rank order (all ranks must call it). `[value]` in a single process. */
  async allGather<T>(value: T): Promise<T[]> {
    const c = collectives();
    return c ? allGatherJson(c, value) : [value];
  },
};
