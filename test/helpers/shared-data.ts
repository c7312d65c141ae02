/**
 * The real public data sets in `shared/data/` beside the checkout (see its README). Tests that use
 * them skip with a reason where the folder is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/paths.js';

export const sharedDataDir = join(packageRoot, '..', 'shared', 'data');

/** The path of a shared data file, and a skip reason when it is missing. */
export function sharedFile(...parts: string[]): { path: string; skip: string | false } {
  const path = join(sharedDataDir, ...parts);
  return { path, skip: existsSync(path) ? false : `shared data file ${path} not found` };
}
