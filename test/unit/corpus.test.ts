import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CorpusBatches, packSequences, readDocuments, type CorpusTokenizer } from '../../lib/data/corpus.js';

// Words as ids: a deterministic toy tokenizer (id = 10 + char-code sum mod 90).
const tok: CorpusTokenizer & { unkToken: string } = {
  tokenize: (text) => text.split(/\s+/).filter(Boolean).map((w) => 10 + ([...w].reduce((s, c) => s + c.charCodeAt(0), 0) % 90)),
  clsId: 1,
  sepId: 2,
  padId: 0,
  unkToken: '[UNK]',
};

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

t.test('WikiText: articles at top-level headings, section headings dropped, tokenisation undone', async (t) => {
  const dir = t.testdir();
  const f = join(dir, 'wiki.tokens');
  writeFileSync(f, ' \n = Homarus = \n \n Homarus is a <unk> lobster , 24 @-@ tipped .\n \n = = Description = = \n \n It weighs 1 @,@ 000 g .\n \n = Robert = \n Robert acts .\n');
  const docs = await collect(readDocuments([f]));
  t.same(docs, ['Homarus is a [UNK] lobster , 24-tipped . It weighs 1,000 g .', 'Robert acts .']);
});

t.test('paragraphs and lines', async (t) => {
  const dir = t.testdir();
  const f = join(dir, 'text.txt');
  writeFileSync(f, 'one two\nthree\n\nfour\n\n\nfive six\n');
  t.same(await collect(readDocuments([f])), ['one two three', 'four', 'five six']);
  t.same(await collect(readDocuments([f], { format: 'lines' })), ['one two', 'three', 'four', 'five six']);
  await t.rejects(collect(readDocuments([join(dir, 'missing.txt')])), { code: 'ERR_DATA', message: /missing\.txt.*no such file/ });
});

t.test('packing: [CLS] + seq - 2 tokens + [SEP], across documents, the partial tail dropped', async (t) => {
  async function* docs() {
    yield 'a b c d e';
    yield 'f g';
    yield 'h i j';
  }
  const seqs = await collect(packSequences(docs(), tok, 6));
  t.equal(seqs.length, 2, '10 tokens make two sequences of 4 + specials');
  for (const s of seqs) {
    t.equal(s.length, 6);
    t.equal(s[0], 1);
    t.equal(s[5], 2);
  }
});

t.test('corpus batches: counted once, deterministic per epoch, resumable, masked anew each epoch', async (t) => {
  const dir = t.testdir();
  const f = join(dir, 'c.txt');
  writeFileSync(f, Array.from({ length: 200 }, (_, i) => `sentence ${i} has words like w${i % 17} and w${(i * 7) % 23} here`).join('\n\n'));
  const data = await CorpusBatches.open({ files: [f], tokenizer: tok, seqLen: 16, batchSize: 4, seed: 3, shuffleBuffer: 50, masking: { maskId: 3, vocabSize: 100, specialIds: [0, 1, 2, 3] } });
  t.ok(data.length > 10);
  const e0 = await collect(data.epoch(0));
  t.equal(e0.length, data.length);
  t.ok(e0.every((b) => b.batchSize === 4 && b.seqLen === 16 && b.inputIds.length === 64));
  const again = await collect(data.epoch(0));
  t.same(again.map((b) => Array.from(b.inputIds)), e0.map((b) => Array.from(b.inputIds)));
  const resumed = await collect(data.epoch(0, 5));
  t.same(resumed.map((b) => Array.from(b.labels)), e0.slice(5).map((b) => Array.from(b.labels)), 'resuming at batch 5 continues the corpus position exactly');
  const e1 = await collect(data.epoch(1));
  t.notSame(e1.map((b) => Array.from(b.labels)), e0.map((b) => Array.from(b.labels)));
  t.ok(e0.some((b) => b.labels.some((l) => l !== -100)));
});

t.test('invalid UTF-8 in a corpus is ERR_DATA with file:line:col, also across read chunks', async (t) => {
  const dir = t.testdir();
  const f = join(dir, 'latin1.txt');
  writeFileSync(f, Buffer.concat([Buffer.from('caf\u00e9 ok\nna'), Buffer.from([0xef]), Buffer.from('ve\n')]));
  await t.rejects(collect(readDocuments([f], { format: 'lines' })), { code: 'ERR_DATA', message: /latin1\.txt:2:3: invalid UTF-8 \(byte 0xef\)/ });
  // A 4-byte character split by the 64 KiB read boundary is valid; a bad byte far into the file is found.
  const big = join(dir, 'big.txt');
  const line = `${'x'.repeat(99)}\n`;
  const head = Buffer.from(line.repeat(655) + 'y'.repeat(65536 - 655 * 100 - 2));
  writeFileSync(big, Buffer.concat([head, Buffer.from('\ud83d\ude00\n'), Buffer.from(line.repeat(10)), Buffer.from([0x80]), Buffer.from('\n')]));
  await t.rejects(collect(readDocuments([big], { format: 'lines' })), { code: 'ERR_DATA', message: /big\.txt:667:1: invalid UTF-8 \(byte 0x80\)/ });
  writeFileSync(big, Buffer.concat([head, Buffer.from('\ud83d\ude00\n')]));
  t.equal((await collect(readDocuments([big], { format: 'lines' }))).at(-1)?.endsWith('\ud83d\ude00'), true);
});

t.test('corpus batches sharded: W ranks hold the rows and masks of one process with a W x batchSize batch', async (t) => {
  const dir = t.testdir();
  const f = join(dir, 'c.txt');
  writeFileSync(f, Array.from({ length: 300 }, (_, i) => `line ${i} says w${i % 13} then w${(i * 5) % 29} and more`).join('\n\n'));
  const common = { files: [f], tokenizer: tok, seqLen: 16, seed: 9, shuffleBuffer: 40, masking: { maskId: 3, vocabSize: 100, specialIds: [0, 1, 2, 3] } };
  const one = await CorpusBatches.open({ ...common, batchSize: 6 });
  const ranks = await Promise.all([0, 1, 2].map((rank) => CorpusBatches.open({ ...common, batchSize: 2, shard: { rank, worldSize: 3 } })));
  t.ok(one.length > 2, `${one.length} global batches`);
  for (const r of ranks) t.equal(r.length, one.length, 'every rank has as many batches as the single process');
  const all = async (d: CorpusBatches, e: number, start = 0) => {
    const out = [];
    for await (const b of d.epoch(e, start)) out.push(b);
    return out;
  };
  for (const e of [0, 1]) {
    const single = await all(one, e);
    const parts = await Promise.all(ranks.map((r) => all(r, e)));
    single.forEach((g, b) => {
      const L = g.seqLen;
      for (let row = 0; row < g.batchSize; row++) {
        const part = parts[row % 3]![b]!;
        const k = Math.floor(row / 3);
        for (const key of ['inputIds', 'labels', 'attentionMask'] as const) {
          t.same(Array.from(part[key].subarray(k * L, (k + 1) * L)), Array.from(g[key].subarray(row * L, (row + 1) * L)), `epoch ${e} batch ${b} row ${row} ${key}`);
        }
      }
    });
  }
  const resumed = await all(ranks[1]!, 1, 2);
  t.same(resumed[0]!.inputIds, (await all(ranks[1]!, 1))[2]!.inputIds, 'a rank resumes mid-epoch exactly');
  await t.rejects(CorpusBatches.open({ ...common, batchSize: 2, shard: { rank: 3, worldSize: 3 } }), { code: 'ERR_INVALID_ARG', message: /options\.shard\.rank/ });
});
