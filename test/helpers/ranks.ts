/** Starts test scripts as the ranks of a local data-parallel run (the launch variables torchrun sets). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RankResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The environment of rank `rank` of `world` (none of the variables when world is 0: a plain process). */
export function rankEnv(rank: number, world: number, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1', ...extra };
  for (const k of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_LOCALID']) delete env[k];
  if (world > 0) Object.assign(env, { RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
  return env;
}

/** Runs `node --import tsx script ...args` once per rank (world 0: one plain process), or for the ranks in `only`. */
export function startRanks(script: string, args: string[], world: number, port: number, extra: Record<string, string> = {}, only?: number[]): { children: ChildProcess[]; done: Promise<RankResult[]> } {
  const ranks = only ?? Array.from({ length: Math.max(1, world) }, (_, r) => r);
  const children: ChildProcess[] = [];
  const done: Promise<RankResult>[] = [];
  for (const r of ranks) {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: rankEnv(r, world, port, extra), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    done.push(new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))));
  }
  return { children, done: Promise.all(done) };
}
