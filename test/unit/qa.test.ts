import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { SquadExample } from '../../lib/data/squad.js';
import { squadScores } from '../../lib/metrics/squad.js';
import { collateQa, decodeQaSpans, prepareQaFeatures, type QaFeature, type QaLogits } from '../../lib/tasks/qa.js';
import { loadTokenizer, type Tokenizer } from '../../lib/tokenizer/index.js';
import { repoRoot } from '../helpers/data.js';

const WORDS = Array.from({ length: 40 }, (_, i) => `w${i}`);
const CONTEXT = `${WORDS.join(' ')}`;

/** A WordPiece tokenizer whose every context word is one token. */
async function tokenizer(t: Test): Promise<Tokenizer> {
  const dir = t.testdir();
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'what', 'is', 'where', '?', '.', ',', 'the', 'end', 'in', 'cafe', 'zurich', '東', '京', ...WORDS];
  writeFileSync(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  return loadTokenizer(dir);
}

function example(id: string, answer: string, context = CONTEXT, question = 'what is w1 ?'): SquadExample {
  const start = context.indexOf(answer);
  return { id, title: '', question, context, answers: [{ text: answer, start }] };
}

/** The context words a feature holds. */
function windowWords(ex: SquadExample, f: QaFeature): string[] {
  return f.offsets.filter((o): o is [number, number] => o !== null).map(([s, e]) => ex.context.slice(s, e));
}

function answerOf(ex: SquadExample, f: QaFeature): string | null {
  return f.startPosition === 0 ? null : ex.context.slice(f.offsets[f.startPosition]![0], f.offsets[f.endPosition]![1]);
}

// Question 'what is w1 ?' is 4 tokens, so maxLength 20 leaves 13 context tokens per window; with
// docStride 5 the windows start every 8 tokens: [0, 13), [8, 21), [16, 29), [24, 37), [32, 40).
const OPTIONS = { maxLength: 20, docStride: 5 };
const HEAD = 6; // [CLS] what is w1 ? [SEP]

t.test('a long context: overlapping windows as tokenizers with stride and only_second', async (t) => {
  const tok = await tokenizer(t);
  const ex = example('a', 'w12');
  const features = prepareQaFeatures(tok, [ex], OPTIONS);
  t.equal(features.length, 5);
  t.same(
    features.map((f) => windowWords(ex, f)),
    [[0, 13], [8, 21], [16, 29], [24, 37], [32, 40]].map(([a, b]) => WORDS.slice(a, b)),
  );
  const first = tok.encode([ex.question, ex.context], { maxLength: 20, truncation: 'only_second' });
  t.strictSame([features[0]!.ids, features[0]!.typeIds], [first.ids, first.typeIds], 'the first window is the truncated encoding');
  for (const f of features) {
    t.equal(f.length, f.ids.length);
    t.ok(f.length <= 20);
    t.strictSame(f.ids.slice(0, HEAD), first.ids.slice(0, HEAD), 'every window holds the whole question');
    t.equal(f.ids.at(-1), tok.special.sep.id);
    t.strictSame(f.typeIds, f.ids.map((_, i) => (i < HEAD ? 0 : 1)));
    t.strictSame(f.offsets.slice(0, HEAD), new Array(HEAD).fill(null), 'no offsets on special and question tokens');
    t.equal(f.offsets.at(-1), null);
    t.equal(f.exampleIndex, 0);
  }
  const spaced = prepareQaFeatures(tok, [{ ...ex, question: ' \t what is w1 ?' }], OPTIONS);
  t.strictSame(spaced, features, "the question's leading whitespace is dropped, as run_qa.py does");
  t.same(prepareQaFeatures(tok, [ex]).length, 1, 'one window when everything fits (maxLength 384)');
});

