/** Reads every parameter of a saved model folder as float64 arrays (tests compare weights this way). */
import { join } from 'node:path';
import { readFloat64, readSafetensorsHeader } from '../../lib/model/safetensors.js';
import type { Model } from '../../lib/model/model.js';

export async function snapshot(model: Model, dir: string): Promise<Map<string, Float64Array>> {
  await model.save(dir);
  return readParams(join(dir, 'model.safetensors'));
}

export function readParams(file: string): Map<string, Float64Array> {
  const h = readSafetensorsHeader(file);
  return new Map([...h.tensors.keys()].map((k) => [k, readFloat64(h, k)]));
}

export function maxDiff(a: Float64Array | Float32Array, b: Float64Array | Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The largest element difference between same-named tensors and where it is (Infinity for one `b` lacks, NaN kept). */
export function worstDiff(a: Map<string, Float64Array>, b: Map<string, Float64Array>): { worst: number; where: string } {
  let worst = 0;
  let where = '';
  for (const [k, v] of a) {
    const other = b.get(k);
    const d = other === undefined ? Infinity : maxDiff(v, other);
    if (!(d <= worst)) {
      worst = d;
      where = k;
    }
  }
  return { worst, where };
}
