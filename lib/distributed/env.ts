/**
 * Reads the environment a multi-process launcher leaves for each worker: torchrun's (and `advtrain
 * launch`'s) RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, or, when none
 * of those is set, the variables `srun` sets for each task of a SLURM job step.
 *
 * torchrun variables:
 * - RANK and WORLD_SIZE go together; WORLD_SIZE=1 alone is rank 0 of 1.
 * - LOCAL_RANK defaults to RANK and LOCAL_WORLD_SIZE to WORLD_SIZE (one node).
 * - MASTER_ADDR and MASTER_PORT are required when WORLD_SIZE > 1; with WORLD_SIZE=1 they default to
 *   127.0.0.1 and 29500.
 *
 * SLURM (used only inside a job step, i.e. when srun set SLURM_STEP_ID: a batch script itself has
 * SLURM_PROCID=0 and SLURM_NTASKS=N too, and a plain `advtrain train` there is one process):
 * - rank SLURM_PROCID, world size SLURM_NTASKS, local rank SLURM_LOCALID (default: the rank);
 * - local world size from SLURM_STEP_TASKS_PER_NODE, SLURM_NTASKS_PER_NODE or SLURM_TASKS_PER_NODE
 *   (the first set; the compressed form `2(x3),1` is read for this node's SLURM_NODEID), else the world size;
 * - MASTER_ADDR and MASTER_PORT as above; without MASTER_ADDR the first host of SLURM_JOB_NODELIST is used
 *   only when it is a plain hostname (`gpu07` or `gpu07,gpu08`). A compressed list such as `node[01-04]`
 *   needs MASTER_ADDR set, e.g. `export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)`.
 *
 * An empty variable counts as unset (`RANK=` is how shells clear one).
 */
import { AdvtrainError, invalidArg } from '../errors.js';

export interface LaunchEnv {
  /** This process's rank among all processes, 0..worldSize-1. */
  rank: number;
  worldSize: number;
  /** This process's rank on its node, 0..localWorldSize-1 (picks its GPU). */
  localRank: number;
  localWorldSize: number;
  /** Host of the rendezvous store (rank 0 listens there). */
  masterAddr: string;
  masterPort: number;
  /** Which variables were read: torchrun's (also set by `advtrain launch`) or SLURM's. */
  source: 'torchrun' | 'slurm';
}

/** Used only when WORLD_SIZE is 1: there is no peer to meet. */
const SINGLE_ADDR = '127.0.0.1';
const SINGLE_PORT = 29500;

const TORCHRUN_RANK_VARS = ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE'] as const;

type Env = NodeJS.ProcessEnv;

function get(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A non-negative decimal integer within bounds; `why` says where a bound comes from. */
function intVar(env: Env, name: string, min: number, max = Number.MAX_SAFE_INTEGER, why = ''): number | undefined {
  const raw = get(env, name);
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw invalidArg(name, `${range}${why}`, raw);
  }
  return n;
}

function missing(name: string, expected: string, because: string): AdvtrainError {
  return invalidArg(name, `${expected} (${because})`, undefined);
}

/** MASTER_ADDR and MASTER_PORT: required with more than one process. */
function master(env: Env, worldSize: number, fallback?: { addr: string | undefined; hint: string }): { masterAddr: string; masterPort: number } {
  const port = intVar(env, 'MASTER_PORT', 1, 65535);
  let addr = get(env, 'MASTER_ADDR');
  if (worldSize === 1) return { masterAddr: addr ?? SINGLE_ADDR, masterPort: port ?? SINGLE_PORT };
  addr ??= fallback?.addr;
  if (addr === undefined) throw missing('MASTER_ADDR', 'the host of rank 0', `required when the world size is ${worldSize} > 1${fallback?.hint ?? ''}`);
  if (port === undefined) throw missing('MASTER_PORT', 'a port in [1, 65535]', `required when the world size is ${worldSize} > 1`);
  return { masterAddr: addr, masterPort: port };
}

/**
 * The launch environment of this process, or null when no launcher variable is set (a single process,
 * as without a launcher). Throws ERR_INVALID_ARG naming the variable for a partial or inconsistent set.
 */
export function launchEnv(env: NodeJS.ProcessEnv = process.env): LaunchEnv | null {
  if (TORCHRUN_RANK_VARS.some((n) => get(env, n) !== undefined)) return torchrunEnv(env);
  if (get(env, 'SLURM_PROCID') !== undefined && (get(env, 'SLURM_STEP_ID') ?? get(env, 'SLURM_STEPID')) !== undefined) return slurmEnv(env);
  return null;
}

