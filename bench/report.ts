/**
 * Turns bench results (JSON lines from bench/run.ts) into a markdown table and an SVG chart:
 * `node dist/bench/report.js [results.jsonl] [outDir]` (defaults: bench/out/results.jsonl, bench/results).
 * Ratios (advtrain vs the Python loops, and each method vs its pass count x advtrain's vanilla) come from
 * rows of the same run and device; advtrain rows on different libtorch builds get a table each. Rows
 * repeated over rounds (`npm run bench -- --repeat N`) become their median (ms/step and peak MB), with
 * the range of ms/step beside it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../lib/paths.js';
import { renderSvg } from '../lib/plot/render.js';

interface Row {
  impl: string;
  method: string;
  model: string;
  batch: number;
  seq: number;
  precision: string;
  device: string;
  msPerStep: number;
  examplesPerSec: number;
  peakMemMB: number | null;
  mfu?: number;
  passes?: number;
  torch?: string;
  skipPadding?: boolean;
  round?: number;
  /** Set on medians of repeated rows: the fastest and slowest ms/step and how many rounds. */
  range?: [number, number];
  rounds?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const input = process.argv[2] ?? join(packageRoot, 'bench', 'out', 'results.jsonl');
const outDir = process.argv[3] ?? join(packageRoot, 'bench', 'results');
const raw: Row[] = readFileSync(input, 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{') && !l.includes('"kind"'))
  .map((l) => JSON.parse(l) as Row);
// One row per figure: the median over its rounds.
const groups = new Map<string, Row[]>();
for (const r of raw) {
  const k = JSON.stringify([r.impl, r.method, r.model, r.batch, r.seq, r.precision, r.device, r.torch, r.skipPadding]);
  groups.set(k, [...(groups.get(k) ?? []), r]);
}
const rows: Row[] = [...groups.values()].map((g) => {
  if (g.length === 1) return g[0]!;
  const ms = g.map((r) => r.msPerStep);
  const peaks = g.map((r) => r.peakMemMB).filter((x): x is number => x !== null);
  const msPerStep = median(ms);
  return { ...g[0]!, msPerStep, examplesPerSec: (g[0]!.examplesPerSec * g[0]!.msPerStep) / msPerStep, peakMemMB: peaks.length ? median(peaks) : null, mfu: g[0]!.mfu !== undefined ? median(g.map((r) => r.mfu!)) : undefined, range: [Math.min(...ms), Math.max(...ms)], rounds: g.length };
});
const msCell = (r: Row) => (r.range ? `${r.msPerStep.toFixed(1)} (${r.range[0].toFixed(0)}-${r.range[1].toFixed(0)})` : r.msPerStep.toFixed(1));
const key = (r: Row) => `${r.model}/b${r.batch}/s${r.seq}/${r.precision}/${r.device}`;
const label = (r: Row) => (r.impl === 'advtrain' ? `advtrain${r.torch ? ` (libtorch ${r.torch}${r.skipPadding === true ? '' : ', through the padding'})` : ''}` : `${r.impl === 'python-transformers' ? 'transformers' : 'python'}${r.torch ? ` (PyTorch ${r.torch})` : ''}`);
const lines: string[] = [];
// advtrain's rows split by build and by skipPadding (rows from before the option skipped nothing).
const variant = (r: Row) => `${r.torch}|${r.skipPadding ?? false}`;
for (const setting of [...new Set(rows.map(key))]) for (const build of [...new Set(rows.filter((r) => key(r) === setting && r.impl === 'advtrain').map(variant))]) {
  const mine = rows.filter((r) => key(r) === setting && r.impl === 'advtrain' && variant(r) === build);
  const peers = rows.filter((r) => key(r) === setting && r.impl !== 'advtrain');
  const vanilla = mine.find((r) => r.method === 'vanilla');
  const peerName = peers[0] ? label(peers[0]) : 'Python';
  lines.push(`### ${setting}, ${label(mine[0]!)} vs ${peerName}`, '', '| method | advtrain ms/step | Python ms/step | speed-up | ex/s | peak MB | MFU | passes | vs passes x vanilla |', '|---|---|---|---|---|---|---|---|---|');
  for (const r of mine) {
    const peer = peers.find((p) => p.method === r.method);
    const budget = vanilla && r.passes ? r.msPerStep / (r.passes * vanilla.msPerStep) : undefined;
    lines.push(
      `| ${r.method} | ${msCell(r)} | ${peer ? msCell(peer) : '-'} | ${peer ? `${(peer.msPerStep / r.msPerStep).toFixed(2)}x` : '-'} | ${r.examplesPerSec.toFixed(1)} | ${r.peakMemMB ?? '-'} | ${r.mfu !== undefined ? (100 * r.mfu).toFixed(1) + '%' : '-'} | ${r.passes ?? '-'} | ${budget !== undefined ? budget.toFixed(2) : '-'} |`,
    );
  }
  lines.push('');
}
mkdirSync(outDir, { recursive: true });
const repeated = rows.some((r) => r.rounds);
writeFileSync(join(outDir, 'results.md'), `# Bench results\n\nFrom ${relative(packageRoot, input)}; median ms per optimizer step after warm-up, each trial in a fresh process${repeated ? '; each figure the median over the rounds of the run (range in brackets)' : ''}.\n\n${lines.join('\n')}`);
const svg = await renderSvg({
  title: 'ms per optimizer step (lower is better)',
  data: { values: rows.map((r) => ({ ...r, setting: key(r), impl: label(r) })) },
  mark: 'bar',
  encoding: {
    column: { field: 'setting', type: 'nominal', title: null },
    x: { field: 'method', type: 'nominal', title: null },
    xOffset: { field: 'impl', type: 'nominal' },
    y: { field: 'msPerStep', type: 'quantitative', title: 'ms/step' },
    color: { field: 'impl', type: 'nominal', title: null },
  },
});
writeFileSync(join(outDir, 'ms-per-step.svg'), svg);
console.log(`wrote ${join(outDir, 'results.md')} and ms-per-step.svg`);
