import t from 'tap';
import { createModel } from '../../lib/model/model.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();
const batch = randomBatch({ task: 'sequence-classification', lengths: [9, 7, 4, 2], seqLen: 9, seed: 8 });

t.test('the attack raises the loss, stays in the ball, grows with the radius', { skip }, async (t) => {
  const m = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 3, seed: 4 });
  let prev = -Infinity;
  // Radii below the saturation of a random tiny model (its LayerNorm caps what a large delta can do).
  for (const epsilon of [0.005, 0.02, 0.08]) {
    const r = await m.attack(batch, { epsilon, steps: 20, stepSize: epsilon / 4, keepDelta: true });
    const inc = Array.from(r.maxLoss, (l, i) => l - r.cleanLoss[i]!);
    t.ok(inc.every((x) => x >= 0), `eps ${epsilon}: loss increase >= 0`);
    t.ok(Math.max(...r.deltaNorm) <= epsilon * (1 + 1e-5), `eps ${epsilon}: within the ball`);
    const mean = inc.reduce((a, b) => a + b) / inc.length;
    t.ok(mean > prev, `eps ${epsilon}: mean increase ${mean.toFixed(4)} grows with the radius`);
    prev = mean;
    // forward with the returned delta reproduces the attack's final loss
    const again = await m.forward(batch, { perturbation: r.delta!, perExampleLoss: true });
    t.ok(Math.max(...Array.from(again.perExampleLoss!, (l, i) => Math.abs(l - r.finalLoss[i]!))) < 1e-5, 'forward({ perturbation }) agrees');
  }
  const early = await m.attack(batch, { epsilon: 0.5, steps: 200, stepSize: 5e-3, patience: 5 });
  t.ok(Math.max(...early.iterations) < 200, `early stopping after ${Math.max(...early.iterations)} iterations`);
  await t.rejects(m.attack({ ...batch, labels: undefined }, { epsilon: 1, steps: 2 }), { code: 'ERR_INVALID_ARG', message: /batch\.labels/ });
  m.dispose();
});
