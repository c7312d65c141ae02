import t from 'tap';
import { MaskedLmBatches, maskTokens } from '../../lib/data/masking.js';
import { Random } from '../../lib/data/random.js';

const opts = { maskId: 4, vocabSize: 1000, specialIds: [0, 1, 2, 3, 4] };

function batch(rows: number, seqLen: number, seed: number) {
  const r = new Random(seed, 0);
  const ids = new Int32Array(rows * seqLen);
  const mask = new Int32Array(rows * seqLen);
  for (let i = 0; i < rows; i++) {
    const len = 4 + r.below(seqLen - 3);
    for (let j = 0; j < len; j++) {
      ids[i * seqLen + j] = j === 0 ? 2 : j === len - 1 ? 3 : 10 + r.below(990);
      mask[i * seqLen + j] = 1;
    }
  }
  return { ids, mask };
}

t.test('15% of real non-special tokens, 80/10/10, labels only there', async (t) => {
  const { ids, mask } = batch(2000, 64, 1);
  const { inputIds, labels } = maskTokens(ids, mask, 64, new Random(5, 0), opts);
  let candidates = 0;
  let chosen = 0;
  let masked = 0;
  let random = 0;
  let kept = 0;
  let specialTouched = 0;
  for (let i = 0; i < ids.length; i++) {
    const special = mask[i] === 0 || ids[i]! < 5;
    if (special) {
      if (labels[i] !== -100 || inputIds[i] !== ids[i]) specialTouched++;
      continue;
    }
    candidates++;
    if (labels[i] === -100) {
      if (inputIds[i] !== ids[i]) specialTouched++;
      continue;
    }
    chosen++;
    if (labels[i] !== ids[i]) specialTouched++;
    if (inputIds[i] === 4) masked++;
    else if (inputIds[i] === ids[i]) kept++;
    else random++;
  }
  t.equal(specialTouched, 0, 'specials and padding are never chosen or changed; labels hold the original ids');
  const p = chosen / candidates;
  t.ok(Math.abs(p - 0.15) < 0.005, `chosen ${p.toFixed(4)} of ${candidates}`);
  t.ok(Math.abs(masked / chosen - 0.8) < 0.01, `mask token ${(masked / chosen).toFixed(3)}`);
  // A random replacement equal to the original (1/1000) counts as kept.
  t.ok(Math.abs(random / chosen - 0.1) < 0.01, `random ${(random / chosen).toFixed(3)}`);
  t.ok(Math.abs(kept / chosen - 0.1) < 0.01, `kept ${(kept / chosen).toFixed(3)}`);
});

t.test('whole-word masking masks every piece of a chosen word', async (t) => {
  // ids >= 500 continue the previous word (like ## pieces)
  const { ids, mask } = batch(500, 48, 2);
  const isContinuation = (id: number) => id >= 500;
  const { labels } = maskTokens(ids, mask, 48, new Random(3, 0), { ...opts, isContinuation });
  let words = 0;
  let split = 0;
  for (let row = 0; row < 500; row++) {
    for (let j = 1; j < 48; j++) {
      const i = row * 48 + j;
      if (mask[i] === 0 || ids[i]! < 5) continue;
      if (isContinuation(ids[i]!) && ids[i - 1]! >= 5) {
        if ((labels[i] === -100) !== (labels[i - 1] === -100)) split++;
      } else if (labels[i] !== -100) words++;
    }
  }
  t.equal(split, 0, "every piece shares its word head's fate");
  t.ok(words > 500, `${words} words chosen`);
});

t.test('masks are a function of (seed, epoch, batch): dynamic per epoch, identical on resume', async (t) => {
  const items = Array.from({ length: 40 }, (_, i) => {
    const ids = [2, ...Array.from({ length: 5 + (i % 7) }, (_, j) => 10 + ((i * 31 + j * 7) % 900)), 3];
    return { ids, typeIds: ids.map(() => 0), length: ids.length };
  });
  const data = new MaskedLmBatches(items, { batchSize: 8, padId: 0, seed: 9, masking: opts });
  t.equal(data.length, 5);
  const e0 = [...data.epoch(0)];
  const e0again = [...data.epoch(0)];
  const e1 = [...data.epoch(1)];
  t.same(e0.map((b) => Array.from(b.labels)), e0again.map((b) => Array.from(b.labels)));
  t.notSame(e0.map((b) => Array.from(b.labels)), e1.map((b) => Array.from(b.labels)), 'a new epoch masks anew');
  const resumed = [...data.epoch(1, 3)];
  t.same(resumed.map((b) => Array.from(b.inputIds)), e1.slice(3).map((b) => Array.from(b.inputIds)), 'resuming mid-epoch draws the same masks');
});

t.test('sharded MaskedLmBatches: the ranks together read the batches of batchSize x W, masks included', async (t) => {
  // 43 sequences: with 3 ranks of 4 the last global batch (7 rows) is padded to 9 from the epoch's start.
  const items = Array.from({ length: 43 }, (_, i) => {
    const ids = [2, ...Array.from({ length: 4 + (i % 9) }, (_, j) => 10 + ((i * 37 + j * 11) % 900)), 3];
    return { ids, typeIds: ids.map(() => 0), length: ids.length };
  });
  const W = 3;
  const whole = new MaskedLmBatches(items, { batchSize: 4 * W, padId: 0, seed: 9, masking: opts });
  const ranks = Array.from({ length: W }, (_, rank) => new MaskedLmBatches(items, { batchSize: 4, padId: 0, seed: 9, masking: opts, shard: { rank, worldSize: W } }));
  t.same(ranks[1]!.shard, { rank: 1, worldSize: W });
  t.same(whole.withShard({ rank: 2, worldSize: W }).shard, { rank: 2, worldSize: W });
  t.equal(ranks[0]!.length, whole.length, 'as many steps as the single-process run');
  const rowsOf = (b: { inputIds: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }) =>
    Array.from({ length: b.batchSize }, (_, r) => {
      const n = b.seqLen;
      const ids = Array.from(b.inputIds.subarray(r * n, (r + 1) * n));
      const labels = Array.from(b.labels.subarray(r * n, (r + 1) * n));
      let end = n;
      while (end > 0 && ids[end - 1] === 0 && labels[end - 1] === -100) end--;
      return JSON.stringify([ids.slice(0, end), labels.slice(0, end)]);
    });
  for (const epoch of [0, 1]) {
    const single = [...whole.epoch(epoch)];
    const parts = ranks.map((d) => [...d.epoch(epoch)]);
    for (const [b, batch] of single.entries()) {
      const sizes = parts.map((p) => p[b]!.batchSize);
      t.equal(new Set(sizes).size, 1, `epoch ${epoch} batch ${b}: every rank gets as many rows (${sizes})`);
      const expected = rowsOf(batch);
      // Rank r holds positions r, r + W, ... of the global batch (the padding rows repeat its first rows).
      const got = parts.map((p) => rowsOf(p[b]!));
      const interleaved = got[0]!.flatMap((_, k) => got.map((g) => g[k]!));
      t.same(interleaved.slice(0, expected.length), expected, `epoch ${epoch} batch ${b}: the global batch with its masks`);
      if (interleaved.length > expected.length) t.equal(interleaved.length, Math.ceil(expected.length / W) * W, 'the last batch padded to a multiple of W');
    }
  }
  t.throws(() => new MaskedLmBatches(items, { batchSize: 4, padId: 0, seed: 9, masking: opts, shard: { rank: 3, worldSize: 3 } }), /options\.shard\.rank/);
});
