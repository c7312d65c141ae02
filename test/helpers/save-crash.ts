/**
 * Child process of the interrupted-save probe: saves a tiny classifier into a folder and, when asked,
 * dies by SIGKILL just before the K-th folder rename of that save (as kill -9 would at that moment).
 * usage: node --import tsx save-crash.ts DIR VOCAB_DIR SEED LABELS K   (K = 0: no kill)
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [dir, vocabDir, seed, labels, killAt] = process.argv.slice(2) as [string, string, string, string, string];
const original = fs.renameSync;
let renames = 0;
fs.renameSync = (from, to) => {
  if (++renames === Number(killAt)) process.kill(process.pid, 'SIGKILL');
  original(from, to);
};
syncBuiltinESMExports();
const { createModel, sizedConfig } = await import('../../lib/model/model.js');
const { loadTokenizer } = await import('../../lib/tokenizer/load.js');
const tok = await loadTokenizer(vocabDir);
const model = await createModel(sizedConfig('tiny', tok.vocabSize, { pad_token_id: tok.special.pad.id }), { labels: labels.split(','), seed: Number(seed) });
model.tokenizer = tok;
await model.save(dir);
process.stdout.write(`renames ${renames}\n`);
