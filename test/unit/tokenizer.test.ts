import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadTokenizer, type Encoding, type Tokenizer } from '../../lib/tokenizer/index.js';
import { truncatedLengths } from '../../lib/tokenizer/truncation.js';
import { alignTokenLabels, encodeTagged } from '../../lib/data/batching.js';
import { buildTagList, readConll } from '../../lib/data/conll.js';
import { readTsv, repoRoot, sharedPath } from '../helpers/data.js';

const bert = sharedPath('bert-base-uncased-tokenizer');
const sst2 = sharedPath('sst2', 'train.tsv');
const rte = sharedPath('rte', 'train.tsv');

/** A folder with only vocab.txt and tokenizer_config.json: the vocab.txt path of loadTokenizer. */
function vocabOnlyDir(t: Test, config = true): string {
  const dir = t.testdir();
  copyFileSync(join(bert.path, 'vocab.txt'), join(dir, 'vocab.txt'));
  if (config) copyFileSync(join(bert.path, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}

// ---------------------------------------------------------------- bert-base-uncased, both sources

t.test('bert-base-uncased known answers, from tokenizer.json and from vocab.txt', { skip: bert.skip }, async (t) => {
  const fromJson = await loadTokenizer(bert.path);
  const fromVocab = await loadTokenizer(vocabOnlyDir(t));
  t.equal(fromJson.source, 'tokenizer.json');
  t.equal(fromVocab.source, 'vocab.txt');
  for (const tok of [fromJson, fromVocab]) {
    t.test(tok.source, async (t) => {
      t.equal(tok.vocabSize, 30522);
      t.strictSame(tok.special, {
        cls: { token: '[CLS]', id: 101 },
        sep: { token: '[SEP]', id: 102 },
        pad: { token: '[PAD]', id: 0 },
        mask: { token: '[MASK]', id: 103 },
        unk: { token: '[UNK]', id: 100 },
      });

      const hw = tok.encode('hello world');
      t.strictSame(hw.ids, [101, 7592, 2088, 102]);
      t.strictSame(hw.tokens, ['[CLS]', 'hello', 'world', '[SEP]']);
      t.strictSame(hw.typeIds, [0, 0, 0, 0]);
      t.strictSame(hw.sequenceIds, [null, 0, 0, null]);

      // Greedy longest match: 'una' is the longest vocabulary prefix ('unaf' is absent), then
      // '##ffa' ('##ffab' is absent), then '##ble'. (The BERT paper's 'un ##aff ##able' used another vocabulary.)
      t.equal(tok.tokenToId('unaf'), undefined);
      t.equal(tok.tokenToId('##ffab'), undefined);
      t.strictSame(tok.encode('unaffable').tokens, ['[CLS]', 'una', '##ffa', '##ble', '[SEP]']);
      t.strictSame(tok.encode('unaffable').ids, [101, 14477, 20961, 3468, 102]);

      // Lowercased and accents stripped (strip_accents null follows do_lower_case).
      t.strictSame(tok.encode('Héllo WÖRLD').ids, hw.ids);
      t.strictSame(tok.encode('naïve café').tokens, ['[CLS]', 'naive', 'cafe', '[SEP]']);

      // Chinese characters become words of their own, even without spaces.
      t.strictSame(tok.encode('hello中国人').tokens, ['[CLS]', 'hello', '中', '国', '人', '[SEP]']);
      t.strictSame(tok.encode('中国').ids, [101, 1746, 1799, 102]);

      // Punctuation is split off, one character each.
      t.strictSame(tok.encode("Hello, world! don't").tokens, ['[CLS]', 'hello', ',', 'world', '!', 'don', "'", 't', '[SEP]']);

      // Control characters vanish, any whitespace separates.
      t.strictSame(tok.encode('hello\u0000\u200b\u00a0world\t\n').ids, hw.ids);

      // A special token written in the text is that token; words over 100 characters are [UNK].
      t.strictSame(tok.encode('the [MASK] is').ids, [101, 1996, 103, 2003, 102]);
      t.strictSame(tok.encode(`${'a'.repeat(101)} b`).tokens, ['[CLS]', '[UNK]', 'b', '[SEP]']);
      t.strictSame(tok.encode('').ids, [101, 102]);

      // Pairs: [CLS] A [SEP] B [SEP], type ids 0 then 1; an empty second text still counts.
      const pair = tok.encode(['hello', 'world']);
      t.strictSame(pair.ids, [101, 7592, 102, 2088, 102]);
      t.strictSame(pair.typeIds, [0, 0, 0, 1, 1]);
      t.strictSame(pair.sequenceIds, [null, 0, null, 1, null]);
      t.strictSame(tok.encode(['hello', '']).ids, [101, 7592, 102, 102]);
    });
  }
});

t.test('matches tokenizers (Rust) where the JS library alone would not', { skip: bert.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  // Rust lowercases one char at a time, so a final capital sigma becomes σ, not ς.
  t.strictSame(tok.encode('ΟΔΟΣ').tokens, ['[CLS]', 'ο', '##δ', '##ο', '##σ', '[SEP]']);
  t.strictSame(tok.encode('ΟΔΟΣ').ids, tok.encode('οδοσ').ids);
  // CJK characters above U+FFFF are split off like the others (this one is not in the vocabulary).
  t.strictSame(tok.encode('a𠀀b').tokens, ['[CLS]', 'a', '[UNK]', 'b', '[SEP]']);
});

t.test('offsets and word ids point into the original text', { skip: bert.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  const text = 'Héllo, WÖRLD! unaffable 中国 😀';
  const e = tok.encode(text);
  t.strictSame(e.tokens, ['[CLS]', 'hello', ',', 'world', '!', 'una', '##ffa', '##ble', '中', '国', '[UNK]', '[SEP]']);
  t.strictSame(e.offsets, [[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [14, 17], [17, 20], [20, 23], [24, 25], [25, 26], [27, 29], [0, 0]]);
  t.strictSame(e.wordIds, [null, 0, 1, 2, 3, 4, 4, 4, 5, 6, 7, null]);
  t.equal(text.slice(...e.offsets![3]!), 'WÖRLD');
  t.equal(text.slice(...e.offsets![10]!), '😀', 'UTF-16 offsets: slice gives the character back');

  // An added token in the text is one word; offsets of the second text count from its own start.
  const p = tok.encode(['the [MASK] is', 'it is']);
  t.strictSame(p.offsets, [[0, 0], [0, 3], [4, 10], [11, 13], [0, 0], [0, 2], [3, 5], [0, 0]]);
  t.strictSame(p.wordIds, [null, 0, 1, 2, null, 0, 1, null]);
  t.strictSame(p.sequenceIds, [null, 0, 0, 0, null, 1, 1, null]);

  // Truncation keeps offsets in step with the ids.
  const cut = tok.encode(['one two three four', 'five six seven'], { maxLength: 7 });
  t.equal(cut.offsets!.length, cut.ids.length);
  t.strictSame(cut.tokens, ['[CLS]', 'one', 'two', '[SEP]', 'five', 'six', '[SEP]']);
  t.strictSame(cut.offsets![5], [5, 8]);
});

t.test('an added token matched after normalization (normalized: true)', { skip: bert.skip }, async (t) => {
  const spec = JSON.parse(readFileSync(join(bert.path, 'tokenizer.json'), 'utf8')) as { added_tokens: unknown[] };
  spec.added_tokens.push({ id: 30522, content: 'Ünseen', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false });
  const tok = await loadTokenizer(t.testdir({ 'tokenizer.json': JSON.stringify(spec) }));
  t.equal(tok.vocabSize, 30523, 'added ids count towards the vocabulary size');
  const e = tok.encode('an UNSEEN word');
  t.strictSame(e.ids, [101, 2019, 30522, 2773, 102]);
  t.strictSame(e.offsets, [[0, 0], [0, 2], [3, 9], [10, 14], [0, 0]]);
  t.strictSame(e.wordIds, [null, 0, 1, 2, null]);
});

t.test('tokenizer.json and vocab.txt agree on 1,000 SST-2 texts and 1,000 RTE pairs', { skip: bert.skip || sst2.skip || rte.skip }, async (t) => {
  const fromJson = await loadTokenizer(bert.path);
  const fromVocab = await loadTokenizer(vocabOnlyDir(t));
  const singles = readTsv(sst2.path, 1000).map((r) => r.sentence!);
  const pairs = readTsv(rte.path, 1000).map((r): [string, string] => [r.sentence1!, r.sentence2!]);
  t.equal(singles.length, 1000);
  t.equal(pairs.length, 1000);
  const inputs = [...singles, ...pairs];
  let mismatch = -1;
  let checkedPieces = 0;
  let badOffset = '';
  inputs.forEach((input, row) => {
    const a = fromJson.encode(input);
    const b = fromVocab.encode(input);
    if (mismatch < 0 && JSON.stringify(a) !== JSON.stringify(b)) mismatch = row;
    // Every piece's offsets cover text that normalizes to the piece.
    const texts = typeof input === 'string' ? [input] : input;
    a.tokens.forEach((token, i) => {
      const seq = a.sequenceIds[i];
      if (seq === null || token === '[UNK]' || badOffset) return;
      const span = texts[seq]!.slice(...a.offsets![i]!);
      // Lowercase, strip accents, drop control characters (RTE has mojibake such as 'Iraqâ\u0080\u0099s').
      const normalized = span.toLowerCase().normalize('NFD').replace(/[\p{Mn}\p{Cc}\p{Cf}]/gu, '');
      if (normalized !== token.replace(/^##/, '')) badOffset = `row ${row} token ${i} '${token}' covers '${span}'`;
      checkedPieces++;
    });
  });
  t.equal(mismatch, -1, 'first row where the two differ');
  t.equal(badOffset, '', 'offsets cover the token text');
  t.ok(checkedPieces > 50_000, `checked ${checkedPieces} token offsets`);
});

t.test('tokenize_chinese_chars, do_lower_case=false and strip_accents from tokenizer_config.json', { skip: bert.skip }, async (t) => {
  const dir = vocabOnlyDir(t, false);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false, tokenize_chinese_chars: false }));
  const cased = await loadTokenizer(dir);
  // No lowercasing: 'Hello' is not in the uncased vocabulary; accents stay (strip_accents follows do_lower_case).
  t.strictSame(cased.encode('Hello').tokens, ['[CLS]', '[UNK]', '[SEP]']);
  t.strictSame(cased.encode('café').tokens, ['[CLS]', '[UNK]', '[SEP]'], "no 'é' piece in the vocabulary");
  // Without Chinese-character splitting '中国' is one word, cut by WordPiece.
  t.strictSame(cased.encode('中国').tokens, ['[CLS]', '中', '##国', '[SEP]']);
  t.strictSame(cased.encode('中国').wordIds, [null, 0, 0, null]);

  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, strip_accents: false }));
  const keepAccents = await loadTokenizer(dir);
  t.strictSame(keepAccents.encode('café').tokens, ['[CLS]', '[UNK]', '[SEP]']);
  t.strictSame(keepAccents.encode('HELLO').tokens, ['[CLS]', 'hello', '[SEP]']);

  // No tokenizer_config.json at all: BertTokenizer's defaults (lowercase, [CLS]/[SEP]/...).
  const bare = await loadTokenizer(vocabOnlyDir(t, false));
  t.strictSame(bare.encode('Héllo').ids, [101, 7592, 102]);
});

