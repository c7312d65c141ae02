import t, { type Test } from 'tap';
import {
  accuracy,
  entityScores,
  f1,
  getEntities,
  glueScores,
  matthews,
  normalizeAnswer,
  pearson,
  rank,
  spearman,
  squadExactMatch,
  squadF1,
  squadScores,
} from '../../lib/metrics/index.js';

const close = (t: Test, got: number, want: number, msg?: string) =>
  t.ok(Math.abs(got - want) < 1e-12, `${msg ?? ''} ${got} ~ ${want}`.trim());

// Reference values below come from scikit-learn 1.6.1 / scipy 1.17 and are also worked by hand.
// Binary: tp 3, fp 2, fn 1, tn 2.
const BIN_P = [1, 1, 0, 0, 1, 0, 1, 1];
const BIN_R = [1, 0, 1, 0, 1, 0, 0, 1];
const MULTI_P = [0, 1, 2, 2, 1, 0, 2, 1, 0];
const MULTI_R = [0, 2, 2, 1, 1, 0, 2, 0, 0];

t.test('accuracy', async (t) => {
  t.equal(accuracy(BIN_P, BIN_R), 5 / 8);
  t.equal(accuracy(MULTI_P, Int32Array.from(MULTI_R)), 6 / 9);
  t.equal(accuracy([], []), 0, 'no samples: 0 (sklearn gives NaN)');
  t.throws(() => accuracy([1, 2], [1]), { code: 'ERR_INVALID_ARG', message: /length 2 \(as predictions\) for references/ });
});

t.test('F1: binary and macro, zero division gives 0', async (t) => {
  t.equal(f1(BIN_P, BIN_R), 6 / 9, '2tp / (2tp + fp + fn)');
  close(t, f1(BIN_P, BIN_R, { average: 'macro' }), 0.6190476190476191, 'sklearn macro');
  t.equal(f1(BIN_P, BIN_R, { positiveLabel: 0 }), 4 / 7, 'F1 of class 0: tp 2, fp 1, fn 2');
  close(t, f1(MULTI_P, MULTI_R, { average: 'macro' }), 0.6412698412698412, 'sklearn macro, 3 classes');
  t.equal(f1([0, 1, 1], [0, 0, 1], { average: 'macro', labels: [0, 1, 2] }), (2 / 3 + 2 / 3 + 0) / 3, 'a listed class never seen scores 0');
  t.equal(f1([0, 0], [0, 0]), 0, 'no positives anywhere');
  t.equal(f1([], []), 0);
  t.equal(f1([], [], { average: 'macro' }), 0);
  t.equal(f1([1, 1], [1, 1]), 1);
  t.throws(() => f1([1], [1], { average: 'micro' } as object), { code: 'ERR_INVALID_ARG', message: /options\.average/ });
  t.throws(() => f1([1], [1], { labels: [1] }), { code: 'ERR_INVALID_ARG', message: /options\.labels/ });
});

t.test('Matthews correlation, binary and multiclass, as sklearn', async (t) => {
  close(t, matthews(BIN_P, BIN_R), 4 / Math.sqrt(240), '(tp tn - fp fn) / sqrt(5 * 4 * 4 * 3)');
  close(t, matthews(MULTI_P, MULTI_R), 0.5095246653650681, 'sklearn multiclass');
  t.equal(matthews([0, 1, 2], [0, 1, 2]), 1);
  t.equal(matthews([0, 1, 0, 1], [1, 0, 1, 0]), -1);
  t.equal(matthews([1, 1, 1], [1, 0, 1]), 0, 'constant predictions');
  t.equal(matthews([1, 0, 1], [1, 1, 1]), 0, 'constant references');
  t.equal(matthews([], []), 0);
});

