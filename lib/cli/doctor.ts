import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { native } from '../binding.js';
import { info } from '../info.js';
import { packageRoot } from '../paths.js';
import type { Command } from './command.js';

interface Discovery {
  found: boolean;
  source?: string;
  cmakeDir?: string;
  libDir?: string;
  version?: string;
  cuda?: boolean;
  tried: string[];
}

// A CPU below this is almost surely on the reference BLAS (Debian without libopenblas0): ~40x slower.
const SLOW_BLAS_GFLOPS = 20;

const major = (v: string | undefined) => Number.parseInt(v ?? '', 10);

/**
 * A libtorch 2.x that the discovery sees while the addon runs on 1.x (Debian's 1.13): it has bf16 on the
 * CPU, SDPA and PyTorch's MKL/oneDNN builds. Undefined when the addon already runs on 2.x or none is there.
 */
export function fasterLibtorch(running: string, installed: { source?: string; version?: string }[]): { source: string; version: string } | undefined {
  if (!(major(running) < 2)) return undefined;
  const better = installed.find((d) => major(d.version) >= 2);
  return better ? { source: better.source ?? 'a candidate', version: better.version! } : undefined;
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'Show the native build, libtorch, its BLAS (as built and as loaded), devices and BLAS speed',
  usage: 'advtrain doctor [--json] [--no-bench]',
  options: {
    json: { type: 'boolean', help: 'print one JSON object' },
    'no-bench': { type: 'boolean', help: 'skip the 1024x1024 matmul timing' },
  },
  async run(args) {
    const { discoverLibtorch, discoverAllLibtorches } = (await import(pathToFileURL(join(packageRoot, 'scripts', 'libtorch.mjs')).href)) as {
      discoverLibtorch(): Discovery;
      discoverAllLibtorches(): Discovery[];
    };
    const discovery = discoverLibtorch();
    const installed = discoverAllLibtorches();
    const build = info();
    const backends = native().distributedBackends();
    const report: Record<string, unknown> = { ...build, libtorch: discovery, installedLibtorch: installed.map((d) => ({ source: d.source, version: d.version, cuda: d.cuda, cmakeDir: d.cmakeDir })), distributed: backends };
    if (!args['no-bench']) {
      const device = build.cuda ? 'cuda' : 'cpu';
      const cpu = await native().matmulBench(1024, 10, 'cpu');
      report.matmulCpuGflops = Math.round(cpu.gflops * 10) / 10;
      if (device === 'cuda') report.matmulCudaGflops = Math.round((await native().matmulBench(4096, 20, 'cuda')).gflops);
    }
    const warnings: string[] = [];
    if (typeof report.matmulCpuGflops === 'number' && report.matmulCpuGflops < SLOW_BLAS_GFLOPS) {
      warnings.push(`CPU matmul runs at ${report.matmulCpuGflops} GFLOP/s: libtorch is probably on the reference BLAS; install libopenblas0`);
    }
    if (build.cudaCompiled && !build.cuda) warnings.push('built with CUDA but no GPU is visible');
    if (process.env.MALLOC_ARENA_MAX === undefined) warnings.push('MALLOC_ARENA_MAX is not set: run as the advtrain command (it sets it) or start node with MALLOC_ARENA_MAX=1, or the compute thread\'s malloc arena returns and page-faults in ~45 MB per step (docs/performance.md)');
    const faster = fasterLibtorch(build.torchVersion, installed);
    if (faster) {
      warnings.push(
        `the addon runs on libtorch ${build.torchVersion} but ${faster.source} has libtorch ${faster.version}, unused: rebuild on it ` +
          `(${faster.source.startsWith('LIBTORCH') || faster.source.startsWith('Torch_DIR') || faster.source.startsWith('CMAKE') ? '' : 'PYTHON=<that python> '}npm rebuild advtrain) ` +
          'for bf16 on the CPU and the faster CPU steps measured in docs/performance.md',
      );
    }
    if (!backends.gloo) warnings.push('built without Gloo: advtrain launch cannot train on CPU (apt install libgloo-dev, then npm run build:native)');
    report.warnings = warnings;
    if (args.json) {
      console.log(JSON.stringify(report));
      return 0;
    }
    const rows: [string, string][] = [
      ['advtrain', build.version],
      ['libtorch', `${build.torchVersion} (${discovery.found ? `${discovery.source}: ${discovery.cmakeDir}` : 'not found now'})`],
      ['build', `${build.buildType}, N-API ${build.napiVersion}, CUDA ${build.cudaCompiled ? 'compiled' : 'not compiled'}`],
      ['threads', String(build.numThreads)],
      // PyTorch's own libtorch links MKL statically: no separate BLAS library is mapped then.
      ['blas', `${build.blas}${build.mkldnn ? ' + oneDNN' : ''}; ${build.blasLibraries.length ? `loaded: ${build.blasLibraries.join(', ')}` : 'linked into libtorch'}`],
      // The c10d backends `advtrain launch` can train on (docs/distributed.md).
      ['distributed', [backends.gloo && 'gloo', backends.nccl && 'nccl'].filter(Boolean).join(', ') || 'none'],
      ['cuda devices', build.devices.length ? build.devices.map((d) => `${d.index}: ${d.name} (sm_${d.computeCapability.replace('.', '')}, ${Math.round(d.totalMemoryMB / 1024)} GiB)`).join('; ') : 'none'],
      [
        'cpu bf16',
        build.cpuBf16Emulated
          ? 'emulated (ADVTRAIN_CPU_BF16=emulate; this CPU has no bf16 units): --precision bf16 runs ~100x slower than fp32'
          : build.cpuBf16
            ? `available (${build.cpuBf16Flags.join(', ')}): --precision bf16 runs on the CPU`
            : `unavailable: ${build.cpuBf16Reason}`,
      ],
    ];
    rows.push(['installed libtorch', installed.length ? installed.map((d) => `${d.version}${d.cuda ? ' (CUDA)' : ''} from ${d.source}`).join('; ') : 'none found']);
    if (report.matmulCpuGflops !== undefined) rows.push(['cpu matmul', `${report.matmulCpuGflops} GFLOP/s (1024^2 fp32)`]);
    if (report.matmulCudaGflops !== undefined) rows.push(['cuda matmul', `${report.matmulCudaGflops} GFLOP/s (4096^2 fp32)`]);
    const width = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    for (const w of warnings) console.log(`warning: ${w}`);
    return 0;
  },
};
