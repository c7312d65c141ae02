/**
 * Figures of a robustness report and of training logs, as Vega-Lite specifications rendered to SVG by
 * Vega headless (no browser, no canvas: text widths are estimated).
 */
import type { TopLevelSpec } from 'vega-lite';
import { parseJson } from '../data/json.js';
import { dataError, readText, splitLines } from '../data/source.js';
import { AdvtrainError } from '../errors.js';
import type { DeviationReport } from './deviation.js';
import type { EmbeddingAttackReport } from './embedding-attack.js';
import type { LossIncreaseReport } from './loss-increase.js';

export { renderSvg } from '../plot/render.js';

const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);
const Q = 'quantitative' as const;

/**
 * Median max-loss increase against the radius, with the interquartile band.
 *
 * @example
 * ```ts
 * writeFileSync('loss-increase.svg', await renderSvg(lossIncreaseSpec(report.dlmax!)));
 * ```
 */
export function lossIncreaseSpec(dlmax: LossIncreaseReport): TopLevelSpec {
  const values = dlmax.radii.filter((r) => finite(r.median)).map((r) => ({ epsilon: r.epsilon, median: r.median, q1: r.q1, q3: r.q3 }));
  const x = { field: 'epsilon', type: Q, title: 'radius epsilon (l2)' };
  return {
    title: { anchor: 'start', text: 'Max loss increase in the epsilon-ball', subtitle: 'median and quartiles over correctly classified examples' },
    width: 360,
    height: 240,
    data: { values },
    layer: [
      { mark: { type: 'area', opacity: 0.25 }, encoding: { x, y: { field: 'q1', type: Q, title: 'max loss - clean loss' }, y2: { field: 'q3' } } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'median', type: Q } } },
    ],
  };
}

/**
 * Accuracy under PGD attack against the radius, one panel per norm, clean accuracy dashed.
 *
 * @example
 * ```ts
 * const svg = await renderSvg(pgdSpec(report.pgd!, report.cleanAccuracy));
 * ```
 */
export function pgdSpec(pgd: EmbeddingAttackReport, cleanAccuracy: number): TopLevelSpec {
  const norms = [...new Set(pgd.results.map((r) => r.norm))];
  return {
    title: { text: 'Accuracy under PGD attack on the word embeddings', subtitle: `PGD-${pgd.steps}; dashed: clean accuracy` },
    hconcat: norms.map((norm) => ({
      width: 260,
      height: 220,
      data: { values: pgd.results.filter((r) => r.norm === norm).map((r) => ({ epsilon: r.epsilon, accuracy: r.accuracyUnderAttack, clean: cleanAccuracy })) },
      layer: [
        { mark: { type: 'line', point: true }, encoding: { x: { field: 'epsilon', type: Q, title: `radius epsilon (${norm})` }, y: { field: 'accuracy', type: Q, title: 'accuracy under attack', scale: { domain: [0, 1] } } } },
        { mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { field: 'clean', type: Q, aggregate: 'max' } } },
      ],
    })),
  };
}

/**
 * CreAT Figure 2: per-layer hidden-state cosine and attention KL between clean and perturbed inputs.
 *
 * @example
 * ```ts
 * const svg = await renderSvg(deviationSpec(report.deviation!));
 * ```
 */
export function deviationSpec(d: DeviationReport): TopLevelSpec {
  return {
    title: { text: 'Representation deviation under the attack', subtitle: `final delta of PGD-${d.steps}, l2 epsilon ${d.epsilon}; ${d.n} examples` },
    hconcat: [
      {
        width: 260,
        height: 220,
        data: { values: d.hiddenCosine.map((c, layer) => ({ layer, cosine: c })).filter((p) => finite(p.cosine)) },
        mark: { type: 'line', point: true },
        encoding: { x: { field: 'layer', type: 'ordinal', title: 'layer (0 = embeddings)', axis: { labelAngle: 0 } }, y: { field: 'cosine', type: Q, title: 'cosine(clean, perturbed) hidden states', scale: { zero: false } } },
      },
      {
        width: 260,
        height: 220,
        data: { values: d.attentionKL.map((kl, i) => ({ layer: i + 1, kl })).filter((p) => finite(p.kl)) },
        mark: { type: 'line', point: true, color: '#e45756' },
        encoding: { x: { field: 'layer', type: 'ordinal', title: 'layer', axis: { labelAngle: 0 } }, y: { field: 'kl', type: Q, title: 'KL(clean || perturbed) attention', axis: { format: '.2~g' } } },
      },
    ],
  };
}

