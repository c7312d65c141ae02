/**
 * The Python that reference tests run transformers with: ADVTRAIN_PYTHON, else <repo>/.venv/bin/python
 * (scripts/python-env.sh makes it). Tests that need it skip with a reason when it is missing, except
 * under ADVTRAIN_REQUIRE_PYTHON=1 (CI), where a missing Python must fail loudly instead of skipping
 * (as ADVTRAIN_REQUIRE_NATIVE does for the addon in test/helpers/native.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';

/** The Python interpreter to run, or undefined when there is none. */
export function findPython(): string | undefined {
  const chosen = process.env.ADVTRAIN_PYTHON;
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  const venv = join(packageRoot, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : undefined;
}

/** Whether tests must fail, not skip, when Python or the data they compare on is missing. */
export function requirePython(): boolean {
  return process.env.ADVTRAIN_REQUIRE_PYTHON === '1';
}
