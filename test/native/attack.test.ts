import t from 'tap';
import { native } from '../../lib/binding.js';
import { createModel } from '../../lib/model/model.js';
import { LOSS_INCREASE_DEFAULTS, RADIUS_THRESHOLD, radiusGrid, searchRadii } from '../../lib/robustness/loss-increase.js';
import { randomBatch, rng, tinyConfig } from '../helpers/models.js';
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
  // FreeLB's stopping rule ends converged examples; stopAbove ends those past a loss.
  const early = await m.attack(batch, { epsilon: 0.02, steps: 2000, stepSize: 5e-3, patience: 50, start: 'uniform', seed: 1 });
  t.ok(Math.max(...early.iterations) < 2000 && Math.min(...early.iterations) > 50, `stopping rule after ${Math.min(...early.iterations)}..${Math.max(...early.iterations)} iterations`);
  const above = Math.max(...early.cleanLoss) + 1e-3;
  const past = await m.attack(batch, { epsilon: 0.08, steps: 2000, stepSize: 5e-3, start: 'uniform', seed: 1, stopAbove: above });
  t.ok(Math.max(...past.iterations) < 100 && Math.min(...past.maxLoss) > above, `stopAbove: stopped after ${Math.max(...past.iterations)} iterations`);
  await t.rejects(m.attack(batch, { epsilon: 1, steps: 2, step: 'bogus' as 'sign' }), { code: 'ERR_INVALID_ARG', message: /options\.step/ });
  await t.rejects(m.attack({ ...batch, labels: undefined }, { epsilon: 1, steps: 2 }), { code: 'ERR_INVALID_ARG', message: /batch\.labels/ });
  m.dispose();
});

// The attack loop on toy objectives with a known optimum (testing.attackCheck runs robustness/attack.cc's
// loop, the one model.attack uses, on a float64 objective).
const toyRadiusGrid = radiusGrid();

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

t.test('l-inf PGD (sign step) reaches the analytic worst case of a linear model within 1%', { skip }, async (t) => {
  const [l, d, c] = [6, 8, 2];
  const lengths = [6, 4, 3, 1];
  const labels = [0, 1, 1, 0];
  const next = rng(21);
  const weights = Float32Array.from({ length: c * l * d }, () => gaussian(next));
  // Clean logits: the label leads by 1..3.
  const clean = Float32Array.from({ length: lengths.length * c }, (_, i) => (i % c === labels[Math.floor(i / c)] ? 1 + 2 * next() : 0));
  const epsilon = 0.05;
  const steps = 10;
  // Worst case over the box: every real coordinate at epsilon * sign(w_other - w_label); CE = softplus(margin).
  const worst = lengths.map((len, b) => {
    const y = labels[b]!;
    let gain = 0;
    for (let i = 0; i < len * d; i++) gain += Math.abs(weights[(1 - y) * l * d + i]! - weights[y * l * d + i]!);
    const margin = clean[b * c + 1 - y]! - clean[b * c + y]! + epsilon * gain;
    return Math.log1p(Math.exp(margin));
  });
  const run = (step: 'sign' | 'normalized') =>
    native().testing.attackCheck({
      objective: 'linear',
      l,
      d,
      lengths: Int32Array.from(lengths),
      weights,
      clean,
      labels: Int32Array.from(labels),
      options: { epsilon, norm: 'linf', step, steps, stepSize: (2.5 * epsilon) / steps },
    });
  const sign = await run('sign');
  const rel = worst.map((w, b) => Math.abs(sign.maxLoss[b]! - w) / w);
  t.ok(Math.max(...rel) < 0.01, `sign step: worst relative gap to the analytic maximum ${Math.max(...rel).toExponential(2)} (< 1%)`);
  t.ok(Math.max(...sign.deltaNorm) <= epsilon * (1 + 1e-6), 'inside the box');
  // FreeLB's normalised linf step (g / max|g|) moves small-gradient coordinates less: it falls short.
  const normalized = await run('normalized');
  const short = worst.map((w, b) => (w - normalized.maxLoss[b]!) / w);
  t.ok(Math.max(...short) > 0.01, `normalised step falls short by up to ${(100 * Math.max(...short)).toFixed(1)}% (why evaluation uses the sign step)`);
});

