/** Locates ../shared/data beside the checkout (benches read real data from there, never from the repo). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encodeExamples, evalBatches } from '../lib/cli/task-data.js';
import { readGlue } from '../lib/data/glue.js';
import { packageRoot } from '../lib/paths.js';
import { loadTokenizer } from '../lib/tokenizer/load.js';

export function sharedData(...parts: string[]): string {
  const base = process.env.ADVTRAIN_SHARED_DATA ?? join(packageRoot, '..', 'shared', 'data');
  const p = join(base, ...parts);
  if (!existsSync(p)) throw new Error(`bench data not found: ${p} (set ADVTRAIN_SHARED_DATA to the folder holding sst2/, rte/, ...)`);
  return p;
}

/** SST-2 as the robustness benches use it: bert-base-uncased's tokenizer, train at 66 tokens, dev batches of 128 at 128 tokens. */
export async function sst2BenchData() {
  const tok = await loadTokenizer(sharedData('bert-base-uncased-tokenizer'));
  const train = encodeExamples(tok, await readGlue('sst2', sharedData('sst2', 'train.tsv')), 66);
  const devExamples = await readGlue('sst2', sharedData('sst2', 'dev.tsv'));
  const dev = evalBatches(encodeExamples(tok, devExamples, 128), tok.special.pad.id, 'sequence-classification', 128);
  return { tok, train, devExamples, dev };
}
