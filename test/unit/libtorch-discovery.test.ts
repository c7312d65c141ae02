import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
// @ts-expect-error plain .mjs build script without types
import { discoverAllLibtorches, discoverLibtorch, notFoundMessage } from '../../scripts/libtorch.mjs';
import { fasterLibtorch } from '../../lib/cli/doctor.js';

interface Found {
  found: boolean;
  source?: string;
  cmakeDir?: string;
  libDir?: string;
  cuda?: boolean;
  tried: string[];
}
const discover = discoverLibtorch as (env: Record<string, string>) => Found;

// A fake unpacked libtorch: share/cmake/Torch/TorchConfig.cmake and lib/libtorch.so.
function fakeLibtorch(root: string, cuda = false): string {
  mkdirSync(join(root, 'share', 'cmake', 'Torch'), { recursive: true });
  mkdirSync(join(root, 'lib'), { recursive: true });
  mkdirSync(join(root, 'include', 'torch'), { recursive: true });
  writeFileSync(join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '# fake\n');
  writeFileSync(join(root, 'lib', 'libtorch.so'), '');
  if (cuda) writeFileSync(join(root, 'lib', 'libtorch_cuda.so'), '');
  return root;
}

t.test('LIBTORCH wins over everything after it', async (t) => {
  const dir = t.testdir();
  const a = fakeLibtorch(join(dir, 'a'), true);
  const b = fakeLibtorch(join(dir, 'b'));
  const r = discover({ LIBTORCH: a, Torch_DIR: join(b, 'share', 'cmake', 'Torch'), PYTHON: '/nonexistent/python' });
  t.equal(r.found, true);
  t.equal(r.source, 'LIBTORCH');
  t.equal(r.libDir, join(a, 'lib'));
  t.equal(r.cuda, true);
});

t.test('Torch_DIR, then CMAKE_PREFIX_PATH', async (t) => {
  const dir = t.testdir();
  const b = fakeLibtorch(join(dir, 'b'));
  const r1 = discover({ Torch_DIR: join(b, 'share', 'cmake', 'Torch'), PYTHON: '/nonexistent/python' });
  t.equal(r1.source, 'Torch_DIR');
  t.equal(r1.cuda, false);
  const r2 = discover({ CMAKE_PREFIX_PATH: `/nowhere:${join(b, 'share', 'cmake')}`, PYTHON: '/nonexistent/python' });
  t.equal(r2.source, 'CMAKE_PREFIX_PATH');
  t.ok(r2.tried.some((x) => x.includes('/nowhere')), 'the missing entry is listed as tried');
});

t.test('a candidate without TorchConfig.cmake is skipped and reported', async (t) => {
  const r = discover({ LIBTORCH: '/definitely/not/here', PYTHON: '/nonexistent/python' });
  t.match(r.tried[0], /LIBTORCH: \/definitely\/not\/here \(no TorchConfig.cmake\)/);
  t.match(r.tried.join('\n'), /nonexistent\/python.*no importable torch/);
  const msg = notFoundMessage(r.tried) as string;
  t.match(msg, /apt-get install libtorch-dev/);
  t.match(msg, /LIBTORCH/);
});

t.test('the version comes from torch/headeronly/version.h (2.x) or the C++ API version.h (1.x)', async (t) => {
  const dir = t.testdir();
  const two = fakeLibtorch(join(dir, 'two'));
  mkdirSync(join(two, 'include', 'torch', 'headeronly'), { recursive: true });
  // 2.x also has the C++ API header, with the numbers only through an include: headeronly wins.
  mkdirSync(join(two, 'include', 'torch', 'csrc', 'api', 'include', 'torch'), { recursive: true });
  writeFileSync(join(two, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'), '#include <torch/headeronly/version.h>\n');
  writeFileSync(join(two, 'include', 'torch', 'headeronly', 'version.h'), '#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 13\n#define TORCH_VERSION_PATCH 0\n');
  t.equal((discover({ LIBTORCH: two, PYTHON: '/nonexistent/python' }) as Found & { version: string }).version, '2.13.0');
  const one = fakeLibtorch(join(dir, 'one'));
  mkdirSync(join(one, 'include', 'torch', 'csrc', 'api', 'include', 'torch'), { recursive: true });
  writeFileSync(join(one, 'include', 'torch', 'csrc', 'api', 'include', 'torch', 'version.h'), '#define TORCH_VERSION_MAJOR 1\n#define TORCH_VERSION_MINOR 13\n#define TORCH_VERSION_PATCH 1\n');
  t.equal((discover({ LIBTORCH: one, PYTHON: '/nonexistent/python' }) as Found & { version: string }).version, '1.13.1');
});

t.test('every usable libtorch is listed in priority order; doctor names a 2.x one the addon does not run on', async (t) => {
  const dir = t.testdir();
  const versioned = (name: string, major: number, minor: number) => {
    const root = fakeLibtorch(join(dir, name));
    mkdirSync(join(root, 'include', 'torch', 'headeronly'), { recursive: true });
    writeFileSync(join(root, 'include', 'torch', 'headeronly', 'version.h'), `#define TORCH_VERSION_MAJOR ${major}\n#define TORCH_VERSION_MINOR ${minor}\n#define TORCH_VERSION_PATCH 0\n`);
    return root;
  };
  const one = versioned('one', 1, 13);
  const two = versioned('two', 2, 13);
  const all = (discoverAllLibtorches as (env: Record<string, string>) => (Found & { version: string })[])({
    LIBTORCH: one,
    CMAKE_PREFIX_PATH: `/nowhere:${join(two, 'share', 'cmake')}`,
    PYTHON: '/nonexistent/python',
  }).filter((d) => d.source !== 'Debian libtorch-dev');
  t.same(all.map((d) => [d.source, d.version]), [['LIBTORCH', '1.13.0'], ['CMAKE_PREFIX_PATH', '2.13.0']], 'missing entries are left out');
  t.same(fasterLibtorch('1.13.1', all), { source: 'CMAKE_PREFIX_PATH', version: '2.13.0' });
  t.equal(fasterLibtorch('2.13.0', all), undefined, 'an addon on 2.x gets no warning');
  t.equal(fasterLibtorch('1.13.1', all.slice(0, 1)), undefined, 'nothing newer installed');
});