t.test('answer positions: inside, at the edges of, and across windows', async (t) => {
  const tok = await tokenizer(t);
  const examples = [example('inside', 'w12'), example('across', 'w12 w13'), example('first', 'w8'), example('last', 'w39')];
  const features = prepareQaFeatures(tok, examples, OPTIONS);
  t.equal(features.length, 20);
  const byExample = examples.map((_, i) => features.filter((f) => f.exampleIndex === i).map((f) => [f.startPosition, f.endPosition]));
  t.same(byExample, [
    [[HEAD + 12, HEAD + 12], [HEAD + 4, HEAD + 4], [0, 0], [0, 0], [0, 0]], // last token of window 0, inside window 1
    [[0, 0], [HEAD + 4, HEAD + 5], [0, 0], [0, 0], [0, 0]], // runs past window 0: [CLS] there
    [[HEAD + 8, HEAD + 8], [HEAD, HEAD], [0, 0], [0, 0], [0, 0]], // first context token of window 1
    [[0, 0], [0, 0], [0, 0], [0, 0], [HEAD + 7, HEAD + 7]], // last context token of the last window
  ]);
  for (const f of features) if (f.startPosition !== 0) t.equal(answerOf(examples[f.exampleIndex]!, f), examples[f.exampleIndex]!.answers[0]!.text);
  const none = prepareQaFeatures(tok, [{ ...examples[0]!, answers: [] }], OPTIONS);
  t.same(none.map((f) => [f.startPosition, f.endPosition]), new Array(5).fill([0, 0]), 'no answer: [CLS] everywhere');

  const batch = collateQa(features.slice(15), { padId: tok.special.pad.id });
  t.same([batch.batchSize, batch.seqLen], [5, 20]);
  t.same(Array.from(batch.startPositions), [0, 0, 0, 0, HEAD + 7]);
  t.same(Array.from(batch.endPositions), [0, 0, 0, 0, HEAD + 7]);
  t.same(Array.from(batch.attentionMask.subarray(80)), [...new Array(HEAD + 8 + 1).fill(1), ...new Array(20 - HEAD - 9).fill(0)], 'the short last window is padded');
  t.throws(() => collateQa([{ ...features[0]!, startPosition: 20 }], { padId: 0 }), { code: 'ERR_INVALID_ARG', message: /an integer >= 0 and <= 19 for features\[0\]\.startPosition/ });
  t.throws(() => collateQa([], { padId: 0 }), { code: 'ERR_INVALID_ARG', message: /non-empty array of QA features for features/ });
  t.throws(() => collateQa(features, { padId: 0, task: 'regression' } as never), { code: 'ERR_INVALID_ARG', message: /options\.task/ });
});

t.test('unicode: accents, characters beyond U+FFFF and CJK map back to the original text', async (t) => {
  const tok = await tokenizer(t);
  const context = 'Café in Zürich 🙂 東京, the end.';
  const examples = [example('z', 'Zürich', context, 'where ?'), example('emoji', '🙂', context, 'where ?'), example('cjk', '東京', context, 'where ?'), example('tail', 'the end.', context, 'where ?')];
  const features = prepareQaFeatures(tok, examples);
  t.equal(features.length, 4);
  t.same(
    features.map((f, i) => answerOf(examples[i]!, f)),
    ['Zürich', '🙂', '東京', 'the end.'],
  );
  t.same(windowWords(examples[0]!, features[0]!), ['Café', 'in', 'Zürich', '🙂', '東', '京', ',', 'the', 'end', '.']);
  t.equal(tok.idToToken(features[1]!.ids[features[1]!.startPosition]!), '[UNK]');
  // Windows over the same text: 'where ?' + 3 specials leave 3 context tokens at maxLength 8.
  const windowed = prepareQaFeatures(tok, [examples[1]!], { maxLength: 8, docStride: 1 });
  t.same(
    windowed.map((f) => windowWords(examples[1]!, f)),
    [['Café', 'in', 'Zürich'], ['Zürich', '🙂', '東'], ['東', '京', ','], [',', 'the', 'end'], ['end', '.']],
  );
  t.same(
    windowed.map((f) => answerOf(examples[1]!, f)),
    [null, '🙂', null, null, null],
  );
});

