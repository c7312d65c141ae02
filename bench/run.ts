/**
 * `npm run bench`: every method's speed, each trial in a fresh process after warm-up, and with
 * `--peers` the Python reference loops (bench/peers/loops.py) on the same machine in the same run, so
 * every ratio comes from one run. JSON lines on stdout and in bench/out/results.jsonl; then
 * `node dist/bench/report.js` writes the markdown table and chart under bench/results/.
 *
 *   npm run bench                                    # CPU: mini, batch 32, seq 64
 *   npm run bench -- --device cuda --model base --seq 128 --precision bf16 --peers
 *   npm run bench -- --family deberta-v3 --peers         # or albert: the same size in another family
 *   npm run bench -- --nproc 2                            # data parallel: 1 vs 2 processes, scaling
 *   npm run bench -- --peers --padded                     # also advtrain through the padding, as the peers
 *
 * With --nproc N each method runs as 1 process and as N processes (advtrain launch: Gloo on CPU, NCCL on
 * GPUs), each process with --batch rows; a `scaling` line gives both throughputs, their ratio and the
 * efficiency (N-process examples/s over N x the 1-process one). On one CPU the N processes share its
 * cores (each gets cores / N threads), so the ratio there measures the cost of splitting the work, not a
 * gain; on N GPUs it is the data-parallel speed-up.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Writable } from 'node:stream';
import { launch } from '../lib/distributed/launch.js';

const here = dirname(fileURLToPath(import.meta.url));
const venvPython = join(here, '..', '..', '.venv', 'bin', 'python');
const { values } = parseArgs({
  options: {
    device: { type: 'string', default: 'cpu' },
    model: { type: 'string' },
    family: { type: 'string', default: 'bert' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string' },
    precision: { type: 'string', default: 'fp32' },
    methods: { type: 'string', default: 'vanilla,freelb,pgd,creat,smart' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    peers: { type: 'boolean', default: false },
    // Also run advtrain with skipPadding false: every token through every layer, the peers' GEMMs.
    padded: { type: 'boolean', default: false },
    // Rounds of the whole method list, interleaved (advtrain, Python, next method, ...): the report takes
    // each figure's median over rounds, so one noisy trial on a shared host does not make the ratio.
    repeat: { type: 'string', default: '1' },
    nproc: { type: 'string', default: '1' },
    // Intra-op threads of each side (default: all cores; with --nproc, the launcher's share).
    threads: { type: 'string' },
    // The peers are what a user would run instead: transformers on the newest PyTorch, which
    // scripts/python-env.sh puts in .venv (PyTorch 2.13 CPU + transformers 5.18).
    python: { type: 'string', default: process.env.ADVTRAIN_PYTHON ?? process.env.PYTHON ?? (existsSync(venvPython) ? venvPython : 'python3') },
    out: { type: 'string', default: join(here, '..', '..', 'bench', 'out', 'results.jsonl') },
  },
});
const cuda = values.device!.startsWith('cuda');
const model = values.model ?? (cuda ? 'base' : 'mini');
const seq = values.seq ?? (cuda ? '128' : '64');
mkdirSync(dirname(values.out!), { recursive: true });
const common = ['--model', model, '--family', values.family!, '--batch', values.batch!, '--seq', seq, '--device', values.device!, '--precision', values.precision!, '--steps', values.steps!, '--warmup', values.warmup!];
if (values.threads !== undefined) process.env.ADVTRAIN_NUM_THREADS = values.threads;
// Trials run as the advtrain command runs: one malloc arena (set before each trial's Node starts).
process.env.MALLOC_ARENA_MAX ??= '1';
const peerThreads = values.threads !== undefined ? ['--threads', values.threads] : [];
const rounds = Number(values.repeat);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--repeat must be an integer >= 1, got ${values.repeat}`);
const tagged = (line: string, round: number) => (rounds > 1 ? JSON.stringify({ ...JSON.parse(line), round }) : line);
const emit = (line: string) => {
  console.log(line);
  appendFileSync(values.out!, `${line}\n`);
};
const nproc = Number(values.nproc);
if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`--nproc must be an integer >= 1, got ${values.nproc}`);

/** One trial as `n` processes under the launcher: rank 0's JSON line. */
async function launched(method: string, n: number): Promise<Record<string, unknown> | undefined> {
  let text = '';
  const sink = new Writable({ write: (chunk, _enc, cb) => ((text += chunk.toString()), cb()) });
  const code = await launch({ nproc: n, command: [join(here, 'trial.js'), '--method', method, ...common], stdout: sink });
  if (code !== 0) {
    console.error(`trial ${method} on ${n} processes failed (exit ${code})`);
    process.exitCode = 1;
    return undefined;
  }
  const line = text.split('\n').map((l) => l.replace(/^\[rank 0\] /, '')).find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

if (nproc > 1) {
  for (const method of values.methods!.split(',')) {
    const one = await launched(method, 1);
    const many = await launched(method, nproc);
    if (!one || !many) continue;
    emit(JSON.stringify(one));
    emit(JSON.stringify(many));
    const ex1 = one.examplesPerSec as number;
    const exN = many.examplesPerSec as number;
    emit(JSON.stringify({ impl: 'advtrain', kind: 'scaling', method, model, batchPerProcess: Number(values.batch), seq: Number(seq), device: values.device, processes: nproc, examplesPerSec1: ex1, examplesPerSecN: exN, ratio: +(exN / ex1).toFixed(3), efficiency: +(exN / (nproc * ex1)).toFixed(3) }));
  }
  process.exit();
}

for (let round = 1; round <= rounds; round++) {
  for (const method of values.methods!.split(',')) {
    for (const skip of values.padded ? ['true', 'false'] : ['true']) {
      const r = spawnSync(process.execPath, [join(here, 'trial.js'), '--method', method, '--skip-padding', skip, ...common], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) {
        console.error(`trial ${method} failed (exit ${r.status})`);
        process.exitCode = 1;
        continue;
      }
      for (const line of r.stdout.trim().split('\n')) if (line.startsWith('{')) emit(tagged(line, round));
    }
    if (values.peers) {
      const p = spawnSync(values.python!, [join(here, '..', '..', 'bench', 'peers', 'loops.py'), '--methods', method, '--attn', 'sdpa', ...common, ...peerThreads], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (p.status !== 0) {
        console.error(`python peer ${method} failed (exit ${p.status}); is PyTorch installed for ${values.python}?`);
        process.exitCode = 1;
        continue;
      }
      for (const line of p.stdout.trim().split('\n')) if (line.startsWith('{')) emit(tagged(line, round));
    }
  }
}
