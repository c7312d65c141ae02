/** The robustness figures, as SVG through Vega-Lite (lib/plot/render.ts). */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { renderSvg } from '../plot/render.js';
import type { Deviation, LossIncrease } from './embedding.js';

/** Median and quartiles of the loss increase against the radius (FreeLB Table 5 as a curve). */
export function lossIncreaseFigure(rows: LossIncrease[]): Promise<string> {
  return renderSvg({
    title: 'Max loss increase in the l2 ball (median, quartiles)',
    width: 360,
    height: 240,
    data: { values: rows },
    layer: [
      { mark: { type: 'area', opacity: 0.25 }, encoding: { x: { field: 'radius', type: 'quantitative', title: 'radius' }, y: { field: 'q1', type: 'quantitative', title: 'loss increase' }, y2: { field: 'q3' } } },
      { mark: { type: 'line', point: true }, encoding: { x: { field: 'radius', type: 'quantitative' }, y: { field: 'median', type: 'quantitative' } } },
    ],
  });
}

/** Per-layer hidden-state cosine and attention KL under the attack (CreAT Figure 2). */
export function deviationFigure(d: Deviation): Promise<string> {
  const values = [
    ...d.layerCosine.map((v, layer) => ({ layer, value: v, measure: 'hidden-state cosine' })),
    ...d.attentionKl.map((v, layer) => ({ layer: layer + 1, value: v, measure: 'attention KL' })),
  ];
  return renderSvg({
    title: `Representation deviation under attack (radius ${d.radius})`,
    data: { values },
    facet: { column: { field: 'measure', type: 'nominal', title: null } },
    spec: { width: 240, height: 200, mark: { type: 'line', point: true }, encoding: { x: { field: 'layer', type: 'ordinal' }, y: { field: 'value', type: 'quantitative', scale: { zero: false } } } },
    resolve: { scale: { y: 'independent' } },
  });
}

/**
 * CreAT Figure 1 for any runs: each training step's loss against the cosine between clean and
 * perturbed final representations (`repCos`), one colour per run, from `advtrain train`'s metrics.jsonl.
 *
 * @example
 * ```ts
 * writeFileSync('similarity.svg', await similarityFigure(['runs/creat/metrics.jsonl', 'runs/pgd/metrics.jsonl']));
 * ```
 */
export async function similarityFigure(logFiles: string[]): Promise<string> {
  const values: { run: string; step: number; loss: number; repCos: number }[] = [];
  for (const file of logFiles) {
    const run = basename(dirname(file));
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as { type?: string; step?: number; loss?: number; repCos?: number };
      if (e.type === 'step' && typeof e.repCos === 'number' && typeof e.loss === 'number') values.push({ run, step: e.step ?? 0, loss: e.loss, repCos: e.repCos });
    }
  }
  return renderSvg({
    title: 'Training loss vs representation similarity under the attack',
    width: 360,
    height: 260,
    data: { values },
    mark: { type: 'point', opacity: 0.5 },
    encoding: {
      x: { field: 'repCos', type: 'quantitative', title: 'cosine(h(x), h(x + delta))', scale: { zero: false } },
      y: { field: 'loss', type: 'quantitative', title: 'training loss', scale: { zero: false } },
      color: { field: 'run', type: 'nominal' },
    },
  });
}
