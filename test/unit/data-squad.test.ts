import { join } from 'node:path';
import t from 'tap';
import { parseSquad, readSquad } from '../../lib/data/squad.js';

function squad(paragraphs: unknown[], title = 'T'): string {
  return JSON.stringify({ version: '1.1', data: [{ title, paragraphs }] });
}

const GOOD = squad([
  {
    context: 'Super Bowl 50 was played in Santa Clara, California.',
    qas: [
      { id: 'q1', question: 'Where?', answers: [{ text: 'Santa Clara', answer_start: 28 }, { text: 'Santa Clara, California', answer_start: 28 }] },
      { id: 'q2', question: 'Which?', answers: [{ text: 'Super Bowl 50', answer_start: 0 }] },
    ],
  },
]);

t.test('one example per question, with its paragraph', async (t) => {
  const dir = t.testdir({ 'dev.json': GOOD });
  const examples = await readSquad(join(dir, 'dev.json'));
  t.equal(examples.length, 2);
  t.same(examples[0], {
    id: 'q1',
    title: 'T',
    question: 'Where?',
    context: 'Super Bowl 50 was played in Santa Clara, California.',
    answers: [
      { text: 'Santa Clara', start: 28 },
      { text: 'Santa Clara, California', start: 28 },
    ],
  });
  t.same(parseSquad(JSON.stringify({ data: [] }), 'e.json'), []);
});

t.test('offsets count code points as Python does; start is the JavaScript index', async (t) => {
  // '😀' is one code point but two UTF-16 units: the file says 6, JavaScript needs 7.
  const text = squad([{ context: 'Smile 😀 Paris', qas: [{ id: 'u', question: 'Where?', answers: [{ text: 'Paris', answer_start: 8 }] }] }]);
  const [ex] = parseSquad(text, 'u.json');
  t.same(ex!.answers, [{ text: 'Paris', start: 9 }]);
  t.equal(ex!.context.slice(9, 14), 'Paris');
});

t.test('answer mismatches fail naming the question ids, at the offending answer_start', async (t) => {
  const text = squad([
    {
      context: 'abcdef',
      qas: [
        { id: 'ok', question: '?', answers: [{ text: 'abc', answer_start: 0 }] },
        { id: 'bad1', question: '?', answers: [{ text: 'abc', answer_start: 1 }] },
        { id: 'bad2', question: '?', answers: [{ text: 'zz', answer_start: 5 }] },
      ],
    },
  ]);
  const column = text.indexOf('"answer_start":1') + '"answer_start":'.length + 1;
  t.throws(() => parseSquad(text, 'm.json'), {
    code: 'ERR_DATA',
    message: `m.json:1:${column}: data[0].paragraphs[0].qas[1].answers[0].answer_start: answer "abc" of question bad1 does not match the context at 1 ("bcd"); also questions bad2`,
  });
});

t.test('structural errors name the JSON path and its position', async (t) => {
  const pretty = JSON.stringify({ data: [{ title: 'T', paragraphs: [{ context: 'c', qas: [{ id: 'x', question: 5, answers: [] }] }] }] }, null, 2);
  t.throws(() => parseSquad(pretty, 'p.json'), { code: 'ERR_DATA', message: /^p\.json:11:27: data\[0\]\.paragraphs\[0\]\.qas\[0\]\.question: expected a string but found number$/ });
  t.throws(() => parseSquad('{"data": {}}', 's.json'), { code: 'ERR_DATA', message: /^s\.json:1:10: data: expected an array but found an object$/ });
  t.throws(() => parseSquad('[]', 's.json'), { code: 'ERR_DATA', message: /^s\.json:1:1: \(root\): expected an object but found an array$/ });
  t.throws(() => parseSquad('{"version": "1.1"}', 's.json'), { code: 'ERR_DATA', message: /^s\.json:1:1: \(root\): missing field "data"$/ });
  t.throws(() => parseSquad(squad([{ context: 'c', qas: [{ id: 'x', question: 'q', answers: [{ text: 'c', answer_start: -1 }] }] }]), 's.json'), {
    code: 'ERR_DATA',
    message: /answers\[0\]\.answer_start: expected an integer >= 0 but found number$/,
  });
  const dup = squad([{ context: 'c', qas: [{ id: 'x', question: 'q', answers: [] }, { id: 'x', question: 'q', answers: [] }] }]);
  t.throws(() => parseSquad(dup, 'd.json'), { code: 'ERR_DATA', message: /qas\[1\]\.id: duplicate question id "x"$/ });
  t.throws(() => parseSquad('{"data": [}', 'j.json'), { code: 'ERR_DATA', message: /^j\.json:1:11: Unexpected token '}' in JSON$/ });
});
