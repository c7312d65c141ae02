/**
 * The bench's padded batch: rows whose real lengths spread over [seq/2, seq] in a shuffled order, random
 * token ids (a fixed generator), labels of two classes. bench/peers/loops.py `pad_lengths` makes the same.
 */
export function padLengths(batch: number, seq: number): number[] {
  const lo = Math.ceil(seq / 2);
  return Array.from({ length: batch }, (_, i) => lo + ((i * 37 + 11) % (seq - lo + 1)));
}

/** A [batch, seq] classification batch with padLengths rows; `seed` picks the token ids and labels. */
export function paddedBatch(batch: number, seq: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lengths = padLengths(batch, seq);
  const inputIds = new Int32Array(batch * seq);
  const attentionMask = new Int32Array(batch * seq);
  for (let r = 0; r < batch; r++) {
    for (let t = 0; t < lengths[r]!; t++) {
      inputIds[r * seq + t] = 1000 + Math.floor(rand() * 29000);
      attentionMask[r * seq + t] = 1;
    }
  }
  const labels = Int32Array.from({ length: batch }, () => Math.floor(rand() * 2));
  return { lengths, batch: { inputIds, attentionMask, batchSize: batch, seqLen: seq, labels } };
}
