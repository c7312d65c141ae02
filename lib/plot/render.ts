/** Figures as SVG: Vega-Lite specs compiled and rendered headless by Vega (no browser, no canvas). */
import * as vega from 'vega';
import * as vl from 'vega-lite';

/** A Vega-Lite specification (see https://vega.github.io/vega-lite/docs/). */
export type VegaLiteSpec = vl.TopLevelSpec;

/**
 * Renders a Vega-Lite spec to an SVG document string.
 *
 * @example
 * ```ts
 * const svg = await renderSvg({ data: { values: rows }, mark: 'line', encoding: { x: { field: 'radius', type: 'quantitative' }, y: { field: 'increase', type: 'quantitative' } } });
 * ```
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
