import t from 'tap';
import { cudaSkipReason } from '../helpers/native.js';
import { gpuChecks } from './checks.js';

const skip = cudaSkipReason();

for (const check of gpuChecks) {
  t.test(check.name, { skip }, async (t) => {
    t.comment(await check.run());
    t.pass(check.name);
  });
}
