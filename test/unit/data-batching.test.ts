import t from 'tap';
import {
  alignTokenLabels,
  BatchLoader,
  batchOrder,
  collateChoices,
  collateTagged,
  collateTexts,
  encodeChoices,
  encodeTagged,
  encodeTexts,
  IGNORE_INDEX,
  truncateEncoding,
  type EncodeFn,
  type EncodeWordsFn,
  type TokenIds,
} from '../../lib/data/batching.js';
import { Random } from '../../lib/data/random.js';

const CLS = 101;
const SEP = 102;
const PAD = 0;

// A toy BERT-style encoder: the i-th word of the first text is 1000 + i, of the second 2000 + i.
const words = (s: string): string[] => s.split(' ').filter((w) => w !== '');
const encode: EncodeFn = (a, b) => {
  const ids = [CLS, ...words(a).map((_, i) => 1000 + i), SEP];
  const typeIds = ids.map(() => 0);
  if (b !== undefined) {
    const second = [...words(b).map((_, i) => 2000 + i), SEP];
    ids.push(...second);
    typeIds.push(...second.map(() => 1));
  }
  return { ids, typeIds };
};
const text = (n: number, w = 'w'): string => Array.from({ length: n }, () => w).join(' ');

t.test('Random: xoshiro128** matches the C reference, with this seeding', async (t) => {
  // Values printed by the reference C code (prng.di.unimi.it/xoshiro128starstar.c) seeded as documented.
  const first5 = (seed: number, stream: number) => {
    const r = new Random(seed, stream);
    return Array.from({ length: 5 }, () => r.nextUint32());
  };
  t.same(first5(0, 0), [3436523604, 2882043811, 1025816213, 760847818, 1277938909]);
  t.same(first5(42, 0), [1740362944, 14790634, 3763775506, 1514773272, 2204871080]);
  t.same(first5(42, 1), [638055119, 1919627676, 4207169390, 2404119663, 2490153970]);
  t.same(first5(4294967295, 7), [592692570, 320583138, 3589763496, 2278742822, 3402560617]);
  t.same(new Random(7, 0).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), [0, 2, 6, 5, 1, 9, 7, 3, 4, 8], 'same shuffle as the C reference');
  const r = new Random(1);
  for (let i = 0; i < 1000; i++) {
    const x = r.next();
    const k = r.below(7);
    if (!(x >= 0 && x < 1 && Number.isInteger(k) && k >= 0 && k < 7)) t.fail(`out of range: ${x} ${k}`);
  }
  t.throws(() => new Random(-1), { code: 'ERR_INVALID_ARG', message: /for seed/ });
  t.throws(() => new Random(1.5), { code: 'ERR_INVALID_ARG' });
});

t.test('truncation: longest_first as Hugging Face tokenizers, special tokens kept', async (t) => {
  const kept = (n1: number, n2: number, maxLength: number): [number, number] => {
    const enc = truncateEncoding(encode(text(n1), text(n2)), maxLength, true);
    t.equal(enc.ids.length, Math.min(n1 + n2 + 3, maxLength));
    t.equal(enc.ids.filter((x) => x === CLS || x === SEP).length, 3, 'specials kept');
    return [enc.ids.filter((x) => x >= 1000 && x < 2000).length, enc.ids.filter((x) => x >= 2000).length];
  };
  t.same(kept(3, 10, 11), [3, 5], 'shorter fits: the longer gets the rest');
  t.same(kept(10, 10, 10), [3, 4], 'tie: halves, the odd token to the second');
  t.same(kept(12, 10, 10), [4, 3], 'halves, the odd token to the longer');
  t.same(kept(5, 4, 10), [4, 3]);
  t.same(kept(0, 5, 5), [0, 2], 'empty first text');
  t.same(kept(2, 2, 100), [2, 2], 'fits: untouched');

  const single = truncateEncoding(encode(text(10)), 5, false);
  t.same(single, { ids: [CLS, 1000, 1001, 1002, SEP], typeIds: [0, 0, 0, 0, 0] });
  const fits = encode(text(2));
  t.equal(truncateEncoding(fits, 4, false), fits, 'returned as is when it fits');

  // RoBERTa-like: <s> a </s></s> b </s>, all type ids 0, specials given by the mask.
  const roberta: TokenIds = { ids: [0, 5, 6, 7, 2], typeIds: [0, 0, 0, 0, 0], specialTokensMask: [1, 0, 0, 0, 1] };
  t.same(truncateEncoding(roberta, 4, false), { ids: [0, 5, 6, 2], typeIds: [0, 0, 0, 0], specialTokensMask: [1, 0, 0, 1] });
  t.throws(() => truncateEncoding({ ids: [0, 5, 2, 2, 6, 2], typeIds: [0, 0, 0, 0, 0, 0], specialTokensMask: [1, 0, 1, 1, 0, 1] }, 5, true), {
    code: 'ERR_INVALID_ARG',
    message: /type ids are all equal/,
  });
  t.throws(() => truncateEncoding(encode(text(3), text(3)), 2, true), { code: 'ERR_INVALID_ARG', message: /Expected an integer >= 3 \(the special tokens alone\) for maxLength/ });
});

