// The addon runs only on the libtorch it was compiled against: another one found first at run time
// (LD_LIBRARY_PATH, two installs) must give a clear ERR_ADDON_MISSING at load, never a process abort.
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { native } from '../../lib/binding.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Every libtorch this machine has that the test can point the loader at.
function libtorchDirs(): string[] {
  const dirs = ['/usr/lib/x86_64-linux-gnu'];
  for (const venv of ['.venv', '.venv-cuda']) {
    // lib/python3.X: whichever Python made the venv.
    const lib = join(root, venv, 'lib');
    for (const py of existsSync(lib) ? readdirSync(lib).filter((d) => d.startsWith('python')) : []) dirs.push(join(lib, py, 'site-packages', 'torch', 'lib'));
  }
  return dirs.filter((d) => existsSync(join(d, 'libtorch_cpu.so'))).map((d) => realpathSync(d));
}

function loadInChild(env: NodeJS.ProcessEnv) {
  const script = "import { native } from './lib/binding.ts'; try { console.log(JSON.stringify(native().info().torchLibrary)); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }";
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' }, encoding: 'utf8', timeout: 120_000 });
}

t.test('info() names the libtorch the process runs, and it is the one compiled against', { skip }, async (t) => {
  const lib = native().info().torchLibrary;
  t.ok(existsSync(lib), lib);
  t.match(lib, /libtorch_cpu\.so/);
});

const others = skip ? [] : libtorchDirs().filter((d) => d !== dirname(native().info().torchLibrary));
const skipOthers = skip || (others.length === 0 && 'no second libtorch on this machine (CI has three)');

t.test('another libtorch first on LD_LIBRARY_PATH: the addon runs on its own or refuses to load, never crashes', { skip: skipOthers }, async (t) => {
  const own = native().info().torchLibrary;
  let refused = 0;
  for (const other of others) {
    const r = loadInChild({ LD_LIBRARY_PATH: other });
    t.equal(r.signal, null, `${other}: no crash (signal ${r.signal})`);
    t.equal(r.status, 0, `${other}: the child exits normally: ${r.stderr.slice(-500)}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as { code: string; message: string } | string;
    if (typeof out === 'string') {
      // Debian's libraries carry versioned sonames (libtorch.so.1.13) that another libtorch cannot satisfy.
      t.equal(out, own, `${other}: loaded, and on its own libtorch`);
    } else {
      refused++;
      t.equal(out.code, 'ERR_ADDON_MISSING', `${other}: refused`);
      t.match(out.message, /undefined symbol|compiled against libtorch/);
    }
  }
  // PyTorch's libraries have unversioned sonames: an addon built on them meets any other libtorch.so first.
  if (!own.startsWith('/usr/')) t.ok(refused > 0, 'a PyTorch-built addon refused at least one other libtorch');
  // The same child without the override loads: a refusal above is the other libtorch's doing.
  const ok = loadInChild({});
  t.equal(JSON.parse(ok.stdout.trim().split('\n').pop() ?? 'null'), own);
});

t.test('the same libtorch from another folder is refused by the load-time path check', { skip }, async (t) => {
  // Hard links: the same files (so every symbol resolves), another path (so only the check can notice).
  const own = native().info().torchLibrary;
  const ownDir = dirname(own);
  const dir = join(t.testdir(), 'torch', 'lib');
  mkdirSync(dir, { recursive: true });
  // pip's CUDA libtorch finds its nvidia-* wheels through its RPATH, $ORIGIN/../../nvidia/*/lib: give the copy that neighbour.
  const nvidia = join(ownDir, '..', '..', 'nvidia');
  if (existsSync(nvidia)) symlinkSync(nvidia, join(dir, '..', '..', 'nvidia'));
  const names = readdirSync(ownDir);
  for (const name of names.length < 200 ? names : names.filter((n) => /^lib(torch|c10)/.test(n))) {
    try {
      linkSync(join(ownDir, name), join(dir, name));
    } catch {
      // a folder, or another file system: what matters is that libtorch itself is linked
    }
  }
  if (!existsSync(join(dir, own.slice(ownDir.length + 1)))) {
    t.comment('skipped: cannot hard-link libtorch into a temporary folder here (another file system)');
    return;
  }
  const r = loadInChild({ LD_LIBRARY_PATH: dir });
  t.equal(r.signal, null);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as { code: string; message: string };
  t.equal(out.code, 'ERR_ADDON_MISSING');
  t.match(out.message, /compiled against libtorch \S+ in \S+ but this process loaded \S+/);
});