t.test('Pearson and Spearman, as scipy, 0 where scipy gives NaN', async (t) => {
  const x = [0.5, 2.5, 4.0, 3.0, 1.0, 4.5];
  const y = [1.0, 2.0, 4.8, 3.0, 1.0, 5.0];
  close(t, pearson(x, y), 0.9677758851792218);
  close(t, spearman(x, y), 0.9856107606091623);
  close(t, pearson([1, 2, 3], [2, 4, 7]), 0.9933992677987828);
  close(t, spearman([1, 2, 2, 3, 3, 3, 4], [2, 1, 2, 3, 4, 4, 4]), 0.8333333333333334, 'ties averaged');
  t.same(rank([10, 20, 20, 5, 20]), [2, 4, 4, 1, 4]);
  t.same(rank([]), []);
  t.equal(pearson([1, 2, 3], [-2, -4, -6]), -1);
  t.equal(spearman([1, 2, 3], [1, 10, 100]), 1, 'monotone');
  t.equal(pearson([1, 1, 1], [1, 2, 3]), 0, 'constant input');
  t.equal(spearman([1, 2, 3], [5, 5, 5]), 0);
  t.equal(pearson([1], [2]), 0, 'one sample');
  t.equal(pearson([], []), 0);
});

t.test('entities: conlleval rules (I- starts an entity, type changes split)', async (t) => {
  t.same(getEntities(['O', 'I-PER', 'I-PER', 'O']), [{ type: 'PER', start: 1, end: 2 }], 'I- after O starts an entity');
  t.same(getEntities(['B-PER', 'I-LOC']), [
    { type: 'PER', start: 0, end: 0 },
    { type: 'LOC', start: 1, end: 1 },
  ]);
  t.same(getEntities(['B-PER', 'I-PER', 'B-PER']), [
    { type: 'PER', start: 0, end: 1 },
    { type: 'PER', start: 2, end: 2 },
  ]);
  t.same(getEntities(['B-LOC', 'I-PER', 'I-PER']), [
    { type: 'LOC', start: 0, end: 0 },
    { type: 'PER', start: 1, end: 2 },
  ]);
  t.same(getEntities(['B-creative-work', 'I-creative-work']), [{ type: 'creative-work', start: 0, end: 1 }], 'types may hold dashes');
  t.same(getEntities(['S-PER', 'B-LOC', 'E-LOC', 'O']), [
    { type: 'PER', start: 0, end: 0 },
    { type: 'LOC', start: 1, end: 2 },
  ], 'IOBES');
  t.same(getEntities([]), []);
});

