import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from './lib/binding.js';
import { createModel, sizedConfig } from './lib/model/model.js';
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const h = () => { gc(); return native().memory('cpu').heapMB.toFixed(2); };
const cfg = sizedConfig(process.argv[2] as 'tiny', 60);
const out = [];
for (let i = 0; i < 8; i++) {
  const a = h();
  const m = await createModel(cfg, { task: 'sequence-classification', numLabels: 2, seed: 1 });
  const b = h();
  m.dispose();
  const c = h();
  out.push(`${a}->${b}->${c}`);
}
console.log(out.join(' | '));
