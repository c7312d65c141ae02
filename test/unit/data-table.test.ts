import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parseTable, readTable, type ReadTableOptions } from '../../lib/data/table.js';
import { csvRows, tsvRows } from '../../lib/data/delimited.js';
import { parseJson } from '../../lib/data/json.js';

const PAIR: ReadTableOptions = { columns: { text: 'sentence1', textPair: 'sentence2', label: 'label' } };
const RTE_LABELS = { entailment: 0, not_entailment: 1 };

t.test('TSV: GLUE style, literal quotes, CRLF, BOM, blank lines', async (t) => {
  const dir = t.testdir({
    'a.tsv': '\ufeffsentence1\tsentence2\tlabel\r\n"Quoted" start\the said "no\t1\r\n\r\nplain\t\t0\r\n',
  });
  const rows = await readTable(join(dir, 'a.tsv'), PAIR);
  t.same(rows, [
    { text: '"Quoted" start', textPair: 'he said "no', label: 1 },
    { text: 'plain', textPair: '', label: 0 },
  ]);
});

t.test('TSV: column order follows the header; first present name wins; unmapped columns ignored', async (t) => {
  const text = 'idx\tlabel\tpremise\thypothesis\n7\tentailment\tA\tB\n';
  t.same(parseTable(text, 'm.tsv', { columns: { text: ['sentence1', 'premise'], textPair: ['sentence2', 'hypothesis'], label: 'label' }, labelMap: RTE_LABELS }), [
    { text: 'A', textPair: 'B', label: 0 },
  ]);
  t.same(parseTable('a\tb\n', 'm.tsv', { columns: { text: 'a' } }), [], 'header only');
  t.same(parseTable('', 'm.tsv', { columns: { text: 'a' } }), [], 'empty file');
});

t.test('TSV without header takes column indices', async (t) => {
  const text = 'gj04\t1\t\tOur friends won\'t buy this.\ngj04\t0\t*\tThey drank the pub.\n';
  t.same(parseTable(text, 'cola.tsv', { header: false, columns: { text: 3, label: 1 } }), [
    { text: "Our friends won't buy this.", label: 1 },
    { text: 'They drank the pub.', label: 0 },
  ]);
});

t.test('labels: integers by default, a map, or floats', async (t) => {
  t.same(parseTable('s\tl\nx\t2\n', 'm.tsv', { columns: { text: 's', label: 'l' } }), [{ text: 'x', label: 2 }]);
  t.same(parseTable('s\tl\nx\t3.800\ny\t-1e-1\n', 'm.tsv', { columns: { text: 's', label: 'l' }, labelMap: 'float' }), [
    { text: 'x', label: 3.8 },
    { text: 'y', label: -0.1 },
  ]);
  t.same(parseTable('s\tl\nx\tnot_entailment\n', 'm.tsv', { columns: { text: 's', label: 'l' }, labelMap: RTE_LABELS }), [{ text: 'x', label: 1 }]);
  t.same(parseTable('s\nx\n', 'm.tsv', { columns: { text: 's' } }), [{ text: 'x' }], 'no label column: no label key');
});

t.test('CSV: quotes, escaped quotes, embedded newlines, CRLF, lone quotes in bare cells', async (t) => {
  const dir = t.testdir({
    'b.csv': 'text,label\r\n"a, b",1\r\n"say ""hi""",0\r\n"two\r\nlines",1\r\nbare "quote" inside,0\r\n"",1\r\n\r\nlast,0',
  });
  t.same(await readTable(join(dir, 'b.csv'), { columns: { text: 'text', label: 'label' } }), [
    { text: 'a, b', label: 1 },
    { text: 'say "hi"', label: 0 },
    { text: 'two\r\nlines', label: 1 },
    { text: 'bare "quote" inside', label: 0 },
    { text: '', label: 1 },
    { text: 'last', label: 0 },
  ]);
});

t.test('CSV cells remember their line and column, across embedded newlines', async (t) => {
  const rows = csvRows('a,b\n"x\ny",z\n', 'p.csv');
  t.same(
    rows[1]!.cells.map((c) => [c.value, c.line, c.column]),
    [
      ['x\ny', 2, 1],
      ['z', 3, 4],
    ],
  );
  t.same(rows[1]!.end, { line: 3, column: 5 });
  t.same(
    tsvRows('a\tb\n')[0]!.cells.map((c) => c.column),
    [1, 3],
  );
});