// ---------------------------------------------------------------- truncation and padding

t.test('truncatedLengths follows tokenizers truncate_encodings', async (t) => {
  // The table from tokenizers/src/utils/truncation.rs tests (max_length 7), lengths 0, 2, 4, 8.
  const cases: Array<[number, number, number, number]> = [
    [0, 0, 0, 0], [0, 2, 0, 2], [0, 4, 0, 4], [0, 8, 0, 7],
    [2, 0, 2, 0], [2, 2, 2, 2], [2, 4, 2, 4], [2, 8, 2, 5],
    [4, 0, 4, 0], [4, 2, 4, 2], [4, 4, 3, 4], [4, 8, 3, 4],
    [8, 0, 7, 0], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4],
  ];
  for (const [a, b, wantA, wantB] of cases) t.strictSame(truncatedLengths([a, b], 7, 'longest_first'), [wantA, wantB], `${a}+${b}`);
  t.strictSame(truncatedLengths([4, 4], 0, 'only_second'), [0, 0], 'a zero budget empties everything');
  t.strictSame(truncatedLengths([10], 6, 'longest_first'), [6]);
  t.strictSame(truncatedLengths([3], 6, 'only_second'), [3], 'fits: no second text needed');
  t.strictSame(truncatedLengths([10], 6, 'only_second'), { reason: 'no-second-text' });
  t.strictSame(truncatedLengths([3, 8], 6, 'only_second'), [3, 3]);
  t.strictSame(truncatedLengths([5, 3], 6, 'only_second'), [5, 1]);
  t.strictSame(truncatedLengths([6, 2], 6, 'only_second'), { reason: 'second-text-too-short', toRemove: 2 }, 'the second text must keep a token');
});