t.test('features: bad arguments and texts that cannot be windowed', async (t) => {
  const tok = await tokenizer(t);
  const ex = example('a', 'w12');
  t.throws(() => prepareQaFeatures(tok, [ex], { maxLength: 7 }), { code: 'ERR_INVALID_ARG', message: /^Expected a question that leaves room for context tokens within maxLength 7 \(with the special tokens it takes 7\) for examples\[0\]\.question/ });
  t.throws(() => prepareQaFeatures(tok, [ex], { maxLength: 20, docStride: 13 }), { code: 'ERR_INVALID_ARG', message: /^Expected an integer below 13, the context tokens per window of examples\[0\] .* for options\.docStride but received 13/ });
  t.throws(() => prepareQaFeatures(tok, [ex], { maxLen: 3 } as never), { code: 'ERR_INVALID_ARG', message: /options\.maxLen/ });
  t.throws(() => prepareQaFeatures(tok, [{ ...ex, context: 3 } as never]), { code: 'ERR_INVALID_ARG', message: /a string for examples\[0\]\.context/ });
  t.throws(() => prepareQaFeatures({} as Tokenizer, [ex]), { code: 'ERR_INVALID_ARG', message: /a Tokenizer .* for tokenizer/ });
  const bpe = await loadTokenizer(
    t.testdir({
      'tokenizer.json': JSON.stringify({
        model: { type: 'BPE', vocab: { '<s>': 0, '</s>': 1, '<pad>': 2, '<unk>': 3, '<mask>': 4, a: 5, b: 6 }, merges: [] },
        added_tokens: ['<s>', '</s>', '<pad>', '<unk>', '<mask>'].map((content, id) => ({ id, content, special: true })),
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        post_processor: { type: 'RobertaProcessing', sep: ['</s>', 1], cls: ['<s>', 0] },
      }),
    }),
  );
  t.throws(() => prepareQaFeatures(bpe, [ex]), { code: 'ERR_INVALID_ARG', message: /^Expected a tokenizer with token offsets for question answering/ });
});

/** Zero logits for every feature, with some set: [feature, token, start or end, value]. */
function logitsFor(features: readonly QaFeature[], set: Array<[number, number, 'start' | 'end', number]>): QaLogits[] {
  const out = features.map((f) => ({ start: new Float32Array(f.length), end: new Float32Array(f.length) }));
  for (const [f, i, which, value] of set) out[f]![which][i] = value;
  return out;
}

t.test('span decoding: n-best, context tokens only, end after start, longest answer, best window', async (t) => {
  const tok = await tokenizer(t);
  const examples = [example('a', 'w12')];
  const features = prepareQaFeatures(tok, examples, OPTIONS);
  const logits = logitsFor(features, [
    [0, 3, 'start', 50], // 'w1' in the question: never an answer
    [0, 3, 'end', 50],
    [0, HEAD + 12, 'start', 4], // w12 in window 0: 8
    [0, HEAD + 12, 'end', 4],
    [1, HEAD + 4, 'start', 5], // w12 in window 1: 10, the best
    [1, HEAD + 4, 'end', 5],
    [2, HEAD + 8, 'start', 9], // w24 .. w23: ends before it starts
    [2, HEAD + 7, 'end', 9],
    [3, HEAD, 'start', 10], // w24 .. w36: 13 tokens
    [3, HEAD + 12, 'end', 10],
  ]);
  t.same(decodeQaSpans(examples, features, logits, { maxAnswerLength: 12 }), [{ id: 'a', text: 'w12', start: CONTEXT.indexOf('w12'), end: CONTEXT.indexOf('w12') + 3, score: 10 }]);
  const long = decodeQaSpans(examples, features, logits, { maxAnswerLength: 13 })[0]!;
  t.same([long.text, long.score], [WORDS.slice(24, 37).join(' '), 20], 'a 13-token answer once allowed');
  const long30 = decodeQaSpans(examples, features, logits)[0]!;
  t.equal(long30.text, long.text, 'default maxAnswerLength 30');
  const scores = squadScores({ a: decodeQaSpans(examples, features, logits, { maxAnswerLength: 12 })[0]!.text }, examples);
  t.same([scores.exactMatch, scores.f1], [1, 1]);

  // The best start of window 0 is a question token; the second best is w0.
  const questionOnly = logitsFor(features.slice(0, 1), [
    [0, 3, 'start', 50],
    [0, HEAD, 'start', 2],
    [0, HEAD + 1, 'end', 1],
  ]);
  t.same(decodeQaSpans(examples, features.slice(0, 1), questionOnly, { nBest: 1 }), [{ id: 'a', text: '', start: 0, end: 0, score: Number.NEGATIVE_INFINITY }], 'nothing valid among the n best');
  t.same(decodeQaSpans(examples, features.slice(0, 1), questionOnly, { nBest: 2 })[0], { id: 'a', text: 'w0 w1', start: 0, end: 5, score: 3 }, 'the second best start with the best end');
});

