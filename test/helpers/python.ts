/**
 * The Python with transformers that the reference tests run: ADVTRAIN_PYTHON, else <repo>/.venv/bin/python
 * (made by scripts/python-env.sh cpu). Tests skip with a reason when it is missing or lacks transformers,
 * except under ADVTRAIN_REQUIRE_PYTHON=1 (CI), where that fails loudly instead of skipping (as
 * ADVTRAIN_REQUIRE_NATIVE does for the addon in test/helpers/native.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function pythonPath(): string {
  return process.env.ADVTRAIN_PYTHON || join(repo, '.venv', 'bin', 'python');
}

/** The Python interpreter to run, or undefined when there is none. */
export function findPython(): string | undefined {
  const py = pythonPath();
  return existsSync(py) ? py : undefined;
}

/** Whether tests must fail, not skip, when Python or the data they compare on is missing. */
export function requirePython(): boolean {
  return process.env.ADVTRAIN_REQUIRE_PYTHON === '1';
}

let probed: string | false | undefined;

/** false when the Python has torch, transformers and safetensors; else why not (or a throw under ADVTRAIN_REQUIRE_PYTHON=1). */
export function pythonSkipReason(): string | false {
  if (probed === undefined) {
    const py = pythonPath();
    if (!existsSync(py)) probed = `no Python at ${py} (set ADVTRAIN_PYTHON or run scripts/python-env.sh cpu)`;
    else {
      const r = spawnSync(py, ['-c', 'import torch, transformers, safetensors; print(transformers.__version__)'], { encoding: 'utf8' });
      probed = r.status === 0 ? false : `${py} cannot import torch, transformers and safetensors: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
    }
  }
  if (probed && requirePython()) throw new Error(`ADVTRAIN_REQUIRE_PYTHON=1 but ${probed}`);
  return probed;
}

/** Runs a script of test/fixtures with the Python above; throws with its output when it fails. */
export function runPython(script: string, args: string[]): string {
  const r = spawnSync(pythonPath(), [join(repo, 'test', 'fixtures', script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_VERBOSITY: 'warning' },
  });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