t.test('encode truncates and keeps special tokens', { skip: bert.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  const a = 'one two three four'; // 4 tokens each
  const b = 'five six seven eight';
  // Budget 10 - 3 specials = 7 for two 4-token texts: the odd token goes to the second (Rust; not the slow tokenizers' first).
  const tie = tok.encode([a, b], { maxLength: 10 });
  t.strictSame(tie.tokens, ['[CLS]', 'one', 'two', 'three', '[SEP]', 'five', 'six', 'seven', 'eight', '[SEP]']);
  t.strictSame(tie.typeIds, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  // The shorter text fits in half: only the longer is cut.
  t.strictSame(tok.encode(['one', `${b} nine ten`], { maxLength: 8 }).tokens, ['[CLS]', 'one', '[SEP]', 'five', 'six', 'seven', 'eight', '[SEP]']);
  t.strictSame(tok.encode(`${a} ${b}`, { maxLength: 5 }).tokens, ['[CLS]', 'one', 'two', 'three', '[SEP]']);
  t.equal(tok.encode([a, b], { maxLength: 3 }).ids.length, 3, 'room for specials only');
  t.strictSame(tok.encode([a, b], { maxLength: 64 }).ids, tok.encode([a, b]).ids, 'no cut when it fits');

  const only = tok.encode([a, b], { maxLength: 8, truncation: 'only_second' });
  t.strictSame(only.tokens, ['[CLS]', 'one', 'two', 'three', 'four', '[SEP]', 'five', '[SEP]']);
  t.throws(() => tok.encode([a, 'five'], { maxLength: 7, truncation: 'only_second' }), {
    code: 'ERR_INVALID_ARG',
    message: "Expected a second text of more than 1 tokens (truncation 'only_second' must cut 1 to fit maxLength 7) for input[1] but received 'five' of type string",
  });
  t.throws(() => tok.encode(`${a} ${b}`, { maxLength: 5, truncation: 'only_second' }), { code: 'ERR_INVALID_ARG', message: /a \[text, text\] pair .* for input but received/ });
  t.strictSame(tok.encode('one', { maxLength: 5, truncation: 'only_second' }).tokens, ['[CLS]', 'one', '[SEP]'], 'a single text that fits is fine');
  t.throws(() => tok.encode([a, b], { maxLength: 2 }), {
    code: 'ERR_INVALID_ARG',
    message: 'Expected an integer >= 3 (the special tokens of input need that many) for options.maxLength but received 2 of type number',
  });
});

t.test('encodeBatch pads into row-major typed arrays', { skip: bert.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  const items = ['hello world', ['hello', 'big world'] as const, ''];
  const b = tok.encodeBatch(items);
  t.equal(b.batchSize, 3);
  t.equal(b.seqLen, 6, 'longest row: [CLS] hello [SEP] big world [SEP]');
  t.ok(b.inputIds instanceof Int32Array && b.attentionMask instanceof Int32Array && b.tokenTypeIds instanceof Int32Array);
  t.strictSame([...b.inputIds], [101, 7592, 2088, 102, 0, 0, 101, 7592, 102, 2502, 2088, 102, 101, 102, 0, 0, 0, 0]);
  t.strictSame([...b.attentionMask], [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]);
  t.strictSame([...b.tokenTypeIds], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);

  const fixed = tok.encodeBatch(['hello world', 'a much longer sentence than the budget allows'], { maxLength: 5, padding: 'max_length' });
  t.equal(fixed.seqLen, 5);
  t.equal(fixed.inputIds.length, 10);
  t.strictSame([...fixed.inputIds.subarray(0, 5)], [101, 7592, 2088, 102, 0]);
  t.equal(fixed.inputIds[9], 102, 'a truncated row ends with [SEP]');
  t.strictSame([...fixed.attentionMask], [1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);

  const longest = tok.encodeBatch(['hi', 'hello world'], { maxLength: 64 });
  t.equal(longest.seqLen, 4, "padding 'longest' does not pad to maxLength");
  t.throws(() => tok.encodeBatch(['hi'], { padding: 'max_length' }), { code: 'ERR_INVALID_ARG', message: /for options\.maxLength but received undefined/ });
  t.throws(() => tok.encodeBatch([]), { code: 'ERR_INVALID_ARG', message: 'Expected a non-empty array of texts or [text, text] pairs for items but received array of length 0' });
  t.throws(() => tok.encodeBatch(['ok', 5 as unknown as string]), { code: 'ERR_INVALID_ARG', message: 'Expected a string or a [string, string] pair for items[1] but received 5 of type number' });
  t.throws(() => tok.encodeBatch(['ok'], { padding: 'right' as 'longest' }), { message: "Expected one of 'longest', 'max_length' for options.padding but received 'right' of type string" });
  t.throws(() => tok.encodeBatch(['ok', ['a', 'b c d']], { maxLength: 4, truncation: 'only_second' }), { message: /for items\[1\]\[1\]/ });
});

t.test('decode, tokenToId, idToToken', { skip: bert.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  t.equal(tok.decode([101, 7592, 2088, 102]), '[CLS] hello world [SEP]');
  t.equal(tok.decode(new Int32Array([101, 14477, 20961, 3468, 1010, 2088, 102, 0, 0]), { skipSpecialTokens: true }), 'unaffable, world');
  t.equal(tok.decode([]), '');
  t.equal(tok.tokenToId('[MASK]'), 103);
  t.equal(tok.tokenToId('no-such-token'), undefined);
  t.equal(tok.idToToken(2088), 'world');
  t.equal(tok.idToToken(30522), undefined);
  t.throws(() => tok.decode([101, 30522]), { code: 'ERR_INVALID_ARG', message: 'Expected an integer >= 0 and <= 30521 for ids[1] but received 30522 of type number' });
  t.throws(() => tok.decode('101' as unknown as number[]), { code: 'ERR_INVALID_ARG', message: /an array of token ids or an Int32Array for ids/ });
  t.throws(() => tok.decode([1], { skip: true } as never), { message: /options\.skip/ });
  t.throws(() => tok.idToToken(1.5), { code: 'ERR_INVALID_ARG', message: /for id but received 1\.5/ });
  t.throws(() => tok.tokenToId(3 as unknown as string), { code: 'ERR_INVALID_ARG', message: /a string for token/ });
});

t.test('save writes the files atomically and loads back the same tokenizer', { skip: bert.skip }, async (t) => {
  const fromJson = await loadTokenizer(bert.path);
  const out = join(t.testdir(), 'model', 'nested');
  await fromJson.save(out);
  t.strictSame(readdirSync(out).sort(), ['special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  t.ok(readFileSync(join(out, 'tokenizer.json')).equals(readFileSync(join(bert.path, 'tokenizer.json'))), 'tokenizer.json byte for byte');
  const again = await loadTokenizer(out);
  t.strictSame(again.encode(['Héllo, world', 'again']), fromJson.encode(['Héllo, world', 'again']));

  const fromVocab = await loadTokenizer(vocabOnlyDir(t, false));
  const out2 = t.testdir();
  await fromVocab.save(out2);
  t.strictSame(readdirSync(out2).sort(), ['special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'], 'no temporary files left');
  const config = JSON.parse(readFileSync(join(out2, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  t.equal(config.do_lower_case, true);
  t.equal(config.mask_token, '[MASK]');
  t.strictSame(JSON.parse(readFileSync(join(out2, 'special_tokens_map.json'), 'utf8')), {
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    mask_token: '[MASK]',
    unk_token: '[UNK]',
  });
  const reloaded = await loadTokenizer(out2);
  t.equal(reloaded.source, 'vocab.txt');
  t.strictSame(reloaded.encode('Héllo 中国'), fromVocab.encode('Héllo 中国'));

  await fromVocab.save(out2);
  t.strictSame(readdirSync(out2).sort(), ['special_tokens_map.json', 'tokenizer_config.json', 'vocab.txt'], 'overwrites in place');
  const blocker = join(t.testdir(), 'file');
  writeFileSync(blocker, 'x');
  await t.rejects(fromVocab.save(join(blocker, 'sub')), { code: 'ERR_CHECKPOINT', message: /Cannot save the tokenizer to .*file\/sub/ });
  await t.rejects(fromVocab.save(7 as unknown as string), { code: 'ERR_INVALID_ARG' });
});

// ---------------------------------------------------------------- RoBERTa-style byte-level BPE

/** A tiny byte-level BPE tokenizer.json shaped like roberta-base's. */
function robertaJson(postProcessor: unknown = { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false }) {
  const vocab = ['<s>', '<pad>', '</s>', '<unk>', '<mask>', 'h', 'e', 'l', 'o', 'w', 'r', 'd', 'Ġ', 'he', 'll', 'llo', 'hello', 'Ġw', 'or', 'Ġwor', 'ld', 'Ġworld', '!'];
  const special = (id: number, content: string, lstrip = false) => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<s>'), special(1, '<pad>'), special(2, '</s>'), special(3, '<unk>'), special(4, '<mask>', true)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: postProcessor,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab: Object.fromEntries(vocab.map((tok, id) => [tok, id])),
      merges: ['h e', 'l l', 'll o', 'he llo', 'Ġ w', 'o r', 'Ġw or', 'l d', 'Ġwor ld'],
    },
  };
}

async function tokenizerFrom(t: Test, spec: unknown): Promise<Tokenizer> {
  return loadTokenizer(t.testdir({ 'tokenizer.json': JSON.stringify(spec) }));
}

t.test('RoBERTa-style BPE through tokenizer.json', async (t) => {
  const tok = await tokenizerFrom(t, robertaJson());
  t.strictSame(tok.special, {
    cls: { token: '<s>', id: 0 },
    sep: { token: '</s>', id: 2 },
    pad: { token: '<pad>', id: 1 },
    mask: { token: '<mask>', id: 4 },
    unk: { token: '<unk>', id: 3 },
  });
  t.equal(tok.vocabSize, 23);
  const single = tok.encode('hello world!');
  t.strictSame(single.tokens, ['<s>', 'hello', 'Ġworld', '!', '</s>']);
  t.strictSame(single.ids, [0, 16, 21, 22, 2]);
  t.strictSame(single.typeIds, [0, 0, 0, 0, 0]);
  t.equal(single.offsets, undefined, 'no offsets for a byte-level vocabulary without all 256 byte characters');
  t.equal(single.wordIds, undefined);

  const pair = tok.encode(['hello', 'world']);
  t.strictSame(pair.tokens, ['<s>', 'hello', '</s>', '</s>', 'w', 'or', 'ld', '</s>']);
  t.strictSame(pair.ids, [0, 16, 2, 2, 9, 18, 20, 2]);
  t.strictSame(pair.typeIds, [0, 0, 0, 0, 0, 0, 0, 0], 'RoBERTa: type id 0 throughout');
  t.strictSame(pair.sequenceIds, [null, 0, null, null, 1, 1, 1, null]);

  t.strictSame(tok.encode('hello <mask>').ids, [0, 16, 4, 2], '<mask> strips the space on its left');
  t.equal(tok.decode(single.ids), '<s>hello world!</s>');
  t.equal(tok.decode(single.ids, { skipSpecialTokens: true }), 'hello world!');

  const b = tok.encodeBatch(['hello', ['hello', 'world']], { maxLength: 7 });
  t.equal(b.seqLen, 7);
  t.strictSame([...b.inputIds], [0, 16, 2, 1, 1, 1, 1, 0, 16, 2, 2, 9, 18, 2]);
  t.strictSame([...b.attentionMask], [1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
  t.strictSame([...b.tokenTypeIds], new Array(14).fill(0));
});

t.test('other post-processors: BertProcessing, Sequence, TemplateProcessing with several ids, none', async (t) => {
  const bertStyle = await tokenizerFrom(t, robertaJson({ type: 'BertProcessing', sep: ['</s>', 2], cls: ['<s>', 0] }));
  t.strictSame(bertStyle.encode(['hello', 'world']).ids, [0, 16, 2, 9, 18, 20, 2]);
  t.strictSame(bertStyle.encode(['hello', 'world']).typeIds, [0, 0, 0, 1, 1, 1, 1]);

  const sequence = await tokenizerFrom(
    t,
    robertaJson({ type: 'Sequence', processors: [{ type: 'ByteLevel', trim_offsets: true }, { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0] }] }),
  );
  t.strictSame(sequence.encode(['hello', 'world']).ids, [0, 16, 2, 2, 9, 18, 20, 2]);

  const template = await tokenizerFrom(
    t,
    robertaJson({
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: 'start', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: 'start', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { start: { id: 'start', ids: [0, 4], tokens: ['<s>', '<mask>'] } },
    }),
  );
  t.strictSame(template.encode('hello').ids, [0, 4, 16]);
  t.strictSame(template.encode(['hello', 'world']).typeIds, [0, 1, 1, 1, 1, 1]);
  t.strictSame(template.encode('hello world!', { maxLength: 2 }).ids, [0, 4], 'room for the two-id special only');
  t.throws(() => template.encode('hello world!', { maxLength: 1 }), { message: /an integer >= 2 .* but received 1/ }, 'a two-id special counts twice');

  const plain = await tokenizerFrom(t, robertaJson(null));
  t.strictSame(plain.encode(['hello', 'world']).ids, [16, 9, 18, 20]);
  t.strictSame(plain.encode(['hello', 'world']).typeIds, [0, 1, 1, 1]);
});

t.test('special tokens found only in the vocabulary (no added_tokens, no configs)', async (t) => {
  const bare = robertaJson();
  bare.added_tokens = [];
  const tok = await tokenizerFrom(t, bare);
  t.strictSame(
    Object.fromEntries(Object.entries(tok.special).map(([k, v]) => [k, [v.token, v.id]])),
    { cls: ['<s>', 0], sep: ['</s>', 2], pad: ['<pad>', 1], mask: ['<mask>', 4], unk: ['<unk>', 3] },
  );
});

// ---------------------------------------------------------------- errors

t.test('loadTokenizer rejects bad folders and files with codes that name them', async (t) => {
  await t.rejects(loadTokenizer(42 as unknown as string), { code: 'ERR_INVALID_ARG', message: 'Expected a non-empty string for dir but received 42 of type number' });
  const root = t.testdir({ empty: {}, 'a-file': 'x' });
  await t.rejects(loadTokenizer(join(root, 'missing')), { code: 'ERR_CHECKPOINT', message: /missing but it does not exist/ });
  await t.rejects(loadTokenizer(join(root, 'a-file')), { code: 'ERR_CHECKPOINT', message: /a-file but it is not a folder/ });
  await t.rejects(loadTokenizer(join(root, 'empty')), { code: 'ERR_CHECKPOINT', message: `Expected tokenizer.json or vocab.txt in ${join(root, 'empty')} but found neither` });

  const bad = async (files: Record<string, string>, message: RegExp | string) => {
    const dir = t.testdir(files);
    await t.rejects(loadTokenizer(dir), { code: 'ERR_CHECKPOINT', message }, typeof message === 'string' ? message : message.source);
  };
  await bad({ 'tokenizer.json': '{"model": {"type": "BPE",' }, /Expected valid JSON in .*tokenizer\.json but parsing failed: /);
  await bad({ 'tokenizer.json': '[1, 2]' }, /Expected a JSON object for the top level in .*tokenizer\.json but received array of length 2/);
  await bad({ 'tokenizer.json': '{"added_tokens": []}' }, /Expected an object for model in .*tokenizer\.json but received undefined/);
  await bad({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), model: { type: 'WordLevel', vocab: {} } }) }, /Expected 'WordPiece', 'BPE' or 'Unigram' for model\.type in .*tokenizer\.json but received 'WordLevel'/);
  const unigram = (model: Record<string, unknown>) => ({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), model: { type: 'Unigram', ...model } }) });
  await bad(unigram({ vocab: [] }), /Expected a non-empty array of \[piece, score\] pairs for model\.vocab in .*tokenizer\.json but received array of length 0/);
  await bad(unigram({ vocab: { a: 0 } }), /for model\.vocab in .*tokenizer\.json/);
  await bad(unigram({ vocab: [['a', -1], ['b', 'x']] }), /Expected a \[piece, score\] pair for model\.vocab\[1\] in .*tokenizer\.json but received array of length 2/);
  await bad(unigram({ vocab: [['a', -1]], unk_id: 1 }), /Expected null or an index into model\.vocab \(0 to 0\) for model\.unk_id in .*tokenizer\.json but received 1/);
  await bad({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), model: { ...robertaJson().model, vocab: { a: -1 } } }) }, /for model\.vocab\['a'\] .* but received -1/);
  await bad({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), model: { ...robertaJson().model, merges: 'x' } }) }, /Expected an array for model\.merges/);
  await bad({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), added_tokens: [{ id: 'x', content: '<s>' }] }) }, /for added_tokens\[0\] in .*tokenizer\.json/);
  await bad({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), normalizer: 'NFC' }) }, /Expected an object or null for normalizer/);
  await bad({ 'tokenizer.json': JSON.stringify({ ...robertaJson(), normalizer: { type: 'Bogus' } }) }, /Expected a tokenizer that @huggingface\/tokenizers can load in .*tokenizer\.json but it failed: Unknown Normalizer type: Bogus/);
  await bad({ 'tokenizer.json': JSON.stringify(robertaJson({ type: 'Bogus' })) }, /for post_processor\.type in .*tokenizer\.json but received 'Bogus'/);
  await bad({ 'tokenizer.json': JSON.stringify(robertaJson({ type: 'BertProcessing', sep: ['</s>'], cls: ['<s>', 0] })) }, /Expected a \[token, id\] pair for post_processor\.sep/);
  await bad(
    { 'tokenizer.json': JSON.stringify(robertaJson({ type: 'TemplateProcessing', single: [{ SpecialToken: { id: 'X', type_id: 0 } }], pair: [], special_tokens: {} })) },
    /Expected a key of post_processor\.special_tokens for post_processor\.single\[0\]\.SpecialToken\.id .* but received 'X'/,
  );
  await bad(
    { 'tokenizer.json': JSON.stringify(robertaJson()), 'tokenizer_config.json': JSON.stringify({ mask_token: '<nope>' }) },
    /Expected a token in the vocabulary for the mask token in .*tokenizer\.json but received '<nope>'/,
  );
  const noMask = robertaJson();
  noMask.added_tokens = noMask.added_tokens.filter((a) => a.content !== '<mask>');
  const { '<mask>': _, ...vocabNoMask } = noMask.model.vocab;
  await bad(
    { 'tokenizer.json': JSON.stringify({ ...noMask, model: { ...noMask.model, vocab: vocabNoMask } }) },
    /Expected a mask token in .*: mask_token in special_tokens_map\.json or tokenizer_config\.json, or a token in tokenizer\.json \(added or in the vocabulary\) named \[MASK\] or <mask>; found none/,
  );
  await bad({ 'tokenizer.json': JSON.stringify(robertaJson()), 'special_tokens_map.json': '{"pad_token": 5}' }, /for pad_token in .*special_tokens_map\.json but received 5/);
  await bad({ 'vocab.txt': '[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n' }, /Expected the mask token '\[MASK\]' \(mask_token\) as a line of .*vocab\.txt but it is not there/);
  await bad({ 'vocab.txt': '[PAD]\n', 'tokenizer_config.json': '{"do_lower_case": "yes"}' }, /Expected a boolean for do_lower_case in .*tokenizer_config\.json but received 'yes'/);
  await bad({ 'vocab.txt': '[PAD]\n', 'tokenizer_config.json': '{oops' }, /Expected valid JSON in .*tokenizer_config\.json/);
});

