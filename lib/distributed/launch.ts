/**
 * `advtrain launch`: starts N worker processes on this node with torchrun's variables (RANK, WORLD_SIZE,
 * LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), prefixes their output lines with `[rank k] `,
 * forwards signals and tears the group down when one worker fails. See docs/distributed.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Writable } from 'node:stream';
import { AdvtrainError, invalidArg } from '../errors.js';
import { packageRoot } from '../paths.js';
import * as v from '../validate.js';

export interface LaunchOptions {
  /** Worker processes on this node. */
  nproc: number;
  /** Nodes taking part (default 1); each runs its own launcher with the same nproc. */
  nnodes?: number;
  /** This node's index, 0..nnodes-1 (default 0): its workers get ranks nodeRank*nproc + i. */
  nodeRank?: number;
  /** Host of rank 0's store (default 127.0.0.1; required when nnodes > 1). */
  masterAddr?: string;
  /** Its port (default with one node: a free port on masterAddr; required when nnodes > 1). */
  masterPort?: number;
  /** After a worker fails, how long the others get between SIGTERM and SIGKILL (default 30000 ms). */
  graceMs?: number;
  /** The worker command: `advtrain ...` runs this CLI with this Node, `x.js` runs with this Node, else spawned from PATH. */
  command: string[];
  /** The workers' base environment (default process.env); the launch variables are set over it. */
  env?: NodeJS.ProcessEnv;
  /** Where prefixed worker stdout goes (default process.stdout). */
  stdout?: Writable;
  /** Where prefixed worker stderr and the launcher's messages go (default process.stderr). */
  stderr?: Writable;
}

