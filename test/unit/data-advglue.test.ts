import { join } from 'node:path';
import t from 'tap';
import { parseAdvGlue, readAdvGlue } from '../../lib/data/advglue.js';

const GOOD = {
  sst2: [
    { sentence: 'a fine film', label: 1, idx: 0 },
    { sentence: 'dull', label: 0, idx: 1 },
  ],
  'mnli-mm': [{ premise: 'A man sleeps.', hypothesis: 'Nobody sleeps.', label: 2, idx: 7 }],
  qqp: [{ question1: 'Why?', question2: 'How?', label: 0, idx: 3 }],
  qnli: [{ question: 'Where?', sentence: 'Here.', label: 1, idx: 4 }],
  rte: [{ sentence1: 'It rains.', sentence2: 'It is wet.', label: 0, idx: 5 }],
  mnli: [{ premise: 'p', hypothesis: 'h', label: 1, idx: 6 }],
};

t.test('every task with GLUE field names; pairs become text + textPair', async (t) => {
  const dir = t.testdir({ 'dev.json': JSON.stringify(GOOD, null, 2) });
  const set = await readAdvGlue(join(dir, 'dev.json'));
  t.same(set.sst2, [{ text: 'a fine film', label: 1, idx: 0 }, { text: 'dull', label: 0, idx: 1 }]);
  t.same(set['mnli-mm'], [{ text: 'A man sleeps.', textPair: 'Nobody sleeps.', label: 2, idx: 7 }]);
  t.same(set.qqp![0], { text: 'Why?', textPair: 'How?', label: 0, idx: 3 });
  t.same(set.qnli![0], { text: 'Where?', textPair: 'Here.', label: 1, idx: 4 });
  t.same(set.rte![0], { text: 'It rains.', textPair: 'It is wet.', label: 0, idx: 5 });
  t.same(Object.keys(set), Object.keys(GOOD));
});

t.test('bad files fail with ERR_DATA naming the file, line:col and JSON path', async (t) => {
  const bad = (value: unknown) => JSON.stringify(value, null, 2);
  const cases: [string, RegExp][] = [
    [bad([]), /^a\.json:1:1: \(root\): expected an object keyed by task but found an array$/],
    [bad({ cola: [] }), /^a\.json:2:11: cola: unknown task "cola" \(known: sst2, qqp, mnli, mnli-mm, qnli, rte\)$/],
    [bad({ sst2: {} }), /^a\.json:2:11: sst2: expected an array of items but found an object$/],
    [bad({ sst2: [{ label: 1, idx: 0 }] }), /^a\.json:3:5: sst2\[0\]: missing field "sentence"$/],
    [bad({ rte: [{ sentence1: 'a', sentence2: 3, label: 0, idx: 0 }] }), /^a\.json:5:20: rte\[0\]\.sentence2: expected a string but found number$/],
    [bad({ sst2: [{ sentence: 'a', label: 0, idx: 0 }, { sentence: 'b', label: 2, idx: 1 }] }), /^a\.json:\d+:\d+: sst2\[1\]\.label: expected an integer label in \[0, 1\] but found 2$/],
    [bad({ mnli: [{ premise: 'a', hypothesis: 'b', label: 'neutral', idx: 0 }] }), /mnli\[0\]\.label: expected an integer label in \[0, 2\] but found "neutral"/],
    [bad({ sst2: [{ sentence: 'a', label: 0, idx: -1 }] }), /sst2\[0\]\.idx: expected an integer >= 0 but found -1/],
    ['{"sst2": [', /^a\.json:1:11: Unexpected end of JSON input$/],
  ];
  for (const [text, message] of cases) t.throws(() => parseAdvGlue(text, 'a.json'), { code: 'ERR_DATA', message }, String(message));
  await t.rejects(readAdvGlue(join(t.testdir(), 'missing.json')), { code: 'ERR_DATA', message: /missing\.json: cannot read/ });
});
