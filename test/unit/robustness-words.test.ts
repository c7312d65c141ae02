import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { attackRates, quartiles } from '../../lib/robustness/stats.js';
import { canReplacePos, PartOfSpeechTagger } from '../../lib/robustness/pos.js';
import { similarity, windowBounds } from '../../lib/robustness/similarity.js';
import { ENGLISH_STOPWORDS, NLTK_ENGLISH_STOPWORDS, TEXTFOOLER_STOPWORDS } from '../../lib/robustness/stopwords.js';
import { resolveWordAttack, WORD_RECIPES, wordAttack } from '../../lib/robustness/word-attack.js';
import type { Batch } from '../../lib/model/batch.js';
import type { Model } from '../../lib/model/model.js';
import { WordNet } from '../../lib/robustness/wordnet.js';
import { matchCase, renderSpan, renderTexts, segmentWords } from '../../lib/robustness/words.js';
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
  // windows are substrings of the text as it stands, punctuation and spacing included
  t.equal(renderSpan(seg, new Map([[1, 'dull']]), 1, 5), 'dull film was Boring!');
  t.equal(renderSpan(seg, new Map([[2, 'movie'], [4, 'Fine']]), 0, 4), 'The  unbelievable movie was Fine');
  t.equal(renderSpan(seg, new Map(), 2, 3), 'film was');
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