t.test('decoding the training targets gives back every gold answer', async (t) => {
  const tok = await tokenizer(t);
  const context = 'Café in Zürich 🙂 東京, the end.';
  const examples = [
    example('inside', 'w12'),
    example('across', 'w12 w13'),
    example('first', 'w8'),
    example('last', 'w39'),
    example('emoji', '🙂', context, 'where ?'),
    example('cjk', '東京', context, 'where ?'),
  ];
  const features = prepareQaFeatures(tok, examples, OPTIONS);
  const oneHot = logitsFor(
    features,
    features.flatMap((f, i): Array<[number, number, 'start' | 'end', number]> => [
      [i, f.startPosition, 'start', 1],
      [i, f.endPosition, 'end', 1],
    ]),
  );
  const predictions = decodeQaSpans(examples, features, oneHot);
  t.same(
    predictions.map((p) => p.text),
    examples.map((e) => e.answers[0]!.text),
  );
  t.same(squadScores(Object.fromEntries(predictions.map((p) => [p.id, p.text])), examples), { exactMatch: 1, f1: 1, total: 6, unanswered: 0 });
});

t.test('span decoding validates its arguments', async (t) => {
  const tok = await tokenizer(t);
  const examples = [example('a', 'w12')];
  const features = prepareQaFeatures(tok, examples, OPTIONS);
  const logits = logitsFor(features, []);
  t.throws(() => decodeQaSpans(examples, features, logits.slice(1)), { code: 'ERR_INVALID_ARG', message: /an array of 5 \{ start, end \} logits \(one per feature\) for logits/ });
  t.throws(() => decodeQaSpans(examples, features, [{ start: [1], end: [1] }, ...logits.slice(1)]), { code: 'ERR_INVALID_ARG', message: /start and end logits of at least 20 values \(features\[0\]\.length\) for logits\[0\]/ });
  t.throws(() => decodeQaSpans([], features, logits), { code: 'ERR_INVALID_ARG', message: /an index of examples .* for features\[0\]\.exampleIndex/ });
  t.throws(() => decodeQaSpans(examples, features, logits, { nBest: 0 }), { code: 'ERR_INVALID_ARG', message: /an integer >= 1 for options\.nBest/ });
  t.throws(() => decodeQaSpans(examples, features, logits, { batchSize: 2 } as never), { code: 'ERR_INVALID_ARG', message: /options\.batchSize/ });
});

t.test('SentencePiece-style Unigram tokenizers (DeBERTa-v3, ALBERT) find answers through their offsets', async (t) => {
  const context = 'The Normans gave their name to Normandy, a region in France, in the 10th and 11th centuries.';
  const ex: SquadExample = { id: 'n', title: '', question: 'In what country is Normandy?', context, answers: [{ text: 'France', start: context.indexOf('France') }] };
  for (const name of ['deberta-v3-unigram-wikitext2', 'albert-unigram-wikitext2']) {
    const tok = await loadTokenizer(join(repoRoot, 'test', 'fixtures', name));
    const [f] = prepareQaFeatures(tok, [ex], { maxLength: 64 });
    t.ok(f!.startPosition > 0, `${name}: the answer is in the window`);
    // ALBERT lowercases, but offsets point into the original context. DeBERTa-v3's "▁France" covers the
    // space before it (as in transformers: its Metaspace keeps the space), which SQuAD scoring ignores.
    t.equal(answerOf(ex, f!), name.startsWith('deberta') ? ' France' : 'France', `${name}: its tokens span the answer`);
  }
});
