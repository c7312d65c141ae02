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
  };
}