t.test('text batches: dynamic padding, masks, type ids, int or float labels', async (t) => {
  const encoded = encodeTexts(
    [
      { text: 'a b', textPair: 'c', label: 1 },
      { text: text(20), label: 0 },
      { text: 'x', textPair: 'y z', label: 1 },
    ],
    encode,
    { maxLength: 8 },
  );
  t.same(
    encoded.map((e) => e.length),
    [6, 8, 6],
  );
  const batch = collateTexts(encoded, { padId: PAD });
  t.equal(batch.batchSize, 3);
  t.equal(batch.seqLen, 8);
  t.same(Array.from(batch.inputIds.subarray(0, 8)), [CLS, 1000, 1001, SEP, 2000, SEP, PAD, PAD]);
  t.same(Array.from(batch.attentionMask.subarray(0, 8)), [1, 1, 1, 1, 1, 1, 0, 0]);
  t.same(Array.from(batch.tokenTypeIds.subarray(0, 8)), [0, 0, 0, 0, 1, 1, 0, 0]);
  t.same(Array.from(batch.inputIds.subarray(8, 16)), [CLS, 1000, 1001, 1002, 1003, 1004, 1005, SEP], 'truncated to maxLength');
  t.ok(batch.labels instanceof Int32Array);
  t.same(Array.from(batch.labels!), [1, 0, 1]);

  const short = collateTexts([encoded[0]!], { padId: 7 });
  t.equal(short.seqLen, 6, 'padded to the batch, not to maxLength');
  const reg = collateTexts(
    encodeTexts([{ text: 'a', label: 3.8 }, { text: 'b c', label: 0.25 }], encode),
    { padId: PAD, task: 'regression' },
  );
  t.ok(reg.labels instanceof Float32Array);
  t.same(Array.from(reg.labels!), [Math.fround(3.8), 0.25]);
  t.same(Array.from(reg.inputIds), [CLS, 1000, SEP, PAD, CLS, 1000, 1001, SEP], 'pad id fills the tail');
  t.notOk('labels' in collateTexts(encodeTexts([{ text: 'a' }], encode), { padId: PAD }), 'no labels, no labels key');

  t.throws(() => collateTexts(encodeTexts([{ text: 'a', label: 1 }, { text: 'b' }], encode), { padId: 0 }), { code: 'ERR_INVALID_ARG', message: /items\[1\]\.label/ });
  t.throws(() => collateTexts(encodeTexts([{ text: 'a', label: 1.5 }], encode), { padId: 0 }), { code: 'ERR_INVALID_ARG', message: /an integer >= 0 for items\[0\]\.label/ });
  t.throws(() => collateTexts([], { padId: 0 }), { code: 'ERR_INVALID_ARG', message: /non-empty array for items/ });
  t.throws(() => encodeTexts([{ text: 'a' }], () => ({ ids: [1, 2], typeIds: [0] })), { code: 'ERR_INVALID_ARG', message: /encode\(examples\[0\]\)\.typeIds/ });
});

t.test('multiple-choice batches: batchSize x numChoices x seqLen', async (t) => {
  const encoded = encodeChoices(
    [
      { context: 'c1 c2', choices: ['a', 'b b', 'c'], label: 2 },
      { context: 'd', choices: ['e e e', 'f', 'g'], label: 0 },
    ],
    encode,
  );
  t.same(
    encoded.map((e) => e.length),
    [7, 7],
    'length of the longest choice',
  );
  const batch = collateChoices(encoded, { padId: PAD });
  t.same([batch.batchSize, batch.numChoices, batch.seqLen], [2, 3, 7]);
  t.equal(batch.inputIds.length, 2 * 3 * 7);
  const row = (a: Int32Array, b: number, c: number) => Array.from(a.subarray((b * 3 + c) * 7, (b * 3 + c + 1) * 7));
  t.same(row(batch.inputIds, 0, 0), [CLS, 1000, 1001, SEP, 2000, SEP, PAD]);
  t.same(row(batch.inputIds, 1, 0), [CLS, 1000, SEP, 2000, 2001, 2002, SEP]);
  t.same(row(batch.inputIds, 1, 1), [CLS, 1000, SEP, 2000, SEP, PAD, PAD]);
  t.same(row(batch.attentionMask, 1, 1), [1, 1, 1, 1, 1, 0, 0]);
  t.same(row(batch.tokenTypeIds, 1, 1), [0, 0, 0, 1, 1, 0, 0]);
  t.same(Array.from(batch.labels!), [2, 0]);
  t.throws(() => collateChoices([encoded[0]!, { choices: encoded[1]!.choices.slice(1), length: 7 }], { padId: 0 }), {
    code: 'ERR_INVALID_ARG',
    message: /array of length 3 \(as items\[0\]\.choices\) for items\[1\]\.choices/,
  });
});

