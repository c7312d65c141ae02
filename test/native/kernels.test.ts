// The fused kernels' CPU twins against their float64 ATen references: fp32 within 1e-5, bf16 within 1e-2
// (worst row, relative), gradients of the autograd functions against autograd through the reference.
import t from 'tap';
import { KERNEL_CASES, KERNEL_DTYPES, KERNEL_SHAPES, describeKernelResult, kernelProblems, runKernelCase } from '../../bench/kernel-cases.js';
import { native } from '../../lib/binding.js';
import { AdvtrainError } from '../../lib/errors.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

KERNEL_CASES.forEach((c, i) => {
  t.test(`${c.label} matches its reference`, { skip }, async (t) => {
    for (const [j, shape] of KERNEL_SHAPES.entries()) {
      for (const dtype of KERNEL_DTYPES) {
        const r = await runKernelCase(c, shape, dtype, 'cpu', 100 * i + j);
        t.same(kernelProblems(c, dtype, r), [], `${shape.label} [${shape.n}, ${shape.l}, ${shape.d}] ${dtype}: ${describeKernelResult(r)}`);
      }
    }
  });
});

// torch 2 differentiates a clamped norm differently: the written-out reference keeps 1.13's gradient.
const torchVersion = skip ? '' : native().info().torchVersion;
const on113 = skip || (torchVersion.startsWith('1.13') ? false : `libtorch ${torchVersion}, not 1.13`);

t.test("the cosine's written-out reference is libtorch 1.13's at::cosine_similarity", { skip: on113 }, async (t) => {
  for (const cls of [false, true]) {
    const r = await native().testing.kernelCheck('representationCosine', { n: 6, l: 9, d: 33, cls, seed: 3 });
    t.ok(r.builtinError! < 1e-9, `${cls ? 'cls' : 'tokens'}: ${r.builtinError}`);
  }
});

t.test('a different seed draws different inputs', { skip }, async (t) => {
  const c = KERNEL_CASES[0]!;
  const a = await runKernelCase(c, KERNEL_SHAPES[0]!, 'float32', 'cpu', 1);
  const b = await runKernelCase(c, KERNEL_SHAPES[0]!, 'float32', 'cpu', 2);
  const again = await runKernelCase(c, KERNEL_SHAPES[0]!, 'float32', 'cpu', 1);
  t.not(a.absError, b.absError);
  t.equal(again.absError, a.absError, 'the same seed, the same inputs and result');
});

t.test('an unknown kernel is refused', { skip }, async (t) => {
  const err = await native()
    .testing.kernelCheck('nope' as never, { n: 2, l: 2, d: 2 })
    .then(
      () => null,
      (e: unknown) => e,
    );
  t.ok(err instanceof AdvtrainError);
  t.equal((err as AdvtrainError).code, 'ERR_INVALID_ARG');
  t.match((err as AdvtrainError).message, /no kernel named 'nope'/);
});
