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