t.test('token classification: first sub-word labelled, the rest, specials and padding -100', async (t) => {
  t.same(alignTokenLabels([3, 4], [null, 0, 1, 1, null]), [IGNORE_INDEX, 3, 4, IGNORE_INDEX, IGNORE_INDEX]);
  t.throws(() => alignTokenLabels([3], [null, 1, null]), { code: 'ERR_INVALID_ARG', message: /word index in \[0, 0\] or null for wordIds\[1\]/ });

  // Words longer than 3 characters become two sub-words.
  const encodeWords: EncodeWordsFn = (ws) => {
    const ids = [CLS];
    const wordIds: (number | null)[] = [null];
    ws.forEach((w, i) => {
      for (let k = 0; k < (w.length > 3 ? 2 : 1); k++) {
        ids.push(3000 + i * 10 + k);
        wordIds.push(i);
      }
    });
    ids.push(SEP);
    wordIds.push(null);
    return { ids, typeIds: ids.map(() => 0), wordIds };
  };
  const tagList = ['O', 'B-PER', 'I-PER'];
  const encoded = encodeTagged(
    [
      { tokens: ['Paris', 'Hilton', 'is'], tags: ['B-PER', 'I-PER', 'O'] },
      { tokens: ['Hi'], tags: ['O'] },
    ],
    encodeWords,
    tagList,
    { maxLength: 6 },
  );
  t.same(encoded[0], { ids: [CLS, 3000, 3001, 3010, 3011, SEP], typeIds: [0, 0, 0, 0, 0, 0], labels: [-100, 1, -100, 2, -100, -100], length: 6 }, 'truncated, [SEP] kept');
  const batch = collateTagged(encoded, { padId: PAD });
  t.same([batch.batchSize, batch.seqLen], [2, 6]);
  t.same(Array.from(batch.labels.subarray(6)), [-100, 0, -100, -100, -100, -100]);
  t.same(Array.from(batch.attentionMask.subarray(6)), [1, 1, 1, 0, 0, 0]);
  t.throws(() => encodeTagged([{ tokens: ['x'], tags: ['B-LOC'] }], encodeWords, tagList), { code: 'ERR_INVALID_ARG', message: /tag of tagList for sentences\[0\]\.tags\[0\]/ });
});