t.test('a special token from special_tokens_map.json as an AddedToken object', async (t) => {
  const tok = await loadTokenizer(
    t.testdir({ 'tokenizer.json': JSON.stringify(robertaJson()), 'special_tokens_map.json': JSON.stringify({ pad_token: { content: '<unk>', lstrip: false } }) }),
  );
  t.strictSame(tok.special.pad, { token: '<unk>', id: 3 });
});

t.test('encode and encodeBatch validate their arguments', async (t) => {
  const tok = await tokenizerFrom(t, robertaJson());
  t.throws(() => tok.encode(42 as unknown as string), { code: 'ERR_INVALID_ARG', message: 'Expected a string or a [string, string] pair for input but received 42 of type number' });
  t.throws(() => tok.encode(['a'] as unknown as [string, string]), { message: /for input but received array of length 1/ });
  t.throws(() => tok.encode('a', { maxLen: 3 } as never), { code: 'ERR_INVALID_ARG', message: /options\.maxLen/ });
  t.throws(() => tok.encode('a', { maxLength: -1 }), { message: 'Expected an integer >= 0 for options.maxLength but received -1 of type number' });
  t.throws(() => tok.encode('a', { truncation: 'only_first' as 'only_second' }), { message: /one of 'longest_first', 'only_second' for options\.truncation/ });
  t.throws(() => tok.encode('a', null as never), { message: /an object for options/ });
  const e: Encoding = tok.encode('hello');
  t.strictSame(e.ids, [0, 16, 2]);
});

