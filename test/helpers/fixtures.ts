/** Reads the float64 fixtures under test/fixtures (written by the Python reference scripts). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabeledBatch } from '../../lib/model/batch.js';
import { readFloat64, readSafetensorsHeader, type SafetensorsHeader } from '../../lib/model/safetensors.js';

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
