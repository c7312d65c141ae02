/** Locates ../shared/data beside the checkout (benches read real data from there, never from the repo). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/paths.js';

export function sharedData(...parts: string[]): string {
  const base = process.env.ADVTRAIN_SHARED_DATA ?? join(packageRoot, '..', 'shared', 'data');
  const p = join(base, ...parts);
  if (!existsSync(p)) throw new Error(`bench data not found: ${p} (set ADVTRAIN_SHARED_DATA to the folder holding sst2/, rte/, ...)`);
  return p;
}
