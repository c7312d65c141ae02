import { join } from 'node:path';
import t from 'tap';
import { pgdDefinition } from '../../lib/robustness/embedding-attack.js';
import { deviationSpec, lossIncreaseSpec, pgdSpec, readMetricsLog, renderSvg, similarityLossSpec } from '../../lib/robustness/figures.js';
import { lossIncreaseDefinition } from '../../lib/robustness/loss-increase.js';

const isSvg = (s: string) => s.startsWith('<svg') && s.trimEnd().endsWith('</svg>');

t.test('metrics.jsonl steps: repCos where logged; other lines ignored; bad lines located', async (t) => {
  const log = [
    { type: 'step', epoch: 0, step: 1, loss: 0.7, repCos: 0.99, deltaNorm: 0.1 },
    { type: 'log', loss: 0.7 },
    { type: 'step', epoch: 0, step: 2, loss: 0.6 },
    { type: 'step', epoch: 0, step: 3, loss: null, skipped: true },
  ];
  const dir = t.testdir({ 'metrics.jsonl': `${log.map((e) => JSON.stringify(e)).join('\n')}\n`, 'bad.jsonl': '{"type":"step","step":1,"loss":0.5}\n{"type": "step", oops}\n', 'noloss.jsonl': '{"type":"step","step":1}\n' });
  t.same(await readMetricsLog(join(dir, 'metrics.jsonl')), [{ step: 1, loss: 0.7, repCos: 0.99, deltaNorm: 0.1 }, { step: 2, loss: 0.6 }]);
  await t.rejects(readMetricsLog(join(dir, 'bad.jsonl')), { code: 'ERR_DATA', message: /bad\.jsonl:2:\d+: / });
  await t.rejects(readMetricsLog(join(dir, 'noloss.jsonl')), { code: 'ERR_DATA', message: /noloss\.jsonl:1:1: a step entry needs numeric "step" and "loss"/ });
});

t.test('figures render to SVG headless', async (t) => {
  const runs = [
    { label: 'creat', steps: [{ step: 1, loss: 0.7, repCos: 0.98 }, { step: 2, loss: 0.5, repCos: 0.95 }] },
    { label: 'vanilla', steps: [{ step: 1, loss: 0.7 }] },
  ];
  const sim = await renderSvg(similarityLossSpec(runs));
  t.ok(isSvg(sim));
  t.match(sim, /training loss/);
  t.match(sim, /creat/);
  t.notMatch(sim, />vanilla</, 'a run without repCos is left out');
  t.throws(() => similarityLossSpec([runs[1]!]), { code: 'ERR_DATA', message: /no run has repCos/ });

  const radii = [
    { epsilon: 0.1, median: 0.01, q1: 0.005, q3: 0.02, mean: 0.012, min: 0, n: 10, meanIterations: 40 },
    { epsilon: 0.5, median: 0.08, q1: 0.05, q3: 0.1, mean: 0.08, min: 0.01, n: 10, meanIterations: 90 },
  ];
  t.ok(isSvg(await renderSvg(lossIncreaseSpec({ epsilon: 0.1, median: 0.01, q1: 0.005, q3: 0.02, stepSize: 5e-3, steps: 2000, patience: 50, tol: 1e-5, definition: lossIncreaseDefinition(), radii }))));
  const results = [
    { norm: 'l2' as const, epsilon: 0.1, successful: 1, failed: 7, skipped: 2, accuracyUnderAttack: 0.7, successRate: 0.125 },
    { norm: 'linf' as const, epsilon: 0.01, successful: 3, failed: 5, skipped: 2, accuracyUnderAttack: 0.5, successRate: 0.375 },
  ];
  const pgd = await renderSvg(pgdSpec({ norm: 'l2', epsilon: 0.1, steps: 10, definition: pgdDefinition(false), accuracyUnderAttack: 0.7, successRate: 0.125, results }, 0.8));
  t.ok(isSvg(pgd));
  t.match(pgd, /radius epsilon \(linf\)/);
  const dev = await renderSvg(deviationSpec({ epsilon: 0.1, norm: 'l2', steps: 10, n: 5, finalCosine: { lowerBound: 0.9, mean: 0.95 }, hiddenCosine: [0.99, 0.97, 0.95], attentionKL: [1e-4, 3e-4] }));
  t.ok(isSvg(dev));
  t.match(dev, /KL\(clean \|\| perturbed\)/);
});
