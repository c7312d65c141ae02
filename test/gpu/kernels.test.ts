// The fused CUDA kernels against their float64 ATen references (as test/native/kernels.test.ts on the
// CPU twins); bench/gpu-memcheck.sh runs the same checks under compute-sanitizer.
import t from 'tap';
import { KERNEL_CASES, KERNEL_DTYPES, KERNEL_SHAPES, describeKernelResult, kernelProblems, runKernelCase } from '../../bench/kernel-cases.js';
import { cudaSkipReason } from '../helpers/native.js';

const skip = cudaSkipReason();

KERNEL_CASES.forEach((c, i) => {
  t.test(`${c.label} matches its reference on CUDA`, { skip }, async (t) => {
    for (const [j, shape] of KERNEL_SHAPES.entries()) {
      for (const dtype of KERNEL_DTYPES) {
        const r = await runKernelCase(c, shape, dtype, 'cuda', 100 * i + j);
        t.same(kernelProblems(c, dtype, r), [], `${shape.label} [${shape.n}, ${shape.l}, ${shape.d}] ${dtype}: ${describeKernelResult(r)}`);
      }
    }
  });
});

t.test('the CUDA kernels are deterministic (fixed-order reductions)', { skip }, async (t) => {
  for (const c of KERNEL_CASES) {
    const a = await runKernelCase(c, KERNEL_SHAPES[3]!, 'float32', 'cuda', 7);
    const b = await runKernelCase(c, KERNEL_SHAPES[3]!, 'float32', 'cuda', 7);
    t.same(b, a, c.label);
  }
});
