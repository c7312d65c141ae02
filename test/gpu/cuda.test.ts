import t from 'tap';
import { native } from '../../lib/binding.js';
import { info } from '../../lib/info.js';
import { cudaSkipReason } from '../helpers/native.js';

const skip = cudaSkipReason();

t.test('info() reports the CUDA devices', { skip }, async (t) => {
  const i = info();
  t.equal(i.cuda, true);
  t.ok(i.cudaDeviceCount >= 1);
  t.match(i.devices[0]!.name, /\S/);
  t.ok(i.devices[0]!.totalMemoryMB > 1024);
  console.log(JSON.stringify(i));
});

t.test('a CUDA matmul runs and is timed', { skip }, async (t) => {
  const r = await native().matmulBench(4096, 10, 'cuda');
  t.ok(r.gflops > 1000, `${r.gflops.toFixed(0)} GFLOP/s`);
});