function torchrunEnv(env: Env): LaunchEnv {
  const worldSize = intVar(env, 'WORLD_SIZE', 1);
  const set = TORCHRUN_RANK_VARS.filter((n) => get(env, n) !== undefined).join(', ');
  if (worldSize === undefined) throw missing('WORLD_SIZE', 'an integer >= 1', `${set} set without it`);
  let rank = intVar(env, 'RANK', 0, worldSize - 1, ` (below WORLD_SIZE=${worldSize})`);
  if (rank === undefined) {
    if (worldSize > 1) throw missing('RANK', `an integer in [0, ${worldSize - 1}]`, `required when WORLD_SIZE=${worldSize} > 1`);
    rank = 0;
  }
  const localWorldSize = intVar(env, 'LOCAL_WORLD_SIZE', 1, worldSize, ` (at most WORLD_SIZE=${worldSize})`) ?? worldSize;
  const localRank = localRankOf(env, 'LOCAL_RANK', rank, localWorldSize, `LOCAL_WORLD_SIZE=${localWorldSize}`);
  return { rank, worldSize, localRank, localWorldSize, ...master(env, worldSize), source: 'torchrun' };
}

function slurmEnv(env: Env): LaunchEnv {
  const worldSize = intVar(env, 'SLURM_NTASKS', 1);
  if (worldSize === undefined) throw missing('SLURM_NTASKS', 'an integer >= 1', 'SLURM_PROCID set without it');
  const rank = intVar(env, 'SLURM_PROCID', 0, worldSize - 1, ` (below SLURM_NTASKS=${worldSize})`)!;
  const localWorldSize = slurmLocalWorldSize(env, worldSize);
  const localRank = localRankOf(env, 'SLURM_LOCALID', rank, localWorldSize, `${localWorldSize} tasks on this node`);
  const nodes = get(env, 'SLURM_JOB_NODELIST');
  const hint = nodes === undefined ? '' : `; SLURM_JOB_NODELIST='${nodes}' is not a plain hostname list, set MASTER_ADDR to its first host`;
  return { rank, worldSize, localRank, localWorldSize, ...master(env, worldSize, { addr: firstPlainHost(nodes), hint }), source: 'slurm' };
}

/** The local rank variable, else the global rank (right on one node); an error when that is no local rank. */
function localRankOf(env: Env, name: string, rank: number, localWorldSize: number, bound: string): number {
  const local = intVar(env, name, 0, localWorldSize - 1, ` (below ${bound})`);
  if (local !== undefined) return local;
  if (rank >= localWorldSize) throw missing(name, `an integer in [0, ${localWorldSize - 1}]`, `rank ${rank} is no local rank with ${bound}; set ${name}`);
  return rank;
}

function slurmLocalWorldSize(env: Env, worldSize: number): number {
  for (const name of ['SLURM_STEP_TASKS_PER_NODE', 'SLURM_NTASKS_PER_NODE', 'SLURM_TASKS_PER_NODE']) {
    const raw = get(env, name);
    if (raw === undefined) continue;
    const perNode = expandTasksPerNode(raw);
    if (!perNode) throw invalidArg(name, "a task count per node such as '4' or '2(x3),1'", raw);
    // One count (SLURM_NTASKS_PER_NODE always) holds for every node.
    const node = perNode.length === 1 ? 0 : (intVar(env, 'SLURM_NODEID', 0, perNode.length - 1, ` (one of the ${perNode.length} nodes in ${name}=${raw})`) ?? 0);
    const n = perNode[node]!;
    if (n < 1 || n > worldSize) throw invalidArg(name, `counts in [1, ${worldSize}] (SLURM_NTASKS=${worldSize})`, raw);
    return n;
  }
  return worldSize;
}

/** SLURM's `2(x3),1` form: [2, 2, 2, 1]; null when malformed. */
export function expandTasksPerNode(raw: string): number[] | null {
  const out: number[] = [];
  for (const part of raw.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m) return null;
    const reps = m[2] === undefined ? 1 : Number(m[2]);
    // A bound on the expansion: no job has a million nodes, and a typo must not allocate forever.
    if (reps > 1e6) return null;
    for (let i = 0; i < reps; i++) out.push(Number(m[1]));
  }
  return out;
}

/** The first host of a node list when it is written out plainly; undefined for `node[01-04]` and the like. */
function firstPlainHost(list: string | undefined): string | undefined {
  const first = list?.split(',')[0];
  return first !== undefined && /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(first) ? first : undefined;
}