// ---------------------------------------------------------------- pre-split words (token classification)

t.test('encodeWords: each word on its own, word ids by input word, truncation from the end', { skip: bert.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  const e = tok.encodeWords(['Paris', 'Hilton', "isn't", '\u200b', 'unaffable']);
  t.strictSame(e.tokens, ['[CLS]', 'paris', 'hilton', 'isn', "'", 't', 'una', '##ffa', '##ble', '[SEP]']);
  t.strictSame(e.wordIds, [null, 0, 1, 2, 2, 2, 4, 4, 4, null], "a word split by punctuation keeps one id; a word of nothing but a zero-width space has no token");
  t.strictSame(e.typeIds, new Array(10).fill(0));
  t.strictSame(e.ids, tok.encode("Paris Hilton isn't \u200b unaffable").ids, 'the same ids as the words joined by spaces');
  // transformers 5.18 (is_split_into_words=True, return_offsets_mapping=True): offsets into each word.
  t.strictSame(e.offsets, [[0, 0], [0, 5], [0, 6], [0, 3], [3, 4], [4, 5], [0, 3], [3, 6], [6, 9], [0, 0]]);
  t.strictSame(Object.keys(e).sort(), ['ids', 'offsets', 'tokens', 'typeIds', 'wordIds']);

  const cut = tok.encodeWords(['Paris', 'unaffable', 'x'], { maxLength: 4 });
  t.strictSame(cut.tokens, ['[CLS]', 'paris', 'una', '[SEP]'], 'cut by tokens, so a word may lose its last pieces');
  t.strictSame(cut.wordIds, [null, 0, 1, null]);
  t.strictSame(tok.encodeWords([]).tokens, ['[CLS]', '[SEP]']);
  t.strictSame(tok.encodeWords(['[MASK]', 'x']).ids, [101, 103, 1060, 102], 'special tokens are matched inside words');

  t.throws(() => tok.encodeWords('Paris Hilton' as unknown as string[]), { code: 'ERR_INVALID_ARG', message: "Expected an array of strings for words but received 'Paris Hilton' of type string" });
  t.throws(() => tok.encodeWords(['a', 3 as unknown as string]), { code: 'ERR_INVALID_ARG', message: 'Expected a string for words[1] but received 3 of type number' });
  t.throws(() => tok.encodeWords(['a'], { maxLength: 1 }), { code: 'ERR_INVALID_ARG', message: /an integer >= 2 .*for options\.maxLength/ });
  t.throws(() => tok.encodeWords(['a'], { truncation: 'only_second' } as never), { code: 'ERR_INVALID_ARG', message: /options\.truncation/ });
});