t.test('success counts at any iterate, not only the last', { skip }, async (t) => {
  // A concave quadratic (max at 0) and a step longer than the start: the iterates oscillate between radius
  // r0 and 2/3 r0, so the loss is above the threshold at odd iterates and below at even ones (the last).
  const [l, d] = [3, 4];
  const base = { objective: 'quadratic' as const, l, d, lengths: Int32Array.from([3]), weights: new Float32Array(l * d).fill(-1), clean: Float32Array.of(1) };
  const start = { epsilon: 1, norm: 'l2', start: 'uniform', seed: 5 } as const;
  const probe = await native().testing.attackCheck({ ...base, options: { ...start, steps: 1, stepSize: 1e-9 } });
  const r0 = probe.deltaNorm[0]!;
  const r = await native().testing.attackCheck({ ...base, wrongAbove: 1 - 0.7 * r0 * r0, options: { ...start, steps: 4, stepSize: r0 / 0.6, keepDelta: true } });
  t.ok(Math.abs(r.deltaNorm[0]! - r0) < 1e-5 * r0, `the last iterate is back at radius r0 = ${r0.toFixed(4)} (below the threshold)`);
  t.ok(r.finalLoss[0]! < 1 - 0.7 * r0 * r0, 'the final point is not a success');
  t.equal(r.succeeded[0], 1, 'an intermediate iterate was');
});

t.test('FreeLB max loss increase and robustness radius on a quadratic loss match the analytic ones', { skip }, async (t) => {
  // loss_b = c_b + sum A delta^2 over real tokens: its max on the l2 ball of radius eps is c_b + lambda eps^2,
  // lambda = max A (on the first token, which every example has), and the radius where it reaches log 2 is
  // sqrt((log 2 - c_b) / lambda).
  const [l, d, lambda] = [5, 6, 20];
  const next = rng(3);
  const weights = Float32Array.from({ length: l * d }, (_, i) => (i === 0 ? lambda : 1 + 9 * next()));
  // Radii mid-way between grid points (0.124|0.143, 0.067|0.086, 5.44e-3|6.33e-3), and one above log 2 at 0.
  const target = [0.1335, 0.0765, 0.005885];
  const c = [...target.map((r) => Math.log(2) - lambda * r * r), 0.7];
  const lengths = [5, 3, 2, 4];
  const options = { norm: 'l2', start: 'uniform', step: 'normalized', stepSize: LOSS_INCREASE_DEFAULTS.stepSize, steps: LOSS_INCREASE_DEFAULTS.steps, patience: LOSS_INCREASE_DEFAULTS.patience, tol: LOSS_INCREASE_DEFAULTS.tol, seed: 9 };
  const toy = (examples: readonly number[], extra: object) =>
    native().testing.attackCheck({
      objective: 'quadratic',
      l,
      d,
      lengths: Int32Array.from(examples.map((i) => lengths[i]!)),
      weights,
      clean: Float32Array.from(examples.map((i) => c[i]!)),
      options: { ...options, ...extra },
    });
  // Max loss increase at a radius: lambda eps^2 within 1%.
  const epsilon = 0.05;
  const dl = await toy([0, 1, 2, 3], { epsilon });
  dl.maxLoss.forEach((m, b) => {
    const increase = m - dl.cleanLoss[b]!;
    t.ok(Math.abs(increase / (lambda * epsilon * epsilon) - 1) < 0.01, `example ${b}: increase ${increase.toFixed(6)} vs ${(lambda * epsilon * epsilon).toFixed(6)}`);
    t.ok(dl.iterations[b]! > LOSS_INCREASE_DEFAULTS.patience && dl.iterations[b]! < LOSS_INCREASE_DEFAULTS.steps, `example ${b}: the stopping rule ended it after ${dl.iterations[b]} iterations`);
  });
  const { radius, belowGrid } = await searchRadii([0, 1, 2, 3], toyRadiusGrid, RADIUS_THRESHOLD, async (examples, eps) => (await toy(examples, { epsilon: eps, stopAbove: RADIUS_THRESHOLD })).maxLoss);
  target.forEach((r, b) => {
    const expected = Math.max(...toyRadiusGrid.filter((g) => g <= r));
    const k = toyRadiusGrid.indexOf(expected);
    const gridStep = toyRadiusGrid[k - 1]! - expected;
    t.ok(Math.abs(radius[b]! - r) <= gridStep, `example ${b}: radius ${radius[b]} vs analytic ${r} (grid step ${gridStep.toExponential(2)})`);
    t.equal(radius[b], expected, `example ${b}: the largest grid radius below the analytic one`);
  });
  t.same([radius[3], belowGrid], [toyRadiusGrid.at(-1), [false, false, false, true]], 'loss above log 2 at every radius: the smallest grid value, flagged');
});

