import t from 'tap';
import { native } from '../../lib/binding.js';
import { AdvtrainError } from '../../lib/errors.js';
import { info } from '../../lib/info.js';
import { createModel } from '../../lib/model/model.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
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

t.test('every promise job runs on the one compute thread, queued together or one after another', { skip }, async (t) => {
  // One thread means one malloc arena reused step after step and one OpenMP team kept warm; jobs spread
  // over the libuv pool each kept an arena holding a step's activations (peak RSS ~4x a step's) and a
  // team of their own, so libgomp, seeing more threads than CPUs, put workers to sleep between regions
  // (GEMMs ~1.5x slower than in one PyTorch process, issue #18).
  const together = await Promise.all(Array.from({ length: 8 }, () => native().testing.threadId()));
  const apart: string[] = [];
  for (let i = 0; i < 4; i++) apart.push(await native().testing.threadId());
  t.same(new Set([...together, ...apart]).size, 1, `thread ids ${[...new Set([...together, ...apart])].join(', ')}`);
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

// The native side checks what it reads as raw memory (typed-array lengths against batch x seq) and
// refuses unknown enum strings, so a caller that bypasses lib/'s validation gets ERR_INVALID_ARG.
t.test('native calls refuse short typed arrays and unknown enums with ERR_INVALID_ARG naming the field', { skip }, async (t) => {
  const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 3, seed: 21 });
  t.teardown(() => model.dispose());
  const handle = model._native;
  const good = () => {
    const b = randomBatch({ task: 'sequence-classification', lengths: [5, 3], seqLen: 5, numLabels: 3, seed: 22 });
    return { inputIds: b.inputIds, attentionMask: b.attentionMask, tokenTypeIds: b.tokenTypeIds!, batchSize: 2, seqLen: 5, labels: b.labels };
  };
  const refuses = async (what: string, call: () => unknown, field: RegExp) => {
    const err = await (async () => call())().then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(err instanceof AdvtrainError, `${what}: an AdvtrainError`);
    t.equal((err as AdvtrainError | null)?.code, 'ERR_INVALID_ARG', `${what}: ERR_INVALID_ARG`);
    t.match((err as AdvtrainError | null)?.message, field, `${what}: names the field`);
  };
  t.ok((await handle.forward(good(), {})).logits, 'the well-formed batch runs');

  await refuses('short inputIds', () => handle.forward({ ...good(), inputIds: new Int32Array(3) }, {}), /Expected an Int32Array of length 10 for batch\.inputIds but received Int32Array of length 3/);
  await refuses('short attentionMask', () => handle.forward({ ...good(), attentionMask: new Int32Array(9) }, {}), /batch\.attentionMask/);
  await refuses('short tokenTypeIds', () => handle.forward({ ...good(), tokenTypeIds: new Int32Array(1) }, {}), /batch\.tokenTypeIds/);
  await refuses('a Float32Array as ids', () => handle.forward({ ...good(), inputIds: new Float32Array(10) }, {}), /an Int32Array of length 10 for batch\.inputIds but received Float32Array/);
  await refuses('ids not a typed array', () => handle.forward({ ...good(), inputIds: [1, 2] }, {}), /batch\.inputIds but received an array/);
  await refuses('seqLen larger than the arrays', () => handle.forward({ ...good(), seqLen: 1e6 }, {}), /length 2000000 for batch\.inputIds/);
  await refuses('batchSize not an integer', () => handle.forward({ ...good(), batchSize: 1.5 }, {}), /batch\.batchSize but received 1\.5/);
  await refuses('batchSize zero', () => handle.forward({ ...good(), batchSize: 0 }, {}), /batch\.batchSize/);
  await refuses('short labels', () => handle.forward({ ...good(), labels: new Int32Array(1) }, {}), /length 2 for batch\.labels/);
  await refuses('short token labels', () => handle.forward({ ...good(), labels: new Int32Array(2), tokenLabels: true }, {}), /length 10 for batch\.labels/);
  await refuses('short startPositions', () => handle.forward({ ...good(), startPositions: new Int32Array(1), endPositions: new Int32Array(2) }, {}), /batch\.startPositions/);
  await refuses('endPositions missing', () => handle.forward({ ...good(), startPositions: new Int32Array(2) }, {}), /batch\.endPositions but received undefined/);
  await refuses('short perturbation', () => handle.forward(good(), { perturbation: new Float32Array(4) }), /options\.perturbation/);
  await refuses('batch not an object', () => handle.forward(42 as unknown as object, {}), /for batch but received 42/);
  await refuses('forward precision', () => handle.forward(good(), { precision: 'fp16' }), /one of 'fp32', 'bf16' for options\.precision but received 'fp16'/);
  await refuses('forward attention', () => handle.forward(good(), { attention: 'flash' }), /options\.attention but received 'flash'/);
  await refuses('attack norm', () => handle.attack(good(), { norm: 'l3' }), /options\.norm but received 'l3'/);
  await refuses('attack step', () => handle.attack(good(), { step: 'adam' }), /options\.step/);
  await refuses('attack start', () => handle.attack(good(), { start: 'gauss' }), /options\.start/);
  await refuses('attack short ids', () => handle.attack({ ...good(), inputIds: new Int32Array(2) }, {}), /batch\.inputIds/);

  const cfg = { ...model.config, raw: undefined, id2label: undefined };
  await refuses('createModel dtype', () => native().createModel(cfg, { device: 'cpu', dtype: 'float16', seed: 0 }), /options\.dtype but received 'float16'/);
  await refuses('createModel family', () => native().createModel({ ...cfg, modelType: 'gpt2' }, { device: 'cpu', dtype: 'float32', seed: 0 }), /config\.modelType but received 'gpt2'/);

  const trainer = (config: object) => new (native().NativeTrainer)(handle, { optimizer: {}, scheduler: {}, method: { name: 'pgd' }, skipPadding: false, atomicSteps: true, distributed: false, ...config });
  await refuses('method name', () => trainer({ method: { name: 'fgsm' } }), /method\.name but received 'fgsm'/);
  await refuses('method norm', () => trainer({ method: { name: 'pgd', norm: 'L2' } }), /method\.norm but received 'L2'/);
  await refuses('method noiseType', () => trainer({ method: { name: 'rpt', noiseType: 'gauss' } }), /method\.noiseType/);
  await refuses('method spectralNorm', () => trainer({ method: { name: 'rpt', spectralNorm: 'yes' } }), /a boolean for method\.spectralNorm but received 'yes'/);
  await refuses('method spectralNorm missing', () => trainer({ method: { name: 'rpt' } }), /a boolean for method\.spectralNorm but received undefined/);
  await refuses('distributed missing', () => trainer({ distributed: undefined }), /a boolean for config\.distributed but received undefined/);
  await refuses('skipPadding missing', () => trainer({ skipPadding: undefined }), /a boolean for config\.skipPadding but received undefined/);
  await refuses('atomicSteps missing', () => trainer({ atomicSteps: undefined }), /a boolean for config\.atomicSteps but received undefined/);
  // Without distributed.init(): the process has no group to train or gather with.
  t.throws(() => trainer({ distributed: true, bucketBytes: 1 << 20 }), { code: 'ERR_DISTRIBUTED', message: /has no process group/ });
  await t.rejects(async () => native().distributedAllGather(new Uint8Array(2)), { code: 'ERR_DISTRIBUTED', message: /needs a process group/ });
  // A value of the wrong type is refused, not replaced by a default.
  await refuses('method syncDropout', () => trainer({ method: { name: 'freelb', syncDropout: 'no' } }), /a boolean for syncDropout but received 'no'/);
  await refuses('method steps', () => trainer({ method: { name: 'pgd', steps: '3' } }), /a number for steps but received '3'/);
  await refuses('optimizer lr', () => trainer({ optimizer: { name: 'adamw', lr: '1e-3' } }), /a number for lr but received '1e-3'/);
  await refuses('method attackLoss', () => trainer({ method: { name: 'smart', attackLoss: 'kl' } }), /method\.attackLoss/);
  await refuses('method normalize', () => trainer({ method: { name: 'smart', normalize: 'l3' } }), /method\.normalize/);
  await refuses('method representation', () => trainer({ method: { name: 'creat', representation: 'pooler' } }), /method\.representation/);
  await refuses('optimizer name', () => trainer({ optimizer: { name: 'adam' } }), /optimizer\.name but received 'adam'/);
  await refuses('scheduler name', () => trainer({ scheduler: { name: 'step' } }), /scheduler\.name/);
  await refuses('precision', () => trainer({ precision: 'fp16' }), /for precision but received 'fp16'/);
  await refuses('method not an object', () => trainer({ method: 'pgd' }), /config\.method but received 'pgd' of type string/);
  const tr = trainer({});
  t.teardown(() => tr.dispose());
  await refuses('no micro-batches', () => tr.step([]), /a non-empty array of batches for batches but received an array/);
  await refuses('step short ids', () => tr.step([good(), { ...good(), inputIds: new Int32Array(7) }]), /batches\[1\]\.inputIds/);
  t.equal(tr.stepCount, 0, 'refused steps changed nothing');
  t.ok((await tr.step([good()])).metrics, 'a well-formed step still runs');

  await refuses('loadTensors not an array', () => handle.loadTensors(7 as never), /an array of tensor sources for entries but received 7/);
  const source = { param: 'bert.pooler.dense.bias', file: '/nonexistent', key: 'k', dtype: 'F32', shape: [32], begin: 0, end: 128 };
  await refuses('loadTensors shape', () => handle.loadTensors([{ ...source, shape: 32 as never }]), /entries\[0\]\.shape/);
  await refuses('loadTensors negative size', () => handle.loadTensors([{ ...source, shape: [-4] }]), /entries\[0\]\.shape\[0\] but received -4/);
  await refuses('loadTensors offset', () => handle.loadTensors([{ ...source, end: -1 }]), /entries\[0\]\.end but received -1/);
  await refuses('loadTensors param', () => handle.loadTensors([{ ...source, param: 3 as never }]), /a string for entries\[0\]\.param/);
  await refuses('save path', () => handle.save(5 as never, []), /a file path for path but received 5/);
  await refuses('save metadata', () => handle.save('/nonexistent/x', [['a', 1 as never]]), /metadata\[0\]\[1\]/);
  await refuses('loadState entries', () => tr.loadState([{ ...source, file: undefined as never }]), /entries\[0\]\.file but received undefined/);
  await refuses('saveState path', () => tr.saveState(42 as never), /a file path or null for path but received 42/);

  await refuses('kernelCheck dtype', () => native().testing.kernelCheck('ascendProject', { dtype: 'float16' } as never), /options\.dtype but received 'float16'/);
  await refuses('kernelCheck norm', () => native().testing.kernelCheck('ascendProject', { norm: 'l1' } as never), /options\.norm/);
  await refuses('kernelCheck detach', () => native().testing.kernelCheck('ascendProject', { detach: 'all' } as never), /options\.detach/);
  await refuses('kernelCheck n', () => native().testing.kernelCheck('ascendProject', { n: -1 } as never), /options\.n but received -1/);
  const toy = { objective: 'quadratic' as const, l: 3, d: 2, lengths: new Int32Array([3, 2]), weights: new Float32Array(6).fill(1), clean: new Float32Array(2), options: { epsilon: 1, steps: 2 } };
  t.ok(await native().testing.attackCheck(toy), 'the well-formed toy runs');
  await refuses('attackCheck short weights', () => native().testing.attackCheck({ ...toy, weights: new Float32Array(5) }), /length 6 for spec\.weights/);
  await refuses('attackCheck short clean', () => native().testing.attackCheck({ ...toy, clean: new Float32Array(1) }), /length 2 for spec\.clean/);
  await refuses('attackCheck labels', () => native().testing.attackCheck({ ...toy, objective: 'linear', clean: new Float32Array(4), weights: new Float32Array(12), labels: new Int32Array(1) }), /length 2 for spec\.labels/);
  await refuses('attackCheck objective', () => native().testing.attackCheck({ ...toy, objective: 'cubic' as never }), /spec\.objective but received 'cubic'/);
  await refuses('attackCheck norm', () => native().testing.attackCheck({ ...toy, options: { norm: 'l0' } }), /options\.norm but received 'l0'/);
});