t.test('encodeWords on byte-level BPE: every word gets the leading space of add_prefix_space=True', async (t) => {
  const tok = await tokenizerFrom(t, robertaJson());
  const e = tok.encodeWords(['hello', 'world', '!']);
  // transformers (RobertaTokenizerFast, add_prefix_space=True, is_split_into_words=True) prefixes the first word too.
  t.strictSame(e.tokens, ['<s>', 'Ġ', 'hello', 'Ġworld', 'Ġ', '!', '</s>']);
  t.strictSame(e.wordIds, [null, 0, 0, 1, 2, 2, null]);
  t.strictSame(tok.encodeWords([' world']).tokens, ['<s>', 'Ġworld', '</s>'], 'a word that starts with a space gets no second one');
  const prefixed = robertaJson();
  prefixed.pre_tokenizer.add_prefix_space = true;
  t.strictSame((await tokenizerFrom(t, prefixed)).encodeWords(['hello', 'world']).tokens, ['<s>', 'Ġ', 'hello', 'Ġworld', '</s>'], 'the same when the pre-tokenizer adds the space itself');
});

t.test('byte-level BPE offsets and word ids: the WikiText-2 fixture, values from transformers 5.18', async (t) => {
  const tok = await loadTokenizer(join(repoRoot, 'test', 'fixtures', 'roberta-bpe-wikitext2'));
  const e = tok.encode('party \u{1F600} time');
  t.strictSame(e.tokens, ['<s>', 'p', 'art', 'y', 'Ġ', 'ð', 'Ł', 'ĺ', 'Ģ', 'Ġtime', '</s>']);
  t.strictSame(e.offsets, [[0, 0], [0, 1], [1, 4], [4, 5], [6, 6], [6, 8], [6, 8], [6, 8], [6, 8], [9, 13], [0, 0]], "a lone 'Ġ' trims to nothing; the emoji's bytes each cover it all (UTF-16)");
  t.strictSame(e.wordIds, [null, 0, 0, 0, 1, 1, 1, 1, 1, 2, null]);
  const mask = tok.encode('a <mask> b');
  t.strictSame(mask.ids, [0, 69, 4, 287, 2]);
  t.strictSame(mask.offsets, [[0, 0], [0, 1], [2, 8], [9, 10], [0, 0]], '<mask> swallows the space on its left, then trimming drops it from the offsets');
  const pair = tok.encode(['one two three', 'four five']);
  t.strictSame(pair.offsets, [[0, 0], [0, 3], [4, 7], [8, 13], [0, 0], [0, 0], [0, 1], [1, 4], [5, 9], [0, 0]]);
  t.strictSame(pair.wordIds, [null, 0, 1, 2, null, null, 0, 0, 1, null]);
  // add_prefix_space=True, is_split_into_words=True: the added space is kept in the first token's offsets
  // unless the token is nothing but that space.
  const words = tok.encodeWords(['\u{1F600}', '@x', 'Paris']);
  t.strictSame(words.tokens, ['<s>', 'Ġ', 'ð', 'Ł', 'ĺ', 'Ģ', 'Ġ@', 'x', 'ĠPar', 'is', '</s>']);
  t.strictSame(words.offsets, [[0, 0], [0, 0], [0, 2], [0, 2], [0, 2], [0, 2], [0, 1], [1, 2], [0, 3], [3, 5], [0, 0]]);
  t.strictSame(words.wordIds, [null, 0, 0, 0, 0, 0, 1, 1, 2, 2, null]);
});