t.test('JSONL: one object per line, blank lines skipped, numeric or string labels', async (t) => {
  const dir = t.testdir({
    'c.jsonl': '{"sentence": "good", "label": 1}\n\n   \n{"sentence": "bad", "label": "0"}\r\n{"label": 1, "sentence": "x \\"y\\""}\n',
  });
  t.same(await readTable(join(dir, 'c.jsonl'), { columns: { text: 'sentence', label: 'label' } }), [
    { text: 'good', label: 1 },
    { text: 'bad', label: 0 },
    { text: 'x "y"', label: 1 },
  ]);
  t.same(parseTable('{"s": "a", "y": 0.25}\n', 'f.ndjson', { columns: { text: 's', label: 'y' }, labelMap: 'float' }), [{ text: 'a', label: 0.25 }]);
  t.same(parseTable('{"s": "a", "y": true}\n', 'f.txt', { format: 'jsonl', columns: { text: 's' } }), [{ text: 'a' }], 'explicit format');
});

function throwsData(t: Test, fn: () => unknown, message: RegExp): void {
  t.throws(fn, { code: 'ERR_DATA', name: 'AdvtrainError', message });
}

t.test('bad TSV: wrong column counts name file:line:col', async (t) => {
  const lines = ['sentence1\tsentence2\tlabel\tidx'];
  for (let i = 0; i < 15; i++) lines.push(`a${i}\tb\t0\t${i}`);
  lines.push('short\tline');
  const dir = t.testdir({ rte: { 'train.tsv': lines.join('\n') + '\n' } });
  const file = join(dir, 'rte', 'train.tsv');
  await t.rejects(readTable(file, PAIR), { code: 'ERR_DATA', message: `${file}:17:11: expected 4 columns but found 2` });
  throwsData(t, () => parseTable('a\tb\n1\t2\t3\n', 'w.tsv', { columns: { text: 'a' } }), /^w\.tsv:2:5: expected 2 columns but found 3$/);
});

t.test('bad labels name the label cell', async (t) => {
  throwsData(
    t,
    () => parseTable('s1\ts2\tlabel\nx\ty\tentailment\nx\ty\tfoo\n', 'rte.tsv', { ...PAIR, columns: { text: 's1', textPair: 's2', label: 'label' }, labelMap: RTE_LABELS }),
    /^rte\.tsv:3:5: unknown label "foo" \(known: "entailment", "not_entailment"\)$/,
  );
  throwsData(t, () => parseTable('s\tl\nx\tpos\n', 'n.tsv', { columns: { text: 's', label: 'l' } }), /^n\.tsv:2:3: expected a non-negative integer label but found "pos"/);
  throwsData(t, () => parseTable('s\tl\nx\t1.5x\n', 'f.tsv', { columns: { text: 's', label: 'l' }, labelMap: 'float' }), /^f\.tsv:2:3: expected a number for the score/);
  throwsData(t, () => parseTable('s,l\nx,"constructor"\n', 'p.csv', { columns: { text: 's', label: 'l' }, labelMap: RTE_LABELS }), /^p\.csv:2:3: unknown label "constructor"/);
});

t.test('bad header: a missing column is named with what was found', async (t) => {
  throwsData(t, () => parseTable('sentence\tlabel\nx\t1\n', 'h.tsv', PAIR), /^h\.tsv:1:1: missing column "sentence1" in header \(found "sentence", "label"\)$/);
  throwsData(t, () => parseTable('a\tb\n', 'h.tsv', { columns: { text: ['x', 'y'] } }), /missing column "x" or "y" in header/);
  throwsData(t, () => parseTable('a\tb\n', 'i.tsv', { header: false, columns: { text: 2 } }), /^i\.tsv:1:4: column index 2 for text is out of range: the first row has 2 columns$/);
});

t.test('bad CSV: unterminated quote and text after a closing quote', async (t) => {
  throwsData(t, () => parseTable('a,b\nx,"open\nmore\n', 'q.csv', { columns: { text: 'a' } }), /^q\.csv:2:3: unterminated quoted field$/);
  throwsData(t, () => parseTable('a,b\nx,"y"z\n', 'q.csv', { columns: { text: 'a' } }), /^q\.csv:2:6: unexpected character 'z' after the closing quote/);
});

