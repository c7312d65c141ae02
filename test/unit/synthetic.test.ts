import t from 'tap';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';

t.test('the synthetic task is seeded, balanced and within its vocabulary', async (t) => {
  const a = generateSentiment(2000, 3);
  t.same(generateSentiment(2000, 3), a, 'same seed, same data');
  t.notSame(generateSentiment(2000, 4), a);
  t.equal(a.filter((e) => e.label === 1).length, 1000);
  const vocab = new Set(syntheticVocabulary());
  for (const e of a) for (const w of e.text.split(' ')) if (!vocab.has(w)) t.fail(`'${w}' is not in the vocabulary`);
  t.ok(a.some((e) => / not /.test(e.text)) && a.some((e) => / but /.test(e.text)), 'negation and contrast occur');
});

t.test('labels follow negation and contrast, not word counts', async (t) => {
  for (const e of generateSentiment(3000, 5)) {
    const int = '((very|really|truly|extremely|incredibly|quite|so|remarkably) )?';
    const pos = '(good|great|wonderful|excellent|brilliant|delightful|charming|superb|enjoyable|moving|funny|beautiful|clever|fresh|solid)';
    if (new RegExp(`^the \\w+ was ${int}${pos}$`).test(e.text)) t.equal(e.label, 1, e.text);
    if (new RegExp(`^the \\w+ was (not|never|hardly) ${int}${pos}$`).test(e.text)) t.equal(e.label, 0, e.text);
    if (new RegExp(`^not ${int}(bad|terrible|awful|boring|dull) at all$`).test(e.text)) t.equal(e.label, 1, e.text);
  }
});