const wnut = sharedPath('wnut17', 'train.conll');
t.test('WNUT-17: word ids line up with the words, and each word labels its first token', { skip: bert.skip || wnut.skip }, async (t) => {
  const tok = await loadTokenizer(bert.path);
  const sentences = await readConll(wnut.path);
  const tagList = buildTagList(sentences);
  const encoded = encodeTagged(sentences, (words) => tok.encodeWords(words), tagList);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  let words = 0;
  let labelled = 0;
  const misaligned: number[] = [];
  const mislabelled: number[] = [];
  sentences.forEach((s, i) => {
    const e = tok.encodeWords(s.tokens);
    // The tokens of word w are, in order and contiguous, the tokens of w encoded alone.
    const alone = s.tokens.map((w) => tok.encode(w).tokens.slice(1, -1));
    if (!same(e.tokens.slice(1, -1), alone.flat()) || !same(e.wordIds, [null, ...alone.flatMap((toks, w) => toks.map(() => w)), null])) misaligned.push(i);
    // The first token of each word carries its tag's id; every other position -100.
    const want = e.wordIds.map((w, k) => (w === null || e.wordIds[k - 1] === w ? -100 : tagList.indexOf(s.tags[w]!)));
    if (!same(encoded[i]!.labels, want) || !same(alignTokenLabels(s.tags.map((tag) => tagList.indexOf(tag)), e.wordIds), want)) mislabelled.push(i);
    words += s.tokens.length;
    labelled += want.filter((l) => l !== -100).length;
  });
  t.same(misaligned, [], 'sentences whose word ids do not line up');
  t.same(mislabelled, [], 'sentences whose first tokens miss their labels');
  t.equal(sentences.length, 3394);
  t.equal(labelled, words, `all ${words} words have a token and a label`);
});