// get_highest_loss.py's run_one_trial, line by line, in float64, for a quadratic loss from a given start.
function referenceTrial(start: Float64Array, a: Float64Array, c: number, o: { epsilon: number; stepSize: number; steps: number; patience: number; tol: number }) {
  const delta = Float64Array.from(start);
  const norm = (x: Float64Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
  let maxLoss = -1;
  let satisfy = 0;
  let n = 0;
  let history = [-1];
  while (satisfy < o.patience && n < o.steps) {
    n += 1;
    const loss = delta.reduce((s, v, i) => s + a[i]! * v * v, c);
    const g = delta.map((v, i) => 2 * a[i]! * v);
    const gn = Math.max(norm(g), 1e-8);
    delta.forEach((v, i) => (delta[i] = v + (o.stepSize * g[i]!) / gn));
    const dn = norm(delta);
    if (dn > o.epsilon) delta.forEach((v, i) => (delta[i] = (v / dn) * o.epsilon));
    const change = Math.abs((loss - maxLoss) / loss);
    const mean = history.reduce((s, v) => s + v, 0) / history.length;
    const spread = Math.sqrt(history.reduce((s, v) => s + (v - mean) ** 2, 0) / history.length) / loss;
    history = history.length < 25 ? [...history, loss] : [...history.slice(1), loss];
    satisfy = (change < o.tol || spread < o.tol) && norm(delta) >= o.epsilon * 0.999 ? satisfy + 1 : 0;
    if (loss > maxLoss) maxLoss = loss;
  }
  return { iterations: n, maxLoss };
}

t.test("the stopping rule is get_highest_loss.py's: iterations and max loss as the script's loop", { skip }, async (t) => {
  const [l, d] = [4, 5];
  const lengths = [4, 2];
  const o = { epsilon: 0.3, stepSize: 5e-3, steps: 2000, patience: 50, tol: 1e-5 };
  // Nearly flat (the loss settles at once, so the 0.999 epsilon condition decides) and curved.
  for (const [name, scale] of [['flat', 1e-6], ['curved', 1]] as const) {
    const next = rng(11);
    const weights = Float32Array.from({ length: l * d }, () => scale * (1 + 9 * next()));
    const clean = Float32Array.of(1, 0.5);
    const spec = { objective: 'quadratic' as const, l, d, lengths: Int32Array.from(lengths), weights, clean };
    const common = { epsilon: o.epsilon, norm: 'l2', start: 'uniform', seed: 4 };
    const probe = await native().testing.attackCheck({ ...spec, options: { ...common, steps: 1, stepSize: 1e-12, keepDelta: true } });
    const r = await native().testing.attackCheck({ ...spec, options: { ...common, step: 'normalized', stepSize: o.stepSize, steps: o.steps, patience: o.patience, tol: o.tol } });
    lengths.forEach((len, b) => {
      const start = Float64Array.from(probe.delta!.subarray(b * l * d, b * l * d + len * d));
      const ref = referenceTrial(start, Float64Array.from(weights.subarray(0, len * d)), clean[b]!, o);
      t.ok(Math.abs(r.iterations[b]! - ref.iterations) <= 1, `${name} example ${b}: ${r.iterations[b]} iterations, the script ${ref.iterations}`);
      // delta is float32 in the loop, float64 here: the trajectories part at the rule's own 1e-5 scale.
      t.ok(Math.abs(r.maxLoss[b]! - ref.maxLoss) <= 3e-5 * ref.maxLoss, `${name} example ${b}: max loss ${r.maxLoss[b]} vs ${ref.maxLoss}`);
    });
  }
});
