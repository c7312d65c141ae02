import t from 'tap';
import { BatchLoader, batchOrder, type BatchOrderOptions } from '../../lib/data/batching.js';

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const lengthsOf = (n: number): number[] => Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 23));

/** Every rank's order for an epoch. */
function ranks(lengths: number[], epoch: number, options: BatchOrderOptions, worldSize: number): number[][][] {
  return Array.from({ length: worldSize }, (_, rank) => batchOrder(lengths, epoch, { ...options, shard: { rank, worldSize } }));
}

t.test('shard: rank r takes positions r, r + W, ... of each global batch; the incomplete one padded from the start of the permutation', async (t) => {
  const lengths = [5, 9, 3, 7, 2, 8];
  const opts = { batchSize: 2, shuffle: false };
  t.same(batchOrder(lengths, 0, { ...opts, shard: { rank: 0, worldSize: 2 } }), [[0, 2], [4]], 'the TSDoc example');
  t.same(batchOrder(lengths, 0, { ...opts, shard: { rank: 1, worldSize: 2 } }), [[1, 3], [5]]);
  // 7 items, 3 ranks of 2: global batches [0..5] and [6], the latter padded with 0 and 1.
  t.same(ranks(lengthsOf(7), 0, opts, 3), [
    [[0, 3], [6]],
    [[1, 4], [0]],
    [[2, 5], [1]],
  ]);
  // Fewer items than ranks: the padding cycles through the permutation, as DistributedSampler's.
  t.same(ranks([4], 0, opts, 4), [[[0]], [[0]], [[0]], [[0]]]);
  t.same(ranks([4, 4], 0, { ...opts, batchSize: 3 }, 3), [[[0]], [[1]], [[0]]]);
  t.same(batchOrder([], 0, { batchSize: 2, shard: { rank: 1, worldSize: 2 } }), []);
});

t.test('shard: the W ranks together read the single-process batches of W * batchSize, in every setting', async (t) => {
  let cases = 0;
  let paddedBatches = 0;
  for (const n of [1, 5, 24, 37, 100]) {
    for (const worldSize of [1, 2, 3, 4]) {
      for (const batchSize of [1, 3, 5]) {
        for (const extra of [{}, { shuffle: false }, { bucket: 2 }, { bucket: true }, { dropLast: true }, { bucket: 3, dropLast: true }] as Partial<BatchOrderOptions>[]) {
          const opts: BatchOrderOptions = { batchSize, seed: 11, ...extra };
          const lengths = lengthsOf(n);
          const epoch = 2;
          const single = batchOrder(lengths, epoch, { ...opts, batchSize: worldSize * batchSize });
          const shards = ranks(lengths, epoch, opts, worldSize);
          const at = `n ${n}, W ${worldSize}, B ${batchSize}, ${JSON.stringify(extra)}`;
          cases++;
          // Equal batch counts and equal sizes on every rank.
          if (!shards.every((s) => s.length === single.length)) t.fail(`batch counts differ (${at})`);
          const flatSingle = single.flat();
          for (let i = 0; i < single.length; i++) {
            const size = shards[0]![i]!.length;
            if (!shards.every((s) => s[i]!.length === size)) t.fail(`batch ${i} sizes differ across ranks (${at})`);
            const union = shards.flatMap((s) => s[i]!);
            const want = single[i]!;
            const short = (worldSize - (want.length % worldSize)) % worldSize;
            // With no bucketing the permutation is the single order flattened: padding is its head.
            const pad = extra.bucket === undefined ? Array.from({ length: short }, (_, k) => flatSingle[k % flatSingle.length]!) : undefined;
            if (want.length < worldSize * batchSize && opts.dropLast) t.fail(`an incomplete batch with dropLast (${at})`);
            if (size !== Math.ceil(want.length / worldSize)) t.fail(`batch ${i} has ${size} items per rank (${at})`);
            if (short === 0) {
              // No padding: exactly the single-process batch, split by position.
              if (JSON.stringify(sorted(union)) !== JSON.stringify(sorted(want))) t.fail(`batch ${i} union differs from the single-process batch (${at})`);
              // Exactly the positions r, r + W, ...
              for (let r = 0; r < worldSize; r++) {
                if (JSON.stringify(shards[r]![i]) !== JSON.stringify(want.filter((_, k) => k % worldSize === r))) t.fail(`rank ${r} batch ${i} is not positions r::W (${at})`);
              }
            } else {
              paddedBatches++;
              if (union.length !== want.length + short) t.fail(`padded batch ${i} holds ${union.length} items (${at})`);
              // As a multiset: the batch plus `short` padding items.
              const rest = [...union];
              for (const x of want) rest.splice(rest.indexOf(x), 1);
              if (rest.length !== short || rest.some((x) => x < 0 || x >= n)) t.fail(`padding of batch ${i} is not ${short} item(s) (${at})`);
              if (pad && JSON.stringify(sorted(rest)) !== JSON.stringify(sorted(pad))) t.fail(`padding of batch ${i} is not the head of the permutation (${at})`);
            }
          }
          // Disjoint within the epoch, apart from the padding: every item at most once, plus the padding.
          const all = shards.flat(2);
          const distinct = new Set(all);
          const padded = all.length - flatSingle.length;
          if (distinct.size !== new Set(flatSingle).size || padded < 0 || padded >= worldSize) t.fail(`shards overlap beyond the padding (${at})`);
          if (!opts.dropLast && distinct.size !== n) t.fail(`not every item is read in the epoch (${at})`);
        }
      }
    }
  }
  t.equal(cases, 360);
  t.ok(paddedBatches > 50, `padding exercised (${paddedBatches} padded batches)`);
  t.pass('all settings checked');
});