export const LAUNCH_DEFAULTS = { nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', graceMs: 30_000 } as const;

/** Stderr lines kept per rank, printed when that rank fails. */
const TAIL_LINES = 20;
/** A line longer than this is cut for the failure report (the worker's own output is passed whole). */
const TAIL_LINE_CHARS = 1000;
/** An unterminated line is passed on once it grows this long, so one endless line cannot hold memory. */
const MAX_PENDING = 64 * 1024;
/** Signals forwarded to the workers: the launcher's own signal -> the one each worker gets. */
const FORWARD = { SIGINT: 'SIGINT', SIGTERM: 'SIGTERM', SIGHUP: 'SIGTERM' } as const;
type ForwardedSignal = keyof typeof FORWARD;

/** The `advtrain` CLI script this module belongs to: dist/lib/cli/main.js beside it, else the package's. */
export function cliScript(): string {
  const candidates = [fileURLToPath(new URL('../cli/main.js', import.meta.url)), join(packageRoot, 'dist', 'lib', 'cli', 'main.js')];
  const found = candidates.find((f) => existsSync(f));
  if (!found) throw new AdvtrainError(`${candidates[1]}: the advtrain CLI is not built (run npm run build)`, 'ERR_IO');
  return found;
}

/** The argv a worker runs: `advtrain` as this CLI on this Node, a .js/.mjs/.cjs file on this Node, anything else as given. */
export function workerCommand(command: readonly string[]): string[] {
  const [first, ...rest] = command;
  if (first === undefined) throw invalidArg('command', 'a non-empty array of strings', command);
  if (first === 'advtrain') {
    // Run from its TypeScript sources (tests, tsx), `advtrain` is those sources on the same loader.
    if (import.meta.url.endsWith('.ts')) return [process.execPath, ...process.execArgv, fileURLToPath(new URL('../cli/main.ts', import.meta.url)), ...rest];
    return [process.execPath, cliScript(), ...rest];
  }
  if (/\.[cm]?js$/.test(first)) return [process.execPath, first, ...rest];
  return [first, ...rest];
}

/** A port that was free on `host` a moment ago (the kernel picks it for port 0). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new AdvtrainError(`Cannot find a free port on masterAddr '${host}' (${err.code ?? err.message}): give masterPort (--master-port)`, 'ERR_INVALID_ARG', { cause: err }));
    });
    server.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Splits a stream into lines ('\n', '\r\n', or '\r' as progress bars use it) and writes each whole line,
 * prefixed, in one write: lines of two ranks never interleave mid-line.
 */
export class LinePrefixer {
  private pending = '';
  /** The last chunk ended in '\r': a '\n' opening the next one completes that '\r\n' line. */
  private afterCr = false;
  /** The last line seen ended in a lone '\r': the next one replaces it in the tail. */
  private lastWasCr = false;
  readonly tail: string[] = [];

  constructor(
    private readonly prefix: string,
    private readonly write: (text: string) => void,
    private readonly keepTail = false,
  ) {}

  push(chunk: string): void {
    const s = this.pending + chunk;
    let out = '';
    let start = 0;
    // The '\r' went out with its line already (a progress bar shows at once); the '\n' only finishes it.
    if (this.afterCr && s.startsWith('\n')) {
      out = '\n';
      start = 1;
      this.lastWasCr = false;
    }
    this.afterCr = false;
    for (let i = start; i < s.length; i++) {
      const c = s[i];
      if (c !== '\n' && c !== '\r') continue;
      const end = c === '\r' && s[i + 1] === '\n' ? i + 2 : i + 1;
      out += this.prefix + s.slice(start, end);
      const cr = end - i === 1 && c === '\r';
      this.remember(s.slice(start, i), cr);
      if (cr && end === s.length) this.afterCr = true;
      start = end;
      i = end - 1;
    }
    this.pending = s.slice(start);
    if (this.pending.length > MAX_PENDING) {
      out += `${this.prefix}${this.pending}\n`;
      this.remember(this.pending, false);
      this.pending = '';
    }
    if (out) this.write(out);
  }

  /** Flushes an unterminated last line, ending it with '\n'. */
  end(): void {
    if (!this.pending) return;
    const line = this.pending;
    this.pending = '';
    this.write(`${this.prefix}${line}\n`);
    this.remember(line, false);
  }

  private remember(line: string, cr: boolean): void {
    if (!this.keepTail) return;
    const cut = line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}...` : line;
    if (this.lastWasCr) this.tail.pop();
    this.tail.push(cut);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.lastWasCr = cr;
  }
}

interface Worker {
  rank: number;
  child: ChildProcess;
  done: boolean;
  spawnError?: Error;
  stderr: LinePrefixer;
}

function validate(o: LaunchOptions) {
  v.object('options', o);
  v.knownKeys('options', o as unknown as Record<string, unknown>, ['nproc', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'graceMs', 'command', 'env', 'stdout', 'stderr']);
  const nproc = v.integer('options.nproc', o.nproc, { min: 1 });
  const nnodes = v.integer('options.nnodes', o.nnodes ?? LAUNCH_DEFAULTS.nnodes, { min: 1 });
  const nodeRank = v.integer('options.nodeRank', o.nodeRank ?? LAUNCH_DEFAULTS.nodeRank, { min: 0, max: nnodes - 1 });
  if (nnodes > 1 && o.masterAddr === undefined) throw invalidArg('options.masterAddr', `the host of node 0 (required when nnodes=${nnodes} > 1)`, undefined);
  if (nnodes > 1 && o.masterPort === undefined) throw invalidArg('options.masterPort', `a port in [1, 65535] (required when nnodes=${nnodes} > 1)`, undefined);
  const masterAddr = v.string('options.masterAddr', o.masterAddr ?? LAUNCH_DEFAULTS.masterAddr);
  const masterPort = o.masterPort === undefined ? undefined : v.integer('options.masterPort', o.masterPort, { min: 1, max: 65535 });
  const graceMs = v.integer('options.graceMs', o.graceMs ?? LAUNCH_DEFAULTS.graceMs, { min: 0 });
  if (!Array.isArray(o.command) || o.command.length === 0 || o.command.some((a) => typeof a !== 'string') || o.command[0] === '') {
    throw invalidArg('options.command', 'a non-empty array of strings', o.command);
  }
  return { nproc, nnodes, nodeRank, masterAddr, masterPort, graceMs, command: o.command };
}

/** 128 + the signal's number, as a shell reports a process killed by it. */
function signalCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * Runs `nproc` workers of `command` and resolves with the launcher's exit code:
 * - 0 when every worker exits 0;
 * - the first failing worker's code (128 + signal number when a signal killed it); the others then get
 *   SIGTERM, and SIGKILL after `graceMs`;
 * - 130 / 143 after SIGINT / SIGTERM to the launcher, which forwards it to every worker (SIGHUP is
 *   forwarded as SIGTERM and gives 129); a second signal SIGKILLs them at once.
 * Workers run in their own process groups, so a terminal's Ctrl-C reaches them once, through the launcher.
 */
export async function launch(options: LaunchOptions): Promise<number> {
  const o = validate(options);
  const argv = workerCommand(o.command);
  const masterPort = o.masterPort ?? (await freePort(o.masterAddr));
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  const say = (line: string) => stderr.write(`advtrain launch: ${line}\n`);
  const baseEnv = options.env ?? process.env;

  return new Promise<number>((resolve) => {
    const workers: Worker[] = [];
    let failure: { rank: number; code: number } | undefined;
    /** The launcher's exit code once a signal came to it. */
    let interruptCode: number | undefined;
    let killedAll = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const running = () => workers.filter((w) => !w.done && w.child.pid !== undefined);
    // The process group first (a worker that is a shell script passes nothing on), the process if that fails.
    const signalWorker = (w: Worker, sig: NodeJS.Signals) => {
      try {
        process.kill(-w.child.pid!, sig);
      } catch {
        try {
          w.child.kill(sig);
        } catch {
          // already gone
        }
      }
    };
    const killAll = () => {
      killedAll = true;
      for (const w of running()) signalWorker(w, 'SIGKILL');
    };
    const armGrace = () => {
      if (graceTimer || killedAll) return;
      graceTimer = setTimeout(() => {
        const left = running();
        if (left.length) say(`rank${left.length > 1 ? 's' : ''} ${left.map((w) => w.rank).join(', ')} still running after ${o.graceMs} ms: SIGKILL`);
        killAll();
      }, o.graceMs);
    };

    const onSignal = (sig: ForwardedSignal) => {
      if (killedAll) return;
      if (interruptCode !== undefined || failure) {
        say(`${sig}${failure && interruptCode === undefined ? ' while stopping after a failure' : ' again'}: killing the ranks (SIGKILL)`);
        killAll();
        return;
      }
      interruptCode = signalCode(sig);
      const to = FORWARD[sig];
      say(`${sig}: forwarded${to === sig ? '' : ` as ${to}`} to ${running().length} rank(s); ${sig === 'SIGINT' ? 'Ctrl-C' : 'a signal'} again kills them`);
      for (const w of running()) signalWorker(w, to);
    };
    const handlers = (Object.keys(FORWARD) as ForwardedSignal[]).map((sig) => {
      const h = () => onSignal(sig);
      process.on(sig, h);
      return [sig, h] as const;
    });
    // If the launcher dies of an exception, its workers must not outlive it.
    const onExit = () => {
      for (const w of running()) signalWorker(w, 'SIGKILL');
    };
    process.on('exit', onExit);

    const finish = () => {
      if (workers.some((w) => !w.done)) return;
      for (const [sig, h] of handlers) process.off(sig, h);
      process.off('exit', onExit);
      clearTimeout(graceTimer);
      resolve(failure?.code ?? interruptCode ?? 0);
    };

    const onClose = (w: Worker, code: number | null, signal: NodeJS.Signals | null) => {
      w.done = true;
      w.stderr.end();
      const status = w.spawnError ? 127 : (code ?? signalCode(signal!));
      // After a signal to the launcher, a worker stopping because of it is no failure.
      const expected = status === 0 || (interruptCode !== undefined && (status === 129 || status === 130 || status === 137 || status === 143));
      if (!expected && !failure && !killedAll) {
        failure = { rank: w.rank, code: status };
        const how = w.spawnError ? `could not start '${argv[0]}': ${w.spawnError.message}` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
        say(`rank ${w.rank} ${how}`);
        if (w.stderr.tail.length) {
          say(`last ${w.stderr.tail.length} stderr line(s) of rank ${w.rank}:`);
          stderr.write(`${w.stderr.tail.map((l) => `  ${l}\n`).join('')}`);
        }
        const left = running();
        if (left.length) {
          // After a forwarded signal the others are stopping already; SIGTERM would be their second signal.
          if (interruptCode === undefined) {
            say(`stopping rank${left.length > 1 ? 's' : ''} ${left.map((x) => x.rank).join(', ')} (SIGTERM; SIGKILL after ${o.graceMs} ms)`);
            for (const x of left) signalWorker(x, 'SIGTERM');
          }
          armGrace();
        }
      }
      finish();
    };

    const worldSize = o.nproc * o.nnodes;
    // As torchrun sets OMP_NUM_THREADS=1: N workers each using every core would oversubscribe the CPU.
    // Here each gets an equal share of the cores, unless the caller chose a thread count.
    const threads = baseEnv.ADVTRAIN_NUM_THREADS ?? baseEnv.OMP_NUM_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.nproc)));
    for (let i = 0; i < o.nproc; i++) {
      const rank = o.nodeRank * o.nproc + i;
      const env = {
        ...baseEnv,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(i),
        LOCAL_WORLD_SIZE: String(o.nproc),
        MASTER_ADDR: o.masterAddr,
        MASTER_PORT: String(masterPort),
        ADVTRAIN_NUM_THREADS: threads,
        // One malloc arena per worker, as the advtrain command itself runs (no per-step page faults, docs/performance.md).
        MALLOC_ARENA_MAX: baseEnv.MALLOC_ARENA_MAX ?? '1',
      };
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const w: Worker = {
        rank,
        child,
        done: false,
        stderr: new LinePrefixer(`[rank ${rank}] `, (s) => stderr.write(s), true),
      };
      const out = new LinePrefixer(`[rank ${rank}] `, (s) => stdout.write(s));
      child.stdout!.setEncoding('utf8').on('data', (s: string) => out.push(s)).on('end', () => out.end());
      child.stderr!.setEncoding('utf8').on('data', (s: string) => w.stderr.push(s));
      child.on('error', (err) => {
        if (child.pid === undefined) w.spawnError = err;
      });
      // 'close' comes after the output pipes are drained, so the failure report has the last lines.
      child.on('close', (code, signal) => onClose(w, code, signal));
      workers.push(w);
    }
  });
}
