import { readFileSync } from 'node:fs';
import { native, type NativeDeviceInfo } from './binding.js';
import { packageVersion } from './paths.js';

/** What this build of advtrain can do. */
export interface Info {
  /** advtrain's version. */
  version: string;
  /** The libtorch version the addon was compiled against. */
  torchVersion: string;
  /** True when CUDA kernels were compiled in and at least one GPU is usable. */
  cuda: boolean;
  /** True when the addon was built with CUDA (even if no GPU is visible now). */
  cudaCompiled: boolean;
  cudaDeviceCount: number;
  devices: NativeDeviceInfo[];
  buildType: string;
  napiVersion: number;
  /** Intra-op threads libtorch uses on CPU (ADVTRAIN_NUM_THREADS, else OMP_NUM_THREADS, else all cores). */
  numThreads: number;
  /** libtorch's shared library file in this process. */
  torchLibrary: string;
  /** The BLAS libtorch was built for (its show_config BLAS_INFO: 'mkl', 'open', ...), and whether oneDNN is in. */
  blas: string;
  mkldnn: boolean;
  /** BLAS shared libraries loaded in this process (Linux: from /proc/self/maps), e.g. Debian's OpenBLAS; empty
   * for PyTorch's libtorch, which links MKL into itself. */
  blasLibraries: string[];
  /** True when precision 'bf16' runs on the CPU: libtorch >= 2 and a CPU with avx512_bf16 or amx_bf16 (or
   * ADVTRAIN_CPU_BF16=emulate: see cpuBf16Emulated). */
  cpuBf16: boolean;
  /** True when bf16 runs on the CPU only because ADVTRAIN_CPU_BF16=emulate is set on a libtorch >= 2 build whose
   * CPU lacks bf16 units: libtorch's reference kernels, ~100x slower than fp32, for checking numerics. */
  cpuBf16Emulated: boolean;
  /** The bf16 flags this CPU lists in /proc/cpuinfo (avx512_bf16, amx_bf16). */
  cpuBf16Flags: string[];
  /** Why bf16 on the CPU is unavailable ('' when it is available). */
  cpuBf16Reason: string;
}

/** BLAS libraries mapped into this process (Linux), by file path. */
function loadedBlas(): string[] {
  let maps: string;
  try {
    maps = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return [];
  }
  const libs = new Set<string>();
  for (const line of maps.split('\n')) {
    const path = line.slice(line.indexOf('/'));
    if (line.includes('/') && /\/lib(open)?blas[^/]*\.so|\/libmkl_[^/]*\.so|\/libblis[^/]*\.so/.test(path)) libs.add(path);
  }
  return [...libs].sort();
}

/**
 * Describes the native build: versions, CUDA devices, threads. Synchronous and cheap.
 *
 * @example
 * ```ts
 * import { info } from 'advtrain';
 * const device = info().cuda ? 'cuda' : 'cpu';
 * ```
 */
export function info(): Info {
  const n = native().info();
  return {
    version: packageVersion,
    torchVersion: n.torchVersion,
    cuda: n.cuda,
    cudaCompiled: n.cudaCompiled,
    cudaDeviceCount: n.cudaDeviceCount,
    devices: n.devices,
    buildType: n.buildType,
    napiVersion: n.napiVersion,
    numThreads: n.numThreads,
    torchLibrary: n.torchLibrary,
    blas: /BLAS_INFO=([^,\s]+)/.exec(n.torchConfig)?.[1] ?? 'unknown',
    mkldnn: /USE_MKLDNN=(ON|1)/.test(n.torchConfig),
    blasLibraries: loadedBlas(),
    cpuBf16: n.cpuBf16,
    cpuBf16Emulated: n.cpuBf16Emulated,
    cpuBf16Flags: n.cpuBf16Flags ? n.cpuBf16Flags.split(' ') : [],
    cpuBf16Reason: n.cpuBf16Reason,
  };
}