t.test('batch order: every example once, sizes, dropLast, no shuffle', async (t) => {
  const lengths = Array.from({ length: 10 }, (_, i) => i);
  t.same(batchOrder(lengths, 0, { batchSize: 3, shuffle: false }), [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]);
  t.same(batchOrder(lengths, 0, { batchSize: 3, shuffle: false, dropLast: true }), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  t.same(batchOrder([], 0, { batchSize: 3 }), []);
  // The C reference's shuffle of 0..9 with seed 7, stream (epoch) 0.
  t.same(batchOrder(lengths, 0, { batchSize: 10, seed: 7 }), [[0, 2, 6, 5, 1, 9, 7, 3, 4, 8]]);
  const order = batchOrder(Array.from({ length: 103 }, () => 1), 2, { batchSize: 8, seed: 3 });
  t.same(
    order.flat().sort((a, b) => a - b),
    Array.from({ length: 103 }, (_, i) => i),
  );
  t.same(
    order.map((b) => b.length),
    [...Array.from({ length: 12 }, () => 8), 7],
  );
  t.throws(() => batchOrder(lengths, 0, { batchSize: 0 }), { code: 'ERR_INVALID_ARG', message: /options\.batchSize/ });
  t.throws(() => batchOrder(lengths, -1, { batchSize: 2 }), { code: 'ERR_INVALID_ARG', message: /for epoch/ });
  t.throws(() => batchOrder(lengths, 0, { batchSize: 2, buckets: true } as object as { batchSize: number }), { code: 'ERR_INVALID_ARG', message: /options\.buckets/ });
});

t.test('batch order: deterministic per (seed, epoch), different across epochs and seeds', async (t) => {
  const lengths = Array.from({ length: 200 }, (_, i) => (i * 37) % 50);
  const opts = { batchSize: 16, seed: 11, bucket: 2 };
  t.same(batchOrder(lengths, 4, opts), batchOrder(lengths, 4, opts));
  t.notSame(batchOrder(lengths, 4, opts), batchOrder(lengths, 5, opts));
  t.notSame(batchOrder(lengths, 4, opts), batchOrder(lengths, 4, { ...opts, seed: 12 }));
});

t.test('length bucketing: sorted within chunks, less padding, batch order shuffled', async (t) => {
  const rng = new Random(5);
  const lengths = Array.from({ length: 1000 }, () => 5 + rng.below(120));
  const batchSize = 10;
  const padding = (batches: number[][]) => batches.reduce((sum, b) => sum + b.length * Math.max(...b.map((i) => lengths[i]!)) - b.reduce((s, i) => s + lengths[i]!, 0), 0);
  const plain = batchOrder(lengths, 0, { batchSize, seed: 1 });
  const bucketed = batchOrder(lengths, 0, { batchSize, seed: 1, bucket: 5 });
  t.same(
    bucketed.flat().sort((a, b) => a - b),
    Array.from({ length: 1000 }, (_, i) => i),
  );
  t.ok(bucketed.every((b) => b.every((i, k) => k === 0 || lengths[b[k - 1]!]! >= lengths[i]!)), 'longest first within a batch');
  t.ok(padding(bucketed) < padding(plain) / 3, `padding ${padding(bucketed)} vs ${padding(plain)} without buckets`);
  const maxima = bucketed.map((b) => lengths[b[0]!]!);
  t.notSame(maxima, [...maxima].sort((a, b) => b - a), 'batches are not served longest first');
  // Without shuffling, chunks stay in place and sorted.
  t.same(batchOrder([3, 1, 2, 9, 8, 7], 0, { batchSize: 1, shuffle: false, bucket: 3 }), [[0], [2], [1], [3], [4], [5]]);
  t.same(batchOrder(lengths, 0, { batchSize, seed: 1, bucket: true }).length, 100, 'bucket: true is 100 batches per chunk');
});

t.test('BatchLoader: lazy collation, resumes exactly from (epoch, batchIndex)', async (t) => {
  const items = Array.from({ length: 23 }, (_, i) => ({ id: i, length: 1 + ((i * 7) % 11) }));
  let collated = 0;
  const loader = new BatchLoader(
    items,
    (xs) => {
      collated++;
      return xs.map((x) => x.id);
    },
    { batchSize: 5, seed: 9, bucket: 2 },
  );
  t.equal(loader.batchesPerEpoch, 5);
  t.equal(new BatchLoader(items, (xs) => xs, { batchSize: 5, dropLast: true }).batchesPerEpoch, 4);
  const all = [...loader.iterate(3)];
  t.equal(all.length, 15);
  t.equal(collated, 15);
  t.same(
    all.map((s) => [s.epoch, s.batchIndex]).slice(4, 7),
    [
      [0, 4],
      [1, 0],
      [1, 1],
    ],
  );
  for (let e = 0; e < 3; e++) {
    t.same(
      all
        .filter((s) => s.epoch === e)
        .flatMap((s) => s.batch)
        .sort((a, b) => a - b),
      items.map((x) => x.id),
      `epoch ${e} covers every item once`,
    );
  }
  const resumed = [...loader.iterate(3, { epoch: 1, batchIndex: 2 })];
  t.same(resumed, all.slice(7), 'resume gives exactly the rest');
  t.same([...loader.epoch(2, 4)], all.slice(14));
  t.same([...loader.epoch(2, 5)], [], 'resuming at the end of an epoch gives nothing');
  const first = loader.epoch(0)[Symbol.iterator]();
  collated = 0;
  first.next();
  t.equal(collated, 1, 'one batch collated per step');
  t.throws(() => [...loader.epoch(0, 6)], { code: 'ERR_INVALID_ARG', message: /an integer >= 0 and <= 5 for fromBatch/ });
  t.throws(() => new BatchLoader(items, (xs) => xs, { batchSize: 2, seed: 2 ** 32 }), { code: 'ERR_INVALID_ARG', message: /options\.seed/ });
});