t.test('SentencePiece-style Unigram (DeBERTa-v3, ALBERT): ids, offsets and word ids from transformers 5.18', async (t) => {
  // A final capital sigma, U+FEFF (not whitespace in Rust) and U+0085 (whitespace in Rust): where the JS
  // library alone would part from tokenizers.
  const pair: [string, string] = ['Hello world, a  test of the Tokenizer café.', 'ΟΔΟΣ bom\ufeffx nel\u0085next'];
  const deberta = await loadTokenizer(join(repoRoot, 'test', 'fixtures', 'deberta-v3-unigram-wikitext2'));
  t.strictSame(
    { cls: deberta.special.cls.id, sep: deberta.special.sep.id, pad: deberta.special.pad.id, unk: deberta.special.unk.id, mask: deberta.special.mask.id },
    { cls: 1, sep: 2, pad: 0, unk: 3, mask: 2000 },
  );
  const d = deberta.encode(pair);
  t.strictSame(d.ids, [1, 159, 253, 24, 780, 7, 15, 4, 19, 180, 11, 6, 421, 78, 39, 211, 37, 635, 72, 748, 8, 2, 4, 3, 135, 267, 3, 392, 4, 25, 144, 3, 25, 366, 2]);
  t.strictSame(d.typeIds, [...Array(22).fill(0), ...Array(13).fill(1)]);
  // [start, end) into each text: a prepended "▁" takes the place of the character after it, the "▁" of two
  // spaces (Replace) that of the second space.
  t.strictSame(d.offsets, [[0, 0], [0, 1], [1, 4], [4, 5], [5, 11], [11, 12], [12, 14], [15, 16], [16, 17], [17, 20], [20, 23], [23, 27], [27, 30], [30, 31], [31, 33], [33, 35], [35, 37], [37, 40], [40, 41], [41, 42], [42, 43], [0, 0], [0, 1], [0, 4], [4, 6], [6, 8], [8, 9], [9, 10], [10, 11], [11, 12], [12, 14], [14, 15], [15, 16], [16, 19], [0, 0]]);
  t.strictSame(d.wordIds, [null, 0, 0, 0, 1, 1, 2, 3, 3, 3, 4, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7, null, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, null]);
  const w = deberta.encodeWords(['Dubbz\ufeff', 'ok']);
  t.strictSame({ ids: w.ids, wordIds: w.wordIds }, { ids: [1, 424, 63, 63, 112, 3, 4, 314, 2], wordIds: [null, 0, 0, 0, 0, 0, 1, 1, null] });

  const albert = await loadTokenizer(join(repoRoot, 'test', 'fixtures', 'albert-unigram-wikitext2'));
  t.strictSame([albert.special.cls.id, albert.special.sep.id, albert.special.pad.id, albert.special.unk.id, albert.special.mask.id], [2, 3, 0, 1, 4]);
  const a = albert.encode(pair);
  t.strictSame(a.ids, [2, 5, 55, 223, 24, 258, 8, 15, 5, 20, 211, 11, 7, 17, 72, 38, 273, 41, 233, 60, 16, 9, 3, 5, 1971, 1896, 1971, 1897, 249, 54, 1, 133, 572, 29, 5, 25, 408, 3]);
  t.strictSame(a.typeIds, [...Array(23).fill(0), ...Array(15).fill(1)]);
  t.strictSame(a.offsets, [[0, 0], [0, 1], [0, 1], [1, 4], [4, 5], [6, 11], [11, 12], [13, 14], [16, 17], [16, 17], [17, 20], [21, 23], [24, 27], [28, 30], [30, 31], [31, 33], [33, 35], [35, 37], [38, 40], [40, 41], [41, 42], [42, 43], [0, 0], [0, 1], [0, 1], [1, 2], [2, 3], [3, 4], [5, 7], [7, 8], [8, 9], [9, 10], [11, 13], [13, 14], [15, 16], [15, 16], [16, 19], [0, 0]]);
  t.strictSame(a.wordIds, [null, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 4, 5, 6, 6, 6, 6, 6, 7, 7, 7, 7, null, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, null]);
  t.strictSame(albert.encodeWords(['Dubbz\ufeff', 'ok']).ids, [2, 330, 57, 57, 97, 1, 5, 285, 3]);
  t.equal(albert.decode(a.ids, { skipSpecialTokens: true }), 'hello world, a test of the tokenizer cafe. οδοσ bomx nel next');
});

t.test('Unigram offsets under a Precompiled normalizer (older conversions of DeBERTa-v3 hub checkpoints)', async (t) => {
  // The library approximates the character map (controls removed, some spaces to ' ', NFKC); offsets
  // follow what it does: the ligature's two letters both point at it, the removed bell at nothing, the
  // "▁" of two spaces (Replace) at the second.
  const src = join(repoRoot, 'test', 'fixtures', 'deberta-v3-unigram-wikitext2');
  const spec = JSON.parse(readFileSync(join(src, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  spec.normalizer = {
    type: 'Sequence',
    normalizers: [
      { type: 'Strip', strip_left: true, strip_right: true },
      { type: 'Precompiled', precompiled_charsmap: '' },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
    ],
  };
  const dir = t.testdir({ 'tokenizer.json': JSON.stringify(spec), 'tokenizer_config.json': readFileSync(join(src, 'tokenizer_config.json'), 'utf8') });
  const tok = await loadTokenizer(dir);
  const text = ' \ufb01ne\u00a0caf\u0007\u00e9  the\u3000end ';
  const e = tok.encode(text);
  t.strictSame(e.tokens, ['[CLS]', '▁f', 'ine', '▁ca', 'f', 'é', '▁the', '▁end', '[SEP]']);
  t.strictSame(e.offsets, [[0, 0], [1, 2], [1, 4], [4, 7], [7, 8], [9, 10], [11, 15], [15, 19], [0, 0]]);
  t.strictSame(e.wordIds, [null, 0, 0, 1, 1, 1, 2, 3, null]);
});