t.test('bad JSONL: syntax errors at their exact column, on every Node version', async (t) => {
  const text = ['{"s": "a"}', '{"s": "b"}', '', '{"s": "c"}', '{"s": "d", "x": tru}'].join('\n');
  throwsData(t, () => parseTable(text, 'x.jsonl', { columns: { text: 's' } }), /^x\.jsonl:5:20: Unexpected token '}' in JSON$/);
  const cases: [string, RegExp][] = [
    ['{"s": 1,}', /:1:9: Unexpected token '}' in JSON$/],
    ['{"s": "a"', /:1:10: Unexpected end of JSON input$/],
    ['{"s": "a"} x', /:1:12: Unexpected non-whitespace character after JSON$/],
    ['{"s": "a\tb"}', /:1:9: Bad control character in string literal in JSON$/],
    ['{"s": "\\q"}', /:1:9: Bad escaped character in JSON$/],
    ['{"s": 01}', /:1:8: Unexpected token '1' in JSON$/],
    ['{"s": -}', /:1:8: Unexpected token '}' in JSON$/],
    ['{"s": "\\u12G4"}', /:1:9: Bad Unicode escape in JSON$/],
    ['{"s": "abc', /:1:11: Unterminated string in JSON$/],
  ];
  for (const [line, re] of cases) throwsData(t, () => parseJson(line, 'j.jsonl'), re);
  t.same(parseJson('{"a": [1, -2.5e3, true, null, "\\u00e9"]}', 'ok.json'), { a: [1, -2500, true, null, 'é'] });
});

t.test('bad JSONL: wrong shapes point at the value', async (t) => {
  const cols = { columns: { text: 's', label: 'l' } };
  throwsData(t, () => parseTable('[1, 2]\n', 'y.jsonl', cols), /^y\.jsonl:1:1: expected a JSON object but found an array$/);
  throwsData(t, () => parseTable('{"s": "a", "l": 0}\n  {"l": 1}\n', 'y.jsonl', cols), /^y\.jsonl:2:3: missing field "s"$/);
  throwsData(t, () => parseTable('{"l": 1, "s": 5}\n', 'y.jsonl', cols), /^y\.jsonl:1:15: expected a string for field "s" but found number$/);
  throwsData(t, () => parseTable('{"s": "x", "l": "foo"}\n', 'y.jsonl', { ...cols, labelMap: RTE_LABELS }), /^y\.jsonl:1:17: unknown label "foo"/);
  throwsData(t, () => parseTable('{"s": "x", "l": [1]}\n', 'y.jsonl', cols), /^y\.jsonl:1:17: expected a label but found an array$/);
  throwsData(t, () => parseTable('{"s": "x", "l": -1}\n', 'y.jsonl', cols), /^y\.jsonl:1:17: expected a non-negative integer label but found "-1"/);
});

t.test('bad options fail with ERR_INVALID_ARG; unreadable files with ERR_DATA', async (t) => {
  const err = (message: RegExp) => ({ code: 'ERR_INVALID_ARG', message });
  t.throws(() => parseTable('', 'x.txt', { columns: { text: 'a' } }), err(/Expected one of 'tsv', 'csv', 'jsonl' \(the extension of x\.txt names none\) for options\.format/));
  t.throws(() => parseTable('', 'x.tsv', { columns: { text: 'a' }, colums: {} } as unknown as ReadTableOptions), err(/options\.colums/));
  t.throws(() => parseTable('', 'x.tsv', { columns: { text: 0 } }), err(/a column name \(the file has a header\) for options\.columns\.text/));
  t.throws(() => parseTable('', 'x.tsv', { header: false, columns: { text: 'a' } }), err(/a column index \(the file has no header\)/));
  t.throws(() => parseTable('', 'x.jsonl', { columns: { text: 1 } }), err(/a field name/));
  t.throws(() => parseTable('', 'x.tsv', { columns: { text: '' } }), err(/for options\.columns\.text but received '' of type string/));
  t.throws(() => parseTable('', 'x.tsv', { columns: { text: 'a' }, labelMap: { a: -1 } }), err(/options\.labelMap\["a"\]/));
  const dir = t.testdir({});
  await t.rejects(readTable(join(dir, 'missing.tsv'), { columns: { text: 'a' } }), { code: 'ERR_DATA', message: /missing\.tsv: cannot read: ENOENT/ });
  writeFileSync(join(dir, 'x.tsv'), 'a\n1\n');
  await t.rejects(readTable(join(dir, 'x.tsv'), { columns: { text: 'a' }, format: 'xml' } as unknown as ReadTableOptions), err(/options\.format/));
});
