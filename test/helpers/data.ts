/** The real public data beside the checkout (`../shared/data`; CI has the same folder). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedData = join(repoRoot, '..', 'shared', 'data');

/** A path under the shared data folder, and a skip reason when it is absent. */
export function sharedPath(...parts: string[]): { path: string; skip: string | false } {
  const path = join(sharedData, ...parts);
  return { path, skip: existsSync(path) ? false : `${path} not found (the shared data folder beside the checkout)` };
}

/**
 * The first `limit` rows of a GLUE TSV: a header of column names, tab-separated fields, no quoting
 * (test/fixtures/tokenizer_parity.py reads them the same way).
 */
export function readTsv(path: string, limit: number): Array<Record<string, string>> {
  const [header, ...lines] = readFileSync(path, 'utf8').split('\n');
  const columns = header!.split('\t');
  return lines
    .filter((line) => line.length > 0)
    .slice(0, limit)
    .map((line) => Object.fromEntries(line.split('\t').map((field, i) => [columns[i], field])));
}
