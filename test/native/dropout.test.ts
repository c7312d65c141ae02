// The CPU dropout mask (native/model/layers.cc dropoutMaskCpu): a counter-based stream seeded once per
// mask from the trainer's generator, drawn in parallel. It must keep 1 - p of the elements at 1 / (1 - p),
// repeat exactly from the same generator state whatever the thread count, and differ from call to call.
import t from 'tap';
import { native } from '../../lib/binding.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

t.test('the CPU dropout mask keeps 1 - p at 1 / (1 - p), reproducibly', { skip }, async (t) => {
  const n = 1 << 20;
  for (const [p, seed] of [[0.1, 1], [0.5, 77], [0.9, 12345]] as const) {
    const s = await native().testing.dropoutCheck(n, p, seed);
    // Binomial standard deviation at n = 2^20 is <= 5e-4: 5 sigma.
    t.ok(Math.abs(s.keptFraction - (1 - p)) < 2.5e-3, `p ${p}: kept ${s.keptFraction}, expected ${1 - p}`);
    t.ok(Math.abs(s.keptMin - 1 / (1 - p)) < 1e-5 && Math.abs(s.keptMax - 1 / (1 - p)) < 1e-5, `p ${p}: kept values ${s.keptMin}..${s.keptMax}, expected ${1 / (1 - p)}`);
    t.equal(s.sameSeedMaxDiff, 0, `p ${p}: the same generator state gives the same mask`);
    t.equal(s.oneThreadMaxDiff, 0, `p ${p}: one thread draws the same mask as several`);
    // Two independent masks agree where both keep or both drop: (1-p)^2 + p^2 of the elements.
    const agree = (1 - p) ** 2 + p ** 2;
    t.ok(Math.abs(s.nextMatchFraction - agree) < 2.5e-3, `p ${p}: the next mask is independent (agreement ${s.nextMatchFraction}, expected ${agree})`);
  }
});
