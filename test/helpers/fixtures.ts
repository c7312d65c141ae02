/** Reads the float64 fixtures under test/fixtures (written by the Python reference scripts). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabeledBatch } from '../../lib/model/batch.js';
import type { ForwardOutput } from '../../lib/model/model.js';
import { readFloat64, readSafetensorsHeader, type SafetensorsHeader } from '../../lib/model/safetensors.js';
import { maxDiff } from './params.js';

export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function fixtureFolders(kind: 'parity' | 'methods'): string[] {
  const dir = join(fixturesDir, kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name))
    .sort();
}

export class Fixture {
  readonly header: SafetensorsHeader;
  constructor(file: string) {
    this.header = readSafetensorsHeader(file);
  }
  has(name: string): boolean {
    return this.header.tensors.has(name);
  }
  f64(name: string): Float64Array {
    return readFloat64(this.header, name);
  }
  i32(name: string): Int32Array {
    return Int32Array.from(this.f64(name));
  }
  shape(name: string): number[] {
    return this.header.tensors.get(name)!.shape;
  }
  names(): string[] {
    return [...this.header.tensors.keys()];
  }
}

export function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** The batch (inputs and targets) stored in a parity fixture's expected.safetensors. */
export function fixtureBatch(fx: Fixture, task: string): LabeledBatch {
  const shape = fx.shape('input_ids');
  const b: LabeledBatch = {
    inputIds: fx.i32('input_ids'),
    attentionMask: fx.i32('attention_mask'),
    tokenTypeIds: fx.i32('token_type_ids'),
    batchSize: shape[0]!,
    seqLen: shape[shape.length - 1]!,
    numChoices: shape.length === 3 ? shape[1] : undefined,
  };
  if (fx.has('labels')) b.labels = task === 'regression' ? Float32Array.from(fx.f64('labels')) : fx.i32('labels');
  if (fx.has('start_positions')) {
    b.startPositions = fx.i32('start_positions');
    b.endPositions = fx.i32('end_positions');
  }
  return b;
}

/**
 * Max abs error of each advtrain output against transformers' float64 outputs in `fx` (keys as the parity
 * fixtures write them): last_hidden_state, hidden_states.<i>, attentions.<i>, logits, pooler_output, loss.
 * Counts and shapes that differ are reported as Infinity.
 */
export function outputErrors(out: ForwardOutput, fx: Fixture): Record<string, number> {
  const err = (a: Float32Array | undefined, name: string) => (a && a.length === fx.f64(name).length ? maxDiff(a, fx.f64(name)) : Infinity);
  const report: Record<string, number> = { last_hidden_state: err(out.lastHiddenState, 'last_hidden_state') };
  const count = (prefix: string) => fx.names().filter((n) => n.startsWith(prefix)).length;
  for (const [prefix, got] of [['hidden_states.', out.hiddenStates ?? []], ['attentions.', out.attentions ?? []]] as const) {
    if (got.length !== count(prefix)) report[`${prefix}count`] = Infinity;
    for (let i = 0; i < count(prefix); i++) report[`${prefix}${i}`] = err(got[i], `${prefix}${i}`);
  }
  if (fx.has('logits')) report.logits = out.logitsShape.join() === fx.shape('logits').join() ? err(out.logits, 'logits') : Infinity;
  else if (fx.has('pooler_output')) report.pooler_output = err(out.logits, 'pooler_output');
  else report.no_pooler = out.logits.length === 0 ? 0 : Infinity; // ElectraModel has none
  if (fx.has('loss')) report.loss = out.loss === undefined ? Infinity : Math.abs(out.loss - fx.f64('loss')[0]!);
  return report;
}

/** The worst error per group of outputErrors' keys, for one summary line. */
export function worstByGroup(report: Record<string, number>): string {
  const groups = { hidden: /hidden/, attentions: /^attentions/, logits: /^(logits|pooler_output)$/, loss: /^loss$/ };
  return Object.entries(groups)
    .map(([g, re]) => {
      const v = Object.entries(report).filter(([k]) => re.test(k)).map(([, v]) => v);
      return `${g} ${v.length ? Math.max(...v).toExponential(2) : '-'}`;
    })
    .join(', ');
}