t.test('entity scores: the seqeval README example and edge cases', async (t) => {
  const refs = [
    ['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  const preds = [
    ['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'],
    ['B-PER', 'I-PER', 'O'],
  ];
  const s = entityScores(preds, refs);
  t.equal(s.f1, 0.5);
  t.equal(s.precision, 0.5);
  t.equal(s.recall, 0.5);
  t.equal(s.accuracy, 0.8, '8 of 10 tokens: positions 2 and 3 differ');
  t.same(s.byType, {
    MISC: { precision: 0, recall: 0, f1: 0, support: 1 },
    PER: { precision: 1, recall: 1, f1: 1, support: 1 },
  });

  // Sentences do not join: an I- opening the second sentence is a new entity.
  const split = [
    ['O', 'B-PER'],
    ['I-PER', 'O'],
  ];
  const joined = entityScores(split, split);
  t.equal(joined.byType.PER!.support, 2);
  t.equal(joined.f1, 1);

  // 2 predicted, 3 gold, 1 right: P 1/2, R 1/3, F1 2/5.
  const r = entityScores([['B-PER', 'O', 'B-LOC', 'O', 'O']], [['B-PER', 'O', 'B-ORG', 'O', 'B-LOC']]);
  t.same([r.precision, r.recall], [1 / 2, 1 / 3]);
  close(t, r.f1, 2 / 5);
  t.same(entityScores([['O', 'O']], [['O', 'O']]), { precision: 0, recall: 0, f1: 0, accuracy: 1, byType: {} }, 'no entities: 0, as seqeval');
  t.same(entityScores([['B-X']], [['O']]).byType.X, { precision: 0, recall: 0, f1: 0, support: 0 });
  t.equal(entityScores([], []).accuracy, 0);
  t.throws(() => entityScores([['O']], [['O', 'O']]), { code: 'ERR_INVALID_ARG', message: /an array of 2 tags \(as references\[0\]\) for predictions\[0\]/ });
});

t.test('SQuAD normalisation as the official v1.1 script', async (t) => {
  // Each expected value printed by the official normalize_answer.
  const cases: [string, string][] = [
    ['The Quick, Brown Fox!', 'quick brown fox'],
    ['an apple a day', 'apple day'],
    ['Théa the', 'théa'],
    ['a_b c', 'ab c'],
    ['New\u00a0York', 'new york'],
    ['x\ufeffy', 'x\ufeffy'],
    ['Ωa ΣΑΣ', 'ωa σας'],
    ['éan', 'éan'],
    ['The  Eiffel-Tower!', 'eiffeltower'],
    ['x\x1cy', 'x y'],
    ['THE\u2003END', 'end'],
  ];
  for (const [input, want] of cases) t.equal(normalizeAnswer(input), want, JSON.stringify(input));
});

t.test('SQuAD exact match and F1: best over gold answers', async (t) => {
  t.equal(squadExactMatch('the Eiffel Tower', ['Eiffel Tower']), 1);
  t.equal(squadExactMatch('Eiffel', ['Eiffel Tower', 'tower']), 0);
  close(t, squadF1('Eiffel Tower in Paris', ['the Eiffel Tower']), 2 / 3);
  close(t, squadF1('x y y y', ['y y z']), 4 / 7, 'repeated tokens counted as a multiset');
  close(t, squadF1('denver broncos', ['Broncos', 'Denver Broncos team']), 0.8, 'max over golds');
  t.equal(squadExactMatch('', ['the']), 1, 'both normalise to nothing: equal');
  t.equal(squadF1('', ['the']), 0, '... but no common token');
  t.equal(squadF1('a', []), 0);
  t.equal(squadExactMatch('a', []), 0);

  const examples = [
    { id: 'q1', answers: [{ text: 'Denver Broncos' }] },
    { id: 'q2', answers: [{ text: 'Santa Clara' }, { text: 'Santa Clara, California' }] },
    { id: 'q3', answers: [{ text: 'gold' }] },
  ];
  const scores = squadScores({ q1: 'the Denver Broncos', q2: 'California', extra: 'x' }, examples);
  t.equal(scores.total, 3);
  t.equal(scores.unanswered, 1);
  close(t, scores.exactMatch, 1 / 3);
  close(t, scores.f1, (1 + 0.5) / 3, 'q2: best F1 0.5 against "Santa Clara, California"');
  t.same(squadScores(new Map([['q3', 'Gold.']]), examples), { exactMatch: 1 / 3, f1: 1 / 3, total: 3, unanswered: 2 });
  t.same(squadScores({}, []), { exactMatch: 0, f1: 0, total: 0, unanswered: 0 });
  t.equal(squadScores({ toString: 'x' } as Record<string, string>, [{ id: 'constructor', answers: [{ text: 'x' }] }]).unanswered, 1, 'only own keys');
});

t.test('GLUE scores per task', async (t) => {
  const mrpc = glueScores('mrpc', [1, 0, 1, 1], [1, 1, 1, 0]);
  t.same(Object.keys(mrpc), ['accuracy', 'f1']);
  t.equal(mrpc.accuracy, 0.5);
  t.equal(mrpc.f1, 2 / 3);
  t.same(Object.keys(glueScores('cola', [1, 0], [1, 0])), ['matthews']);
  t.same(glueScores('stsb', [0.5, 2.5, 4.0], [1.0, 2.0, 4.8]).spearman, 1);
  t.same(Object.keys(glueScores('mnli', [0, 1, 2], [0, 1, 1])), ['accuracy']);
  t.throws(() => glueScores('squad' as 'rte', [], []), { code: 'ERR_INVALID_ARG', message: /for task/ });
});
