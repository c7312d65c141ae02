import t from 'tap';
import { native } from '../../lib/binding.js';
import { AdvtrainError } from '../../lib/errors.js';
import { info } from '../../lib/info.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

t.test('info() describes the build', { skip }, async (t) => {
  const i = info();
  t.match(i.version, /^\d+\.\d+\.\d+/);
  t.match(i.torchVersion, /^\d+\.\d+/);
  t.type(i.cuda, 'boolean');
  t.equal(i.napiVersion, 8);
  t.ok(i.numThreads >= 1);
  t.equal(i.devices.length, i.cudaDeviceCount);
  if (!i.cuda) t.equal(i.cudaDeviceCount, 0);
});

t.test('a long native call leaves the event loop free', { skip }, async (t) => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const t0 = performance.now();
  const res = await native().matmulBench(768, 40, 'cpu');
  const elapsed = performance.now() - t0;
  clearInterval(timer);
  t.ok(res.gflops > 0);
  // The timer must fire while the worker runs; a blocking call would give at most one tick.
  t.ok(ticks >= Math.min(5, Math.floor(elapsed / 4)), `timer ticked ${ticks} times during ${elapsed.toFixed(0)} ms`);
  t.ok(elapsed > 10, 'the call took measurable time');
});

t.test('native exceptions arrive as AdvtrainError with the right code', { skip }, async (t) => {
  const cases: [string, string, RegExp][] = [
    ['c10', 'ERR_NATIVE', /shape mismatch raised for test/],
    ['index', 'ERR_INVALID_ARG', /out of bounds/],
    ['value', 'ERR_INVALID_ARG', /bad value/],
    ['cuda-oom', 'ERR_CUDA_OOM', /CUDA out of memory/],
    ['legacy-cuda-oom', 'ERR_CUDA_OOM', /CUDA out of memory/],
    ['bad-alloc', 'ERR_OOM', /host memory/],
    ['std', 'ERR_NATIVE', /std::runtime_error raised/],
    ['checkpoint', 'ERR_CHECKPOINT', /model.safetensors/],
    ['real-shape', 'ERR_NATIVE', /mat1 and mat2 shapes cannot be multiplied/],
    ['unknown', 'ERR_NATIVE', /unknown native exception/],
  ];
  for (const [kind, code, message] of cases) {
    const err = await native().testing.raise(kind).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof AdvtrainError, `${kind}: an AdvtrainError`);
    t.equal((err as AdvtrainError).code, code, `${kind}: code`);
    t.match((err as AdvtrainError).message, message, `${kind}: message`);
    t.notMatch((err as AdvtrainError).message, /Exception raised from|frame #/, `${kind}: no C++ backtrace`);
  }
});
