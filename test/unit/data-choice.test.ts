import { join } from 'node:path';
import t from 'tap';
import { parseMultipleChoice, readMultipleChoice } from '../../lib/data/choice.js';

t.test('HellaSwag style: ctx, endings array, label', async (t) => {
  const dir = t.testdir({
    'h.jsonl': [
      '{"ind": 4, "ctx": "A man sits down.", "endings": ["He eats.", "He flies.", "He sings.", "He swims."], "label": 0}',
      '',
      '{"ctx": "She opens the box.", "endings": ["It is empty.", "It sings.", "It runs.", "It is red."], "label": "3"}',
    ].join('\n'),
  });
  t.same(await readMultipleChoice(join(dir, 'h.jsonl')), [
    { context: 'A man sits down.', choices: ['He eats.', 'He flies.', 'He sings.', 'He swims.'], label: 0 },
    { context: 'She opens the box.', choices: ['It is empty.', 'It sings.', 'It runs.', 'It is red.'], label: 3 },
  ]);
});

t.test('SWAG style: one field per ending, sent2 put before each', async (t) => {
  const line = '{"sent1": "Members of the group sit.", "sent2": "The group", "ending0": "leaves.", "ending1": "sings.", "label": 1}';
  t.same(parseMultipleChoice(line, 'swag.jsonl', { context: 'sent1', prefix: 'sent2', endingFields: ['ending0', 'ending1'] }), [
    { context: 'Members of the group sit.', choices: ['The group leaves.', 'The group sings.'], label: 1 },
  ]);
  t.same(parseMultipleChoice('{"context": "c", "endings": ["a", "b"]}', 'u.jsonl', { label: false }), [{ context: 'c', choices: ['a', 'b'] }], 'unlabelled');
});

t.test('bad files name file:line:col', async (t) => {
  const err = (message: RegExp) => ({ code: 'ERR_DATA', message });
  const two = '{"ctx": "c", "endings": ["a", "b"], "label": 0}';
  t.throws(() => parseMultipleChoice(`${two}\n${two}\n{"ctx": "c", "endings": ["a", "b", "x"], "label": 0}\n`, 'n.jsonl'), err(/^n\.jsonl:3:25: expected 2 choices \(as on line 1\) but found 3$/));
  t.throws(() => parseMultipleChoice('{"ctx": "c", "endings": ["a"], "label": 0}', 'n.jsonl'), err(/^n\.jsonl:1:25: expected at least 2 choices but found 1$/));
  t.throws(() => parseMultipleChoice('{"ctx": "c", "endings": ["a", 7], "label": 0}', 'n.jsonl'), err(/^n\.jsonl:1:31: expected a string for choice 1 but found number$/));
  t.throws(() => parseMultipleChoice('{"ctx": "c", "endings": "a|b", "label": 0}', 'n.jsonl'), err(/^n\.jsonl:1:25: expected an array of strings for field "endings" but found string$/));
  t.throws(() => parseMultipleChoice('{"ctx": "c", "endings": ["a", "b"], "label": 2}', 'n.jsonl'), err(/^n\.jsonl:1:46: expected a choice index in \[0, 1\] for field "label" but found 2$/));
  t.throws(() => parseMultipleChoice('{"ctx": "c", "endings": ["a", "b"]}', 'n.jsonl'), err(/^n\.jsonl:1:1: missing field "label"$/));
  t.throws(() => parseMultipleChoice('{"endings": ["a", "b"], "label": 0}', 'n.jsonl'), err(/^n\.jsonl:1:1: missing field "context" or "ctx"$/));
  t.throws(() => parseMultipleChoice('{"ctx": "c", "endings": ["a", "b"], "label": 0', 'n.jsonl'), err(/^n\.jsonl:1:47: Unexpected end of JSON input$/));
  t.throws(() => parseMultipleChoice('', 'n.jsonl', { endings: 'e', endingFields: ['a', 'b'] }), { code: 'ERR_INVALID_ARG', message: /fields\.endingFields/ });
  t.throws(() => parseMultipleChoice('', 'n.jsonl', { ending: 'e' } as object), { code: 'ERR_INVALID_ARG', message: /fields\.ending/ });
});
