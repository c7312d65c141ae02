/** The figure of a ticket search: mask distance between consecutive points, and what each layer keeps. */
import type { TopLevelSpec } from 'vega-lite';
import type { TicketResult } from './ticket-search.js';

/**
 * Vega-Lite: left, the normalised Hamming distance of the head and FFN masks to the previous point at each
 * search step, with epsilon and the ticket's step marked; right, the fraction of heads and FFN neurons each
 * layer keeps. Render with renderSvg (lib/plot/render.ts).
 */
export function ticketSpec(result: Pick<TicketResult, 'points' | 'ticketStep' | 'layerHeads' | 'layerFfn' | 'masks'>, epsilon: number): TopLevelSpec {
  const distances = result.points.flatMap((p) => [
    ...(p.headDistance === null ? [] : [{ step: p.step, kind: 'heads', distance: p.headDistance }]),
    ...(p.ffnDistance === null ? [] : [{ step: p.step, kind: 'FFN neurons', distance: p.ffnDistance }]),
  ]);
  const kept = result.layerHeads.flatMap((h, i) => [
    { layer: i, kind: 'heads', kept: h / result.masks.heads[i]!.length },
    { layer: i, kind: 'FFN neurons', kept: result.layerFfn[i]! / result.masks.ffn[i]!.length },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    hconcat: [
      {
        title: 'Mask distance to the previous search point',
        width: 320,
        height: 220,
        layer: [
          {
            data: { values: distances },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
              y: { field: 'distance', type: 'quantitative', title: 'normalised Hamming distance' },
              color: { field: 'kind', type: 'nominal', title: null },
            },
          },
          { data: { values: [{ epsilon }] }, mark: { type: 'rule', strokeDash: [4, 4] }, encoding: { y: { field: 'epsilon', type: 'quantitative' } } },
          { data: { values: [{ step: result.ticketStep }] }, mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'step', type: 'quantitative' } } },
        ],
      },
      {
        title: 'Kept per layer',
        width: 240,
        height: 220,
        data: { values: kept },
        mark: 'bar',
        encoding: {
          x: { field: 'layer', type: 'ordinal' },
          xOffset: { field: 'kind', type: 'nominal' },
          y: { field: 'kept', type: 'quantitative', title: 'fraction kept', scale: { domain: [0, 1] } },
          color: { field: 'kind', type: 'nominal', title: null },
        },
      },
    ],
  };
}
