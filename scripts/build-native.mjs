#!/usr/bin/env node
// Builds the native addon with cmake-js, offline (Node-API headers come from node-api-headers).
// Env: ADVTRAIN_CUDA=0 forces a CPU build; ADVTRAIN_CUDA_ARCH picks CUDA archs (e.g. "90" or "80;90");
// ADVTRAIN_BUILD_TYPE=Debug|Release; ADVTRAIN_BUILD_DIR=<folder> builds elsewhere than build/ (a second libtorch
// beside the first; load it with ADVTRAIN_ADDON=<folder>/Release/advtrain.node); ADVTRAIN_SKIP_NATIVE=1 skips the
// build (JS-only use, CI tiers without the addon).
import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { discoverLibtorch, notFoundMessage } from './libtorch.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

if (process.env.ADVTRAIN_SKIP_NATIVE === '1') {
  console.log('advtrain: ADVTRAIN_SKIP_NATIVE=1, native addon not built');
  process.exit(0);
}

const torch = discoverLibtorch();
if (!torch.found) {
  console.error(notFoundMessage(torch.tried));
  process.exit(1);
}

function gpuArch() {
  if (process.env.ADVTRAIN_CUDA_ARCH) return process.env.ADVTRAIN_CUDA_ARCH;
  try {
    const caps = execFileSync('nvidia-smi', ['--query-gpu=compute_cap', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const archs = [...new Set(caps.trim().split('\n').map((c) => c.trim().replace('.', '')).filter(Boolean))];
    if (archs.length) return archs.join(';');
  } catch {
    // no driver here: build for the common data-centre archs
  }
  return '80;90';
}

const cuda = torch.cuda && process.env.ADVTRAIN_CUDA !== '0';
const buildType = process.env.ADVTRAIN_BUILD_TYPE || 'Release';
const args = [
  require.resolve('cmake-js/bin/cmake-js'),
  process.argv.includes('--force') ? 'rebuild' : 'compile',
  '--directory', root,
  '--out', resolve(root, process.env.ADVTRAIN_BUILD_DIR || 'build'),
  '--config', buildType,
  '--parallel', String(availableParallelism()),
  `--CDTorch_DIR=${torch.cmakeDir}`,
  // TorchConfig.cmake finds libtorch.so with find_library, which searches the system library folders before
  // the torch prefix: with Debian's libtorch-dev also installed, a PyTorch build would link Debian's
  // libraries under PyTorch's headers. The prefix on CMAKE_PREFIX_PATH is searched first.
  `--CDCMAKE_PREFIX_PATH=${torch.prefix}`,
  `--CDADVTRAIN_CUDA=${cuda ? 'ON' : 'OFF'}`,
];
if (cuda) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${gpuArch()}`);
console.log(`advtrain: building against libtorch ${torch.version} from ${torch.source} (${torch.cmakeDir}), ${cuda ? 'CUDA' : 'CPU'} ${buildType}`);
const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(availableParallelism()) } });
process.exit(res.status ?? 1);
