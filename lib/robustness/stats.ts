/** Small statistics shared by the robustness reports. */

/** Linear-interpolated quantile (numpy's default) of unsorted values; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
}

/** Index of the largest value of each row of a row-major [rows, cols] array. */
export function argmaxRows(logits: ArrayLike<number>, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * cols < logits.length; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (logits[r * cols + c]! > logits[r * cols + best]!) best = c;
    out.push(best);
  }
  return out;
}

/** Softmax of one row. */
export function softmax(row: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]!);
  const e = Array.from(row, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}
