import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { attackRates, quartiles } from '../../lib/robustness/stats.js';
import { ENGLISH_STOPWORDS } from '../../lib/robustness/stopwords.js';
import { matchCase, renderTexts, segmentWords } from '../../lib/robustness/words.js';
import { loadTokenizer } from '../../lib/tokenizer/load.js';

async function tokenizer(dir: string) {
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'was', 'boring', 'un', '##believ', '##able', 'a', 'man', 'sleeps', 'nobody', '.', ',', '!'].join('\n')}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
  return loadTokenizer(dir);
}

t.test('words are whole words: multi-piece words are one unit with their exact characters', async (t) => {
  const tok = await tokenizer(t.testdir());
  const seg = segmentWords(tok, ['The  unbelievable film was Boring!'], 64);
  t.same(seg.words.map((w) => w.text), ['The', 'unbelievable', 'film', 'was', 'Boring', '!']);
  t.same(seg.words[1]!.pieces.map((id) => tok.idToToken(id)), ['un', '##believ', '##able']);
  t.equal(seg.target, 0);
  t.same(renderTexts(seg, new Map([[1, 'dull'], [4, 'Fine']])), ['The  dull film was Fine!']);
  t.same(renderTexts(seg, new Map([[1, '']])), ['The  film was Boring!'], 'a deleted word takes one space with it');
  t.same(renderTexts(seg, new Map([[0, '']])), ['  unbelievable film was Boring!'], 'spaces after a deleted first word stay (the tokenizer ignores them)');
});

t.test('pairs: the second text is attacked; truncation drops the words it cuts', async (t) => {
  const tok = await tokenizer(t.testdir());
  const seg = segmentWords(tok, ['A man sleeps.', 'Nobody sleeps.'], 64);
  t.equal(seg.target, 1);
  t.same(seg.words.map((w) => [w.index, w.text]), [[0, 'Nobody'], [1, 'sleeps'], [2, '.']]);
  t.same(renderTexts(seg, new Map([[0, 'A man']])), ['A man sleeps.', 'A man sleeps.']);
  // [CLS] the film [SEP]: 4 tokens keep two words of the single text
  t.same(segmentWords(tok, ['the film was boring'], 4).words.map((w) => w.text), ['the', 'film']);
  // a word cut in the middle keeps the pieces that fit
  t.same(segmentWords(tok, ['unbelievable film'], 4).words.map((w) => w.text), ['unbeliev']);
});

t.test('case of substitutes follows the word', async (t) => {
  t.equal(matchCase('Boring', 'dull'), 'Dull');
  t.equal(matchCase('BORING', 'dull'), 'DULL');
  t.equal(matchCase('boring', 'dull'), 'dull');
  t.equal(matchCase('I', 'we'), 'We');
});

t.test('quartiles interpolate as numpy; TextAttack rates', async (t) => {
  t.same(quartiles([1, 2, 3, 4]), { median: 2.5, q1: 1.75, q3: 3.25 });
  t.same(quartiles([5]), { median: 5, q1: 5, q3: 5 });
  t.ok(Number.isNaN(quartiles([]).median));
  t.same(attackRates({ successful: 3, failed: 5, skipped: 2 }), { accuracyUnderAttack: 0.5, successRate: 0.375 });
  t.same(attackRates({ successful: 0, failed: 0, skipped: 4 }), { accuracyUnderAttack: 0, successRate: 0 });
});

t.test('stop words: lowercase, unique, negations included', async (t) => {
  t.equal(new Set(ENGLISH_STOPWORDS).size, ENGLISH_STOPWORDS.length);
  t.ok(ENGLISH_STOPWORDS.every((w) => w === w.toLowerCase() && /^[a-z]+$/.test(w)));
  for (const w of ['not', 'never', 'the', 'is']) t.ok(ENGLISH_STOPWORDS.includes(w), w);
});
