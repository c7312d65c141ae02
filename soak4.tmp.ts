import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from './lib/binding.js';
import { createModel, loadModel, sizedConfig } from './lib/model/model.js';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const cfg = sizedConfig('tiny', 60);
const dir = mkdtempSync(join(tmpdir(), 'soak-'));
const m0 = await createModel(cfg, { task: 'sequence-classification', numLabels: 2, seed: 1 });
await m0.save(dir); m0.dispose();
const mem = () => { gc(); return `${native().memory('cpu').heapMB.toFixed(2)} rss ${(process.memoryUsage().rss/2**20).toFixed(1)}`; };
for (const kind of [process.argv[2]]) {
  const line = [];
  for (let i = 0; i <= 1000; i++) {
    const m = kind === 'create' ? await createModel(cfg, { task: 'sequence-classification', numLabels: 2, seed: 1 }) : await loadModel(dir);
    m.dispose();
    if (i % 100 === 0) line.push(`${i}: ${mem()}`);
  }
  console.log(kind, line.join(' | '));
}