/** One training step of a metrics.jsonl log. */
export interface LogStep {
  step: number;
  loss: number;
  repCos?: number;
  deltaNorm?: number;
}

/**
 * The `type: "step"` lines of a metrics.jsonl written by `advtrain train` (or its progress callback).
 * Bad lines fail with ERR_DATA at file:line:col.
 *
 * @example
 * ```ts
 * const steps = await readMetricsLog('runs/creat/metrics.jsonl');
 * steps.filter((s) => s.repCos !== undefined).length;
 * ```
 */
export async function readMetricsLog(file: string): Promise<LogStep[]> {
  const out: LogStep[] = [];
  for (const { text, line } of splitLines(await readText(file))) {
    if (text.trim() === '') continue;
    const e = parseJson(text, file, line) as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || e.type !== 'step') continue;
    if (!finite(e.step as number) || !finite(e.loss as number)) {
      if (e.skipped === true) continue;
      throw dataError(file, { line, column: 1 }, 'a step entry needs numeric "step" and "loss"');
    }
    const s: LogStep = { step: e.step as number, loss: e.loss as number };
    if (finite(e.repCos as number)) s.repCos = e.repCos as number;
    if (finite(e.deltaNorm as number)) s.deltaNorm = e.deltaNorm as number;
    out.push(s);
  }
  return out;
}

/** A training run for {@link similarityLossSpec}: a label and its logged steps. */
export interface LoggedRun {
  label: string;
  steps: LogStep[];
}

/**
 * CreAT Figure 1: per step, the cosine similarity of the clean and perturbed final representations
 * (`repCos`) against the training loss, and against the step; one colour per run. Runs whose log has
 * no `repCos` are left out (only methods that compute both representations log it).
 *
 * @example
 * ```ts
 * const runs = [{ label: 'creat', steps: await readMetricsLog('runs/creat/metrics.jsonl') }];
 * writeFileSync('similarity-loss.svg', await renderSvg(similarityLossSpec(runs)));
 * ```
 */
export function similarityLossSpec(runs: readonly LoggedRun[]): TopLevelSpec {
  const values = runs.flatMap((r) => r.steps.filter((s) => s.repCos !== undefined).map((s) => ({ run: r.label, step: s.step, loss: s.loss, repCos: s.repCos })));
  if (values.length === 0) throw new AdvtrainError(`no run has repCos in its steps (${runs.map((r) => r.label).join(', ')}): only methods that compare clean and perturbed representations (creat) log it`, 'ERR_DATA');
  const color = { field: 'run', type: 'nominal' as const, title: 'run' };
  return {
    title: { text: 'Similarity of clean and perturbed representations during training', subtitle: 'cosine of the final hidden states per step (CreAT, Figure 1)' },
    data: { values },
    hconcat: [
      {
        width: 300,
        height: 240,
        mark: { type: 'point', opacity: 0.6, filled: true, size: 18 },
        encoding: { x: { field: 'loss', type: Q, title: 'training loss', scale: { zero: false } }, y: { field: 'repCos', type: Q, title: 'cosine similarity', scale: { zero: false } }, color },
      },
      {
        width: 300,
        height: 240,
        mark: { type: 'line', opacity: 0.8 },
        encoding: { x: { field: 'step', type: Q, title: 'step' }, y: { field: 'repCos', type: Q, title: 'cosine similarity', scale: { zero: false } }, color },
      },
    ],
  };
}
