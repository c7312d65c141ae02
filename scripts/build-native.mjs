#!/usr/bin/env node
// Builds the native addon with cmake-js, offline (Node-API headers come from node-api-headers).
// Env: ADVTRAIN_CUDA=0 forces a CPU build, =1 a CUDA build (no GPU needed; fails if libtorch has no CUDA),
// unset builds CUDA when libtorch has it; ADVTRAIN_CUDA_ARCH picks CUDA archs (e.g. "90" or "80;90");
// CUDA_HOME / CUDA_PATH name the CUDA toolkit (else nvcc's own, else /usr/local/cuda);
// ADVTRAIN_BUILD_TYPE=Debug|Release; ADVTRAIN_BUILD_DIR=<folder> builds elsewhere than build/ (a second libtorch
// beside the first; load it with ADVTRAIN_ADDON=<folder>/Release/advtrain.node); ADVTRAIN_SKIP_NATIVE=1 skips the
// build (JS-only use, CI tiers without the addon).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
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

// The toolkit root: nvcc on PATH may be a wrapper script (as here), which CMake's FindCUDA cannot follow to
// the toolkit, so ask nvcc itself (`-dryrun` prints TOP=<root>/bin/..).
function cudaToolkitRoot() {
  for (const v of ['CUDA_HOME', 'CUDA_PATH', 'CUDAToolkit_ROOT']) {
    if (process.env[v] && existsSync(join(process.env[v], 'bin', 'nvcc'))) return resolve(process.env[v]);
  }
  try {
    const out = spawnSync('nvcc', ['-dryrun', '--version'], { encoding: 'utf8' });
    const top = /TOP=(\S+)/.exec(`${out.stdout}${out.stderr}`)?.[1];
    if (top && existsSync(join(top, 'bin', 'nvcc'))) return realpathSync(top);
  } catch {
    // no nvcc on PATH
  }
  return existsSync('/usr/local/cuda/bin/nvcc') ? realpathSync('/usr/local/cuda') : null;
}

// PyTorch's wheels ship NVRTC as a versioned libnvrtc.so.N only (nvidia-cuda-nvrtc), while TorchConfig's
// FindCUDAToolkit looks for an unversioned libnvrtc.so: hand it the wheel's file when the toolkit has none.
function nvrtcLibrary(toolkit) {
  for (const dir of ['lib64', 'lib']) if (existsSync(join(toolkit, dir, 'libnvrtc.so'))) return null;
  const nvidia = join(torch.prefix, '..', 'nvidia');
  if (!existsSync(nvidia)) return null;
  for (const sub of readdirSync(nvidia)) {
    const lib = join(nvidia, sub, 'lib');
    const file = existsSync(lib) ? readdirSync(lib).find((f) => /^libnvrtc\.so\.\d+$/.test(f)) : undefined;
    if (file) return resolve(lib, file);
  }
  return null;
}

const cudaEnv = process.env.ADVTRAIN_CUDA;
if (cudaEnv === '1' && !torch.cuda) {
  console.error(`advtrain: ADVTRAIN_CUDA=1 asks for the CUDA build, but libtorch ${torch.version} from ${torch.source} (${torch.libDir}) has no CUDA (no libtorch_cuda.so). Point LIBTORCH, Torch_DIR or PYTHON at a CUDA build of PyTorch, or unset ADVTRAIN_CUDA.`);
  process.exit(1);
}
const cuda = torch.cuda && cudaEnv !== '0';
const buildType = process.env.ADVTRAIN_BUILD_TYPE || 'Release';
const buildDir = resolve(root, process.env.ADVTRAIN_BUILD_DIR || 'build');
const args = [
  require.resolve('cmake-js/bin/cmake-js'),
  process.argv.includes('--force') ? 'rebuild' : 'compile',
  '--directory', root,
  '--out', buildDir,
  '--config', buildType,
  '--parallel', String(availableParallelism()),
  `--CDTorch_DIR=${torch.cmakeDir}`,
  // TorchConfig.cmake finds libtorch.so with find_library, which searches the system library folders before
  // the torch prefix: with Debian's libtorch-dev also installed, a PyTorch build would link Debian's
  // libraries under PyTorch's headers. The prefix on CMAKE_PREFIX_PATH is searched first.
  `--CDCMAKE_PREFIX_PATH=${torch.prefix}`,
  `--CDADVTRAIN_CUDA=${cuda ? 'ON' : 'OFF'}`,
];
// A libtorch with CUDA makes its TorchConfig.cmake look for the CUDA toolkit even when the addon is built
// for CPU (ADVTRAIN_CUDA=0), so the toolkit hints go with every build against it.
if (torch.cuda) {
  const toolkit = cudaToolkitRoot();
  if (!toolkit) {
    console.error(`advtrain: libtorch ${torch.version} from ${torch.source} has CUDA, and its TorchConfig.cmake needs the CUDA toolkit (nvcc) for any build against it, even ADVTRAIN_CUDA=0. Set CUDA_HOME to the toolkit's root or put nvcc on PATH, or build against a CPU libtorch (LIBTORCH, Torch_DIR, PYTHON, or Debian's libtorch-dev).`);
    process.exit(1);
  }
  const archs = gpuArch().replace(/\./g, ''); // "8.0;9.0" is accepted too; CMake spells it "80;90"
  // PyTorch's TorchConfig takes the archs from TORCH_CUDA_ARCH_LIST ("8.0;9.0") and ignores
  // CMAKE_CUDA_ARCHITECTURES; its own default list includes archs that nvcc 13 rejects (sm_50).
  const torchArchs = archs.split(';').map((a) => a.replace(/^(\d+)(\d)([a-z]?)$/, '$1.$2$3')).join(';');
  args.push(
    `--CDCMAKE_CUDA_ARCHITECTURES=${archs}`,
    `--CDTORCH_CUDA_ARCH_LIST=${torchArchs}`,
    `--CDCMAKE_CUDA_COMPILER=${join(toolkit, 'bin', 'nvcc')}`,
    `--CDCUDAToolkit_ROOT=${toolkit}`,
    `--CDCUDA_TOOLKIT_ROOT_DIR=${toolkit}`,
  );
  const nvrtc = nvrtcLibrary(toolkit);
  if (nvrtc) args.push(`--CDCUDA_nvrtc_LIBRARY=${nvrtc}`);
}
console.log(`advtrain: building against libtorch ${torch.version} from ${torch.source} (${torch.cmakeDir}), ${cuda ? 'CUDA' : 'CPU'} ${buildType} in ${buildDir}`);
const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root, env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: String(availableParallelism()) } });
process.exit(res.status ?? 1);