t.test('shard: worldSize 1 is the unsharded order; the shuffle follows seed and epoch', async (t) => {
  const lengths = lengthsOf(50);
  const opts = { batchSize: 4, seed: 3, bucket: 2 };
  t.same(batchOrder(lengths, 5, { ...opts, shard: { rank: 0, worldSize: 1 } }), batchOrder(lengths, 5, opts));
  const a = ranks(lengths, 5, opts, 2);
  t.same(ranks(lengths, 5, opts, 2), a, 'a pure function');
  t.notSame(ranks(lengths, 6, opts, 2), a, 'another epoch, another order');
  t.notSame(ranks(lengths, 5, { ...opts, seed: 4 }, 2), a, 'another seed, another order');
});

t.test('BatchLoader with shard: equal batchesPerEpoch on every rank, resumes exactly', async (t) => {
  const items = lengthsOf(23).map((length, id) => ({ id, length }));
  const worldSize = 3;
  const opts = { batchSize: 2, seed: 9, bucket: 2 };
  const loaders = Array.from({ length: worldSize }, (_, rank) => new BatchLoader(items, (xs) => xs.map((x) => x.id), { ...opts, shard: { rank, worldSize } }));
  // 23 items in global batches of 6: 3 full and one of 5, padded to 6.
  t.same(loaders.map((l) => l.batchesPerEpoch), [4, 4, 4]);
  t.same(loaders.map((l) => l.batchSize), [2, 2, 2], 'batchSize is per rank');
  t.same(loaders[1]!.shard, { rank: 1, worldSize: 3 });
  t.equal(new BatchLoader(items, (xs) => xs, opts).shard, undefined);
  for (const extra of [{}, { bucket: false, shuffle: false, dropLast: true }, { bucket: true }]) {
    const plain = new BatchLoader(items, (xs) => xs.map((x) => x.id), { ...opts, ...extra });
    const direct = new BatchLoader(items, (xs) => xs.map((x) => x.id), { ...opts, ...extra, shard: { rank: 2, worldSize } });
    const derived = plain.withShard({ rank: 2, worldSize });
    t.same([derived.batchesPerEpoch, derived.batchSize, derived.shard], [direct.batchesPerEpoch, 2, { rank: 2, worldSize }]);
    t.same([...derived.iterate(2)], [...direct.iterate(2)], `withShard is the loader built with shard (${JSON.stringify(extra)})`);
  }
  t.throws(() => loaders[0]!.withShard({ rank: 3, worldSize }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.rank/ });
  t.same(new BatchLoader(items, (xs) => xs, { ...opts, dropLast: true, shard: { rank: 2, worldSize } }).batchesPerEpoch, 3);
  for (const [rank, loader] of loaders.entries()) {
    t.equal(loader.order(1).length, loader.batchesPerEpoch);
    t.same(loader.order(1), batchOrder(items.map((x) => x.length), 1, { ...opts, shard: { rank, worldSize } }));
    const all = [...loader.iterate(3)];
    t.equal(all.length, 3 * loader.batchesPerEpoch);
    t.same([...loader.iterate(3, { epoch: 1, batchIndex: 2 })], all.slice(loader.batchesPerEpoch + 2), `rank ${rank} resumes mid-epoch`);
    t.same(all.filter((s) => s.epoch === 2).map((s) => s.batch), loader.order(2));
  }
  // The union of the ranks' collated batch i is the single-process batch i of 6.
  const single = new BatchLoader(items, (xs) => xs.map((x) => x.id), { ...opts, batchSize: 6 });
  const firstRanks = loaders.map((l) => [...l.epoch(0)]);
  [...single.epoch(0)].forEach((s, i) => {
    const union = firstRanks.flatMap((steps) => steps[i]!.batch);
    if (s.batch.length === 6) t.same(sorted(union), sorted(s.batch), `batch ${i}`);
    else t.ok(s.batch.every((x) => union.includes(x)) && union.length === 6, `padded batch ${i}`);
  });
});

t.test('shard: validated', async (t) => {
  const lengths = [1, 2, 3];
  const bad = (shard: unknown) => batchOrder(lengths, 0, { batchSize: 1, shard } as BatchOrderOptions);
  t.throws(() => bad({ rank: 2, worldSize: 2 }), { code: 'ERR_INVALID_ARG', message: /Expected an integer >= 0 and <= 1 for options\.shard\.rank but received 2/ });
  t.throws(() => bad({ rank: -1, worldSize: 2 }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.rank/ });
  t.throws(() => bad({ rank: 0.5, worldSize: 2 }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.rank/ });
  t.throws(() => bad({ rank: 0, worldSize: 0 }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.worldSize/ });
  t.throws(() => bad({ rank: 0, worldSize: 1.5 }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.worldSize/ });
  t.throws(() => bad({ rank: 0 }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.worldSize/ });
  t.throws(() => bad({ rank: 0, worldSize: 2, size: 2 }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.size/ });
  t.throws(() => bad([0, 2]), { code: 'ERR_INVALID_ARG', message: /options\.shard/ });
  t.throws(() => new BatchLoader([{ length: 1 }], (xs) => xs, { batchSize: 1, shard: { rank: 1, worldSize: 1 } }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.rank/ });
});
