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
