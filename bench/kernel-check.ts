/**
 * Runs every fused-kernel check (bench/kernel-cases.ts) on one device without tap: one JSON line per
 * result, exit status 1 when any fails. For the GPU machine, where dev dependencies do not travel;
 * bench/gpu-memcheck.sh runs it under compute-sanitizer.
 * Usage: node dist/bench/kernel-check.js [--device cuda]
 */
import { KERNEL_CASES, KERNEL_DTYPES, KERNEL_SHAPES, kernelProblems, runKernelCase } from './kernel-cases.js';

const at = process.argv.indexOf('--device');
const device = at >= 0 ? process.argv[at + 1]! : 'cuda';
let failed = 0;
let seed = 0;
for (const c of KERNEL_CASES) {
  for (const shape of KERNEL_SHAPES) {
    for (const dtype of KERNEL_DTYPES) {
      const result = await runKernelCase(c, shape, dtype, device, ++seed);
      const problems = kernelProblems(c, dtype, result);
      if (problems.length) failed++;
      console.log(JSON.stringify({ kernel: c.label, shape: shape.label, dtype, device, ok: problems.length === 0, problems, ...result }));
    }
  }
}
console.log(JSON.stringify({ summary: true, device, failed }));
process.exit(failed ? 1 : 0);
