#!/usr/bin/env node
// Finds libtorch for both build paths (cmake-js and node-gyp). The first candidate that exists wins:
// LIBTORCH / Torch_DIR / CMAKE_PREFIX_PATH, then python3's torch, then Debian's libtorch-dev.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const DEBIAN_CMAKE_DIR = '/usr/lib/x86_64-linux-gnu/cmake/Torch';

function configIn(dir) {
  return dir && existsSync(join(dir, 'TorchConfig.cmake')) ? resolve(dir) : null;
}

// One `import torch` per python and process: doctor asks for the first libtorch and for all of them.
const pythonPrefixes = new Map();

function pythonPrefix(python) {
  if (!pythonPrefixes.has(python)) pythonPrefixes.set(python, queryPython(python));
  return pythonPrefixes.get(python);
}

function queryPython(python) {
  try {
    const out = execFileSync(python, ['-c', 'import torch,os;print(torch.utils.cmake_prefix_path);print(os.path.dirname(torch.__file__))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60000,
    });
    const [cmakePrefix, torchDir] = out.trim().split('\n');
    return { cmakePrefix, torchDir };
  } catch {
    return null;
  }
}

/** Candidates in priority order; each is { source, cmakeDir | null, detail }. */
function candidates(env) {
  const list = [];
  if (env.LIBTORCH) {
    list.push({ source: 'LIBTORCH', cmakeDir: configIn(join(env.LIBTORCH, 'share', 'cmake', 'Torch')), detail: env.LIBTORCH });
  }
  if (env.Torch_DIR) list.push({ source: 'Torch_DIR', cmakeDir: configIn(env.Torch_DIR), detail: env.Torch_DIR });
  if (env.CMAKE_PREFIX_PATH) {
    for (const p of env.CMAKE_PREFIX_PATH.split(':').filter(Boolean)) {
      const dir = configIn(join(p, 'Torch')) ?? configIn(join(p, 'share', 'cmake', 'Torch')) ?? configIn(join(p, 'lib', 'cmake', 'Torch'));
      list.push({ source: 'CMAKE_PREFIX_PATH', cmakeDir: dir, detail: p });
    }
  }
  const python = env.PYTHON || 'python3';
  const py = pythonPrefix(python);
  // Debian's python3-torch reports a cmake prefix that does not exist: only trust it when the config file is there.
  list.push({
    source: `${python} (torch.utils.cmake_prefix_path)`,
    cmakeDir: py ? configIn(join(py.cmakePrefix, 'Torch')) : null,
    detail: py ? py.cmakePrefix : 'no importable torch',
  });
  list.push({ source: 'Debian libtorch-dev', cmakeDir: configIn(DEBIAN_CMAKE_DIR), detail: DEBIAN_CMAKE_DIR });
  return list;
}

function versionOf(includeDirs) {
  // libtorch 2.x keeps the numbers in torch/headeronly/version.h, 1.x in the C++ API's torch/version.h.
  const files = includeDirs.flatMap((inc) => [join(inc, 'torch', 'headeronly', 'version.h'), join(inc, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h')]);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const m = /TORCH_VERSION_MAJOR (\d+)[\s\S]*TORCH_VERSION_MINOR (\d+)[\s\S]*TORCH_VERSION_PATCH (\d+)/.exec(text);
    if (m) return `${m[1]}.${m[2]}.${m[3]}`;
  }
  return 'unknown';
}

/**
 * Describes the libtorch to build against, or { found: false, tried } when none exists.
 * @param {NodeJS.ProcessEnv} env
 */
export function discoverLibtorch(env = process.env) {
  const tried = [];
  for (const c of candidates(env)) {
    tried.push(`${c.source}: ${c.detail}${c.cmakeDir ? '' : ' (no TorchConfig.cmake)'}`);
    const found = describe(c);
    if (found) return { ...found, tried };
    if (c.cmakeDir) tried[tried.length - 1] += ' (TorchConfig.cmake found but no libtorch.so beside it)';
  }
  return { found: false, tried };
}

/**
 * Every usable libtorch the discovery can see, in priority order (the first is the one a build takes):
 * `advtrain doctor` compares them with the one the addon runs on.
 * @param {NodeJS.ProcessEnv} env
 */
export function discoverAllLibtorches(env = process.env) {
  return candidates(env).map(describe).filter(Boolean);
}

function describe(c) {
  if (!c.cmakeDir) return null;
  // TorchConfig.cmake sits in <prefix>/share/cmake/Torch (pip, libtorch zip) or <libdir>/cmake/Torch (Debian).
  const up4 = resolve(c.cmakeDir, '..', '..', '..');
  const prefix = existsSync(join(up4, 'include', 'torch')) ? up4 : resolve(c.cmakeDir, '..', '..', '..', '..');
  const includeDirs = [join(prefix, 'include'), join(prefix, 'include', 'torch', 'csrc', 'api', 'include')];
  const libDir = [join(prefix, 'lib'), resolve(c.cmakeDir, '..', '..')].find((d) => existsSync(join(d, 'libtorch.so')) || existsSync(join(d, 'libtorch.dylib')));
  if (!libDir) return null;
  const cuda = existsSync(join(libDir, 'libtorch_cuda.so'));
  return { found: true, source: c.source, cmakeDir: c.cmakeDir, prefix, includeDirs, libDir, cuda, version: versionOf(includeDirs) };
}

export function notFoundMessage(tried) {
  return [
    'advtrain: no libtorch found, so the native addon cannot be built. Looked in, in order:',
    ...tried.map((t) => `  - ${t}`),
    'Fix it with one of:',
    '  - Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0',
    '  - point LIBTORCH at an unpacked libtorch (the folder holding lib/ and include/), or Torch_DIR at its share/cmake/Torch',
    '  - install PyTorch for python3 (its bundled libtorch brings CUDA on GPU machines)',
    'then run `npm rebuild advtrain` (or `npm run build:native` in a checkout).',
  ].join('\n');
}

// CLI: prints what one build path needs. --json | --cmake-dir | --cflags | --include-dirs | --lib-dir | --libs | --cxx-flags
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const info = discoverLibtorch();
  const flag = process.argv[2] ?? '--json';
  if (!info.found) {
    if (flag === '--json') console.log(JSON.stringify(info, null, 2));
    else console.error(notFoundMessage(info.tried));
    process.exit(flag === '--json' ? 0 : 1);
  }
  const out = {
    '--json': () => JSON.stringify(info, null, 2),
    '--cmake-dir': () => info.cmakeDir,
    '--include-dirs': () => info.includeDirs.join(' '),
    '--cflags': () => info.includeDirs.map((d) => `-I${d}`).join(' '),
    '--lib-dir': () => info.libDir,
    '--libs': () => `-L${info.libDir} -Wl,-rpath,${info.libDir} -ltorch -ltorch_cpu -lc10`,
    // TorchConfig.cmake records the C++ ABI libtorch was built with; the addon must match it.
    '--cxx-flags': () => (/set\(TORCH_CXX_FLAGS "([^"]*)"\)/.exec(readFileSync(join(info.cmakeDir, 'TorchConfig.cmake'), 'utf8'))?.[1] ?? ''),
  }[flag];
  if (!out) {
    console.error(`usage: libtorch.mjs [--json|--cmake-dir|--cflags|--include-dirs|--lib-dir|--libs|--cxx-flags] (got ${flag})`);
    process.exit(2);
  }
  console.log(out());
}
