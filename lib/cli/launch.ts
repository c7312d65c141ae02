import { LAUNCH_DEFAULTS, launch as launchWorkers } from '../distributed/launch.js';
import { type Command, UsageError } from './command.js';
import { numberFlag } from './method-flags.js';

export const launch: Command = {
  name: 'launch',
  summary: 'Run a command as N data-parallel worker processes (torchrun-style launcher)',
  usage: 'advtrain launch --nproc N [--nnodes M --node-rank R --master-addr HOST --master-port PORT] [--grace-ms MS] -- COMMAND [ARGS...]',
  passThrough: true,
  options: {
    nproc: { type: 'string', help: 'worker processes on this node' },
    nnodes: { type: 'string', help: 'nodes taking part, each running this launcher with the same --nproc', default: String(LAUNCH_DEFAULTS.nnodes) },
    'node-rank': { type: 'string', help: "this node's index, 0..nnodes-1", default: String(LAUNCH_DEFAULTS.nodeRank) },
    'master-addr': { type: 'string', help: "host of node 0, where rank 0's store listens (required with --nnodes > 1)", default: LAUNCH_DEFAULTS.masterAddr },
    'master-port': { type: 'string', help: "the store's port (default with one node: a free port; required with --nnodes > 1)" },
    'grace-ms': { type: 'string', help: 'after a worker fails, time the others get between SIGTERM and SIGKILL', default: String(LAUNCH_DEFAULTS.graceMs) },
  },
  notes: [
    'Everything after -- is the worker command, passed on untouched: `advtrain ...` runs this advtrain with this',
    'Node, a .js/.mjs/.cjs file runs with this Node, anything else is looked up in PATH. Worker i gets',
    'RANK=node-rank*nproc+i, WORLD_SIZE=nproc*nnodes, LOCAL_RANK=i, LOCAL_WORLD_SIZE=nproc, MASTER_ADDR and',
    'MASTER_PORT, over this environment; its output lines are prefixed with [rank K].',
    'SIGINT/SIGTERM are forwarded to every worker (a second one kills them); when a worker fails, its last',
    'stderr lines are printed, the others get SIGTERM (SIGKILL after --grace-ms) and launch exits with its code.',
    'Alternatives that set the same variables: torchrun --no-python --nproc-per-node N advtrain train ...;',
    'srun -n N advtrain train ... (SLURM; set MASTER_ADDR and MASTER_PORT). See docs/distributed.md.',
    'exit codes: 0 all workers ok, 2 usage, 130 interrupted (SIGINT), 143 terminated (SIGTERM), else the first failing worker\'s code',
  ].join('\n'),
  async run(args, positionals, given) {
    if (positionals.length === 0) throw new UsageError('a worker command after -- is required, e.g. advtrain launch --nproc 2 -- advtrain train ...');
    if (given.nproc === undefined) throw new UsageError('--nproc N is required');
    const nproc = numberFlag(args, 'nproc', 1, { int: true, min: 1 });
    const nnodes = numberFlag(args, 'nnodes', LAUNCH_DEFAULTS.nnodes, { int: true, min: 1 });
    const nodeRank = numberFlag(args, 'node-rank', LAUNCH_DEFAULTS.nodeRank, { int: true, min: 0 });
    if (nodeRank >= nnodes) throw new UsageError(`--node-rank must be below --nnodes (${nnodes}), got '${nodeRank}'`);
    const masterPort = args['master-port'] === undefined ? undefined : numberFlag(args, 'master-port', 0, { int: true, min: 1, max: 65535 });
    if (nnodes > 1 && (given['master-addr'] === undefined || masterPort === undefined)) {
      throw new UsageError(`--master-addr and --master-port are required with --nnodes ${nnodes} (every node must meet at node 0's address and port)`);
    }
    const masterAddr = args['master-addr'] as string;
    if (masterAddr === '') throw new UsageError("--master-addr takes a host name or address, got ''");
    const graceMs = numberFlag(args, 'grace-ms', LAUNCH_DEFAULTS.graceMs, { int: true, min: 0 });
    return launchWorkers({ nproc, nnodes, nodeRank, masterAddr, masterPort, graceMs, command: positionals });
  },
};
