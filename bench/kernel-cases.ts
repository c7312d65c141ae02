/**
 * The fused kernels' checks against their float64 ATen references (testing.kernelCheck, see
 * native/binding/kernel_check.cc): shared by test/native/kernels.test.ts (CPU), test/gpu/kernels.test.ts
 * (CUDA) and bench/kernel-check.ts (the same checks without tap, for the GPU machine and compute-sanitizer).
 */
import { native } from '../lib/binding.js';
import type { NativeKernelCheckOptions, NativeKernelCheckResult, NativeKernelName } from '../lib/binding.js';

export type KernelDtype = 'float32' | 'bfloat16';

export interface KernelShape {
  label: string;
  n: number;
  l: number;
  d: number;
}

export interface KernelCase {
  label: string;
  name: NativeKernelName;
  options: Omit<NativeKernelCheckOptions, 'n' | 'l' | 'd' | 'dtype' | 'device' | 'seed'>;
}

/** Every check runs on each shape; each batch also has one-token, all-padding and zero-gradient rows. */
export const KERNEL_SHAPES: KernelShape[] = [
  { label: 'odd sizes', n: 6, l: 9, d: 33 },
  { label: 'one-token rows', n: 5, l: 1, d: 8 },
  { label: 'one example', n: 1, l: 7, d: 5 },
  { label: 'long rows', n: 4, l: 512, d: 1024 },
  { label: 'vocabulary-wide rows', n: 2, l: 3, d: 30522 },
];

export const KERNEL_DTYPES: KernelDtype[] = ['float32', 'bfloat16'];

/** Worst row's relative error allowed (accumulation is float32 either way; bf16 rounds the outputs). */
export const KERNEL_TOLERANCE: Record<KernelDtype, number> = { float32: 1e-5, bfloat16: 1e-2 };

export const KERNEL_CASES: KernelCase[] = [
  { label: 'ascendProject l2', name: 'ascendProject', options: { norm: 'l2', stepSize: 0.1, epsilon: 0.2 } },
  { label: 'ascendProject linf', name: 'ascendProject', options: { norm: 'linf', stepSize: 0.1, epsilon: 0.2 } },
  { label: 'ascendProject l2 without projection', name: 'ascendProject', options: { norm: 'l2', stepSize: 0.1, epsilon: 0 } },
  { label: 'ascendProject linf without projection', name: 'ascendProject', options: { norm: 'linf', stepSize: 0.1, epsilon: 0 } },
  { label: 'tokenAwareStep', name: 'tokenAwareStep', options: { stepSize: 0.1, epsilon: 0.2 } },
  { label: 'tokenAwareStep without projection', name: 'tokenAwareStep', options: { stepSize: 0.1, epsilon: 0 } },
  { label: 'representationCosine tokens', name: 'representationCosine', options: { cls: false } },
  { label: 'representationCosine cls', name: 'representationCosine', options: { cls: true } },
  { label: 'tokenNormalize linf', name: 'tokenNormalize', options: { norm: 'linf', stepSize: 1e-3, epsilon: 1e-6 } },
  { label: 'tokenNormalize l2', name: 'tokenNormalize', options: { norm: 'l2', stepSize: 1e-3, epsilon: 1e-6 } },
  { label: 'tokenNormalize with an infinite gradient', name: 'tokenNormalize', options: { norm: 'linf', stepSize: 1e-3, epsilon: 1e-6, nonFinite: true } },
  { label: 'symmetricKl', name: 'symmetricKl', options: { detach: 'none', spread: 1 } },
  { label: 'symmetricKl detach each', name: 'symmetricKl', options: { detach: 'each', spread: 1 } },
  { label: 'symmetricKl near rows', name: 'symmetricKl', options: { detach: 'none', spread: 0.1 } },
  { label: 'symmetricKl tiny divergences', name: 'symmetricKl', options: { detach: 'none', spread: 1e-3 } },
  { label: 'symmetricKl detach each, tiny divergences', name: 'symmetricKl', options: { detach: 'each', spread: 1e-3 } },
];

export function runKernelCase(c: KernelCase, shape: KernelShape, dtype: KernelDtype, device: string, seed: number): Promise<NativeKernelCheckResult> {
  return native().testing.kernelCheck(c.name, { ...c.options, n: shape.n, l: shape.l, d: shape.d, dtype, device, seed });
}

/** What is wrong with a result; empty when the kernel matches its reference. */
export function kernelProblems(c: KernelCase, dtype: KernelDtype, r: NativeKernelCheckResult): string[] {
  const tol = KERNEL_TOLERANCE[dtype];
  const out: string[] = [];
  if (!(r.relError <= tol)) out.push(`relative error ${r.relError} > ${tol}`);
  if (r.gradRelError !== undefined && !(r.gradRelError <= tol)) out.push(`gradient relative error ${r.gradRelError} > ${tol}`);
  if (r.nonFinite !== 0) out.push(`${r.nonFinite} non-finite outputs`);
  if (r.outputs === 0) out.push('nothing compared');
  if (c.name === 'tokenNormalize') {
    const expected = c.options.nonFinite ? 0 : 1;
    if (r.finite !== expected || r.referenceFinite !== expected) out.push(`finite flags ${r.finite} / ${r.referenceFinite}, expected ${expected}`);
  }
  return out;
}

/** One line for logs and assertion messages. */
export function describeKernelResult(r: NativeKernelCheckResult): string {
  const parts = [`rel ${r.relError.toExponential(2)}`];
  if (r.gradRelError !== undefined) parts.push(`grad rel ${r.gradRelError.toExponential(2)}`);
  return parts.join(', ');
}