t.test('stop words: TextFooler\'s list and NLTK\'s, as TextAttack uses them', async (t) => {
  t.equal(TEXTFOOLER_STOPWORDS.length, 266);
  t.equal(NLTK_ENGLISH_STOPWORDS.length, 198);
  t.equal(ENGLISH_STOPWORDS, NLTK_ENGLISH_STOPWORDS, 'the default of TextAttack\'s StopwordModification');
  for (const list of [TEXTFOOLER_STOPWORDS, NLTK_ENGLISH_STOPWORDS]) {
    t.equal(new Set(list).size, list.length);
    t.ok(list.every((w) => w === w.toLowerCase() && /^[a-z']+$/.test(w)));
    for (const w of ['not', 'no', 'nor', 'the', 'is', 'don', 't']) t.ok(list.includes(w), w);
  }
  // words on one list only: the recipes differ here
  for (const w of ['however', 'whole', 'used', 'hundred', 'nobody']) t.ok(TEXTFOOLER_STOPWORDS.includes(w) && !NLTK_ENGLISH_STOPWORDS.includes(w), w);
  for (const w of ['very', 'have', 'do', 'be', 'some', 'should']) t.ok(NLTK_ENGLISH_STOPWORDS.includes(w) && !TEXTFOOLER_STOPWORDS.includes(w), w);
  t.equal(resolveWordAttack({ recipe: 'textfooler_jin_2019' }).stopwords.size, 266);
  t.equal(resolveWordAttack({ recipe: 'pwws_ren_2019' }).stopwords.size, 198);
  t.equal(resolveWordAttack({ recipe: 'pwws_ren_2019', stopwords: ['Film'] }).stopwordList, 'custom');
});

t.test('recipes: unlimited budget by default, TextAttack\'s settings, changed recipes named so', async (t) => {
  const tf = resolveWordAttack({ recipe: 'textfooler_jin_2019' });
  t.equal(tf.queryBudget, null, 'unlimited, as TextAttack');
  t.equal(tf.recipe, 'textfooler_jin_2019');
  t.match(tf, { transformation: 'embedding', candidates: 50, wordImportance: 'delete', minCosine: 0.5, partOfSpeech: true, allowVerbNounSwap: true });
  t.same(tf.sentenceSimilarity, { metric: 'angular', threshold: 0.840845057, windowSize: 15, compareAgainstOriginal: false, skipShorterThanWindow: true });
  t.match(WORD_RECIPES.pwws_ren_2019, { transformation: 'wordnet', candidates: null, wordImportance: 'weighted-saliency', stopwordList: 'nltk', sentenceSimilarity: null });
  t.match(WORD_RECIPES.bertattack_li_2020, { wordImportance: 'unk', maxWordsFraction: 0.4, sentenceSimilarity: { metric: 'cosine', threshold: 0.2, windowSize: null, compareAgainstOriginal: true } });
  t.equal(resolveWordAttack({ recipe: 'textfooler_jin_2019', queryBudget: 300 }).queryBudget, 300);
  t.equal(resolveWordAttack({ recipe: 'textfooler_jin_2019', queryBudget: 300 }).recipe, 'textfooler_jin_2019', 'the budget is not part of the recipe');
  t.equal(resolveWordAttack({ recipe: 'textfooler_jin_2019', sentenceSimilarity: { threshold: 0.9 } }).recipe, 'textfooler_jin_2019+custom');
  t.equal(resolveWordAttack({ recipe: 'textfooler_jin_2019', sentenceSimilarity: { threshold: 0.9 } }).sentenceSimilarity!.windowSize, 15);
  t.equal(resolveWordAttack({ recipe: 'textfooler_jin_2019', partOfSpeech: false }).recipe, 'textfooler_jin_2019+custom');
  t.throws(() => resolveWordAttack({ recipe: 'textfooler_jin_2019', sentenceSimilarity: { metric: 'l2' as 'cosine' } }), { code: 'ERR_INVALID_ARG', message: /sentenceSimilarity\.metric/ });
});

t.test('sentence similarity: TextAttack\'s angular metric and text windows', async (t) => {
  const a = Float32Array.from([1, 0]);
  const b = Float32Array.from([0, 2]);
  t.equal(similarity(a, a, 'angular'), 1);
  t.equal(similarity(a, b, 'angular'), 0.5);
  t.equal(similarity(a, Float32Array.from([1, 1]), 'angular'), 0.75);
  t.ok(Math.abs(similarity(a, Float32Array.from([1, 1]), 'cosine') - Math.SQRT1_2) < 1e-7);
  // text_window_around_index(index, size) on 10 words, worked by hand from attacked_text.py
  t.same(windowBounds(10, 0, 5), [0, 4]);
  t.same(windowBounds(10, 4, 5), [2, 6]);
  t.same(windowBounds(10, 9, 5), [5, 9]);
  t.same(windowBounds(10, 3, 4), [1, 4], 'even windows: ceil before, floor after');
  t.same(windowBounds(10, 2, 15), [0, 9], 'a window longer than the text');
});

t.test('part of speech: universal tags in context, nouns and verbs interchangeable only when allowed', async (t) => {
  const tagger = new PartOfSpeechTagger();
  t.same(tagger.tag(['the', 'film', 'was', 'boring']), ['DET', 'NOUN', 'VERB', 'ADJ'], 'AUX maps to VERB as in NLTK\'s universal tagset');
  t.equal(tagger.tagInContext('it is a charming and often affecting journey'.split(' '), 3), 'ADJ');
  t.equal(tagger.tagInContext('it is a movie and often affecting journey'.split(' '), 3), 'NOUN');
  t.ok(canReplacePos('NOUN', 'VERB', true));
  t.notOk(canReplacePos('NOUN', 'VERB', false));
  t.notOk(canReplacePos('ADJ', 'NOUN', true));
  t.ok(canReplacePos('ADV', 'ADV', false));
});

t.test('WordNet synonyms as NLTK finds them: morphy, every synset and part of speech, one-word lemmas', async (t) => {
  const wn = new WordNet();
  t.same(wn.morphy('films', 'noun'), ['film']);
  t.same(wn.morphy('boring', 'verb'), ['bore'], 'ing -> e first, then the forms in the index');
  t.same(wn.morphy('classes', 'noun'), ['class']);
  const film = wn.synonyms('film');
  for (const s of ['movie', 'picture', 'flick', 'shoot']) t.ok(film.includes(s), s);
  t.notOk(film.includes('film'), 'not the word itself');
  t.ok(film.every((s) => !s.includes('_')), 'no multi-word lemmas (motion_picture)');
  t.ok(wn.synonyms('films').includes('movie'), 'an inflected word finds its lemma');
  t.same(wn.synonyms('qwzx'), []);
});

// A victim in plain JavaScript: each token adds its row of `logits` (3 classes), and its last hidden
// state is the token's row of `hidden`, so that scores and similarities are set by hand.
function fakeModel(tok: Awaited<ReturnType<typeof tokenizer>>, logits: Record<string, number[]>, hidden: Record<string, number[]> = {}): Model {
  const row = (table: Record<string, number[]>, id: number, n: number) => table[tok.idToToken(id)!] ?? new Array<number>(n).fill(0);
  return {
    task: 'sequence-classification',
    config: { numLabels: 3, embeddingSize: 2 },
    tokenizer: tok,
    wordEmbeddings: async () => Float32Array.from({ length: tok.vocabSize * 2 }, (_, i) => Math.sin(i + 1)),
    forward: async (b: Batch) => {
      const out = new Float32Array(b.batchSize * 3);
      const h = new Float32Array(b.batchSize * b.seqLen * 2);
      for (let r = 0; r < b.batchSize; r++) {
        for (let p = 0; p < b.seqLen; p++) {
          if (b.attentionMask && b.attentionMask[r * b.seqLen + p] === 0) continue;
          const id = b.inputIds[r * b.seqLen + p]!;
          row(logits, id, 3).forEach((x, c) => (out[r * 3 + c]! += x));
          h.set(row(hidden, id, 2), (r * b.seqLen + p) * 2);
        }
      }
      return { logits: out, logitsShape: [b.batchSize, 3], lastHiddenState: h, hiddenShape: [b.batchSize, b.seqLen, 2] };
    },
  } as unknown as Model;
}

t.test('TextAttack\'s acceptance: the best-scoring candidate, and among successes the most similar', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'film', 'movie', 'picture', 'flick', 'cinema', 'pic', 'shoot', 'take', 'celluloid'].join('\n')}\n`);
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true }));
  const tok = await loadTokenizer(dir);
  const p = (...q: number[]) => q.map(Math.log);
  const examples = [{ text: 'the film', label: 0 }];
  const pwws = { recipe: 'pwws_ren_2019' as const };
  // every synonym of 'film' keeps the label firmly unless set otherwise
  const firm = Object.fromEntries(['film', 'movie', 'picture', 'flick', 'cinema', 'pic', 'shoot', 'take', 'celluloid'].map((w) => [w, [5, 0, 0]]));
  // 'movie' scores highest (p(label) .4) without flipping the class; 'picture' flips it but scores lower.
  const notBest = fakeModel(tok, { ...firm, movie: p(0.4, 0.3, 0.3), picture: p(0.45, 0.5, 0.05) });
  const a = (await wordAttack(notBest, examples, pwws)).results[0]!;
  t.equal(a.status, 'failed', 'a successful candidate that is not the best-scoring one is not taken');
  t.same(a.perturbed, ['the movie'], 'the best-scoring candidate replaces the text');
  // TextAttack counts every text asked for: the clean text, film -> [UNK], the 8 synonyms to rank and the 8 again to swap
  t.equal(a.queries, 1 + 1 + 8 + 8);
  const cut = (await wordAttack(notBest, examples, { ...pwws, queryBudget: 12 })).results[0]!;
  t.same([cut.queries, cut.status], [12, 'failed'], 'a request is cut to the queries left');
  // Two successes: 'flick' scores higher; 'cinema' is closer to the original under the encoder.
  const victim = fakeModel(tok, { ...firm, flick: p(0.1, 0.9, 0.0001), cinema: p(0.2, 0.8, 0.0001) });
  const encoder = fakeModel(tok, {}, { film: [1, 0], cinema: [0.9, 0.2], flick: [0, 1], movie: [1, 0], picture: [1, 0], pic: [1, 0], shoot: [1, 0], take: [1, 0], celluloid: [1, 0] });
  const b = (await wordAttack(victim, examples, pwws)).results[0]!;
  t.same([b.status, b.perturbed], ['successful', ['the flick']], 'no similarity constraint: the best-scoring success');
  const sim = { metric: 'cosine' as const, threshold: -1, windowSize: null, compareAgainstOriginal: true };
  const c = await wordAttack(victim, examples, { ...pwws, encoder, encoderName: 'hand-made', sentenceSimilarity: sim });
  t.same([c.results[0]!.status, c.results[0]!.perturbed], ['successful', ['the cinema']], 'with one: the most similar of the leading successes');
  t.ok(Math.abs(c.results[0]!.substitutions[0]!.similarity! - 0.9 / Math.hypot(0.9, 0.2)) < 1e-6);
  t.match(c.report.sentenceSimilarity, { encoder: 'hand-made', note: /not the Universal Sentence Encoder/ });
  t.equal(c.report.queryBudget, null);
  // A threshold above both similarities: no candidate is tried.
  const d = await wordAttack(victim, examples, { ...pwws, encoder, sentenceSimilarity: { ...sim, threshold: 0.999 } });
  t.equal(d.results[0]!.status, 'failed', 'candidates under the threshold are not tried');
  t.ok(d.report.constraints.some((s) => /NOT the Universal Sentence Encoder/.test(s)));
});
