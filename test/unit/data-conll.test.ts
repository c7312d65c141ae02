import { join } from 'node:path';
import t from 'tap';
import { buildTagList, parseConll, readConll } from '../../lib/data/conll.js';
import { sharedFile } from '../helpers/shared-data.js';

t.test('tabs or spaces, first field token and last field tag, blank and whitespace-only separators', async (t) => {
  const dir = t.testdir({
    'a.conll': '-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\t\n\n\nPeter\tB-PER\r\nBlackburn\tI-PER\r\n  \r\nNew York\tB-LOC\n',
  });
  t.same(await readConll(join(dir, 'a.conll')), [
    { tokens: ['EU', 'rejects'], tags: ['B-ORG', 'O'] },
    { tokens: ['Peter', 'Blackburn'], tags: ['B-PER', 'I-PER'] },
    { tokens: ['New York'], tags: ['B-LOC'] },
  ]);
  t.same(parseConll('', 'e.conll'), []);
  t.same(parseConll('a\tO\n-DOCSTART-\tO\nb\tO', 'd.conll'), [{ tokens: ['a'], tags: ['O'] }, { tokens: ['b'], tags: ['O'] }], 'DOCSTART ends a sentence');
});

t.test('bad lines name file:line:col', async (t) => {
  t.throws(() => parseConll('a\tO\nlonely\n', 'x.conll'), { code: 'ERR_DATA', message: /^x\.conll:2:1: expected a token and a tag separated by a tab or a space but found "lonely"$/ });
  t.throws(() => parseConll('a\tO\n\nword\tB_PER\n', 'x.conll'), { code: 'ERR_DATA', message: /^x\.conll:3:6: invalid tag "B_PER" \(expected O, B-type or I-type\)$/ });
  t.throws(() => parseConll('the DT NN\n', 'x.conll'), { code: 'ERR_DATA', message: /^x\.conll:1:8: invalid tag "NN"/ });
  t.throws(() => parseConll('\tO\n', 'x.conll'), { code: 'ERR_DATA', message: /^x\.conll:1:1: empty token$/ });
});

t.test('tag list: O first, then B-/I- per type, types sorted', async (t) => {
  t.same(buildTagList([{ tokens: ['a', 'b', 'c'], tags: ['I-person', 'B-location', 'O'] }]), ['O', 'B-location', 'I-location', 'B-person', 'I-person']);
  t.same(buildTagList([]), ['O']);
});

const train = sharedFile('wnut17', 'train.conll');
const dev = sharedFile('wnut17', 'dev.conll');
t.test('real WNUT-17: 3,394 train and 1,009 dev sentences, six entity types', { skip: train.skip || dev.skip }, async (t) => {
  const tr = await readConll(train.path);
  const dv = await readConll(dev.path);
  t.equal(tr.length, 3394);
  t.equal(dv.length, 1009);
  t.ok(tr.every((s) => s.tokens.length === s.tags.length && s.tokens.length > 0));
  t.same(tr[0]!.tokens.slice(0, 3), ['@paulwalk', 'It', "'s"]);
  t.same(tr[0]!.tags.slice(14, 17), ['B-location', 'I-location', 'I-location']);
  // The label order of the Hugging Face wnut_17 data set.
  const hf = ['O', 'B-corporation', 'I-corporation', 'B-creative-work', 'I-creative-work', 'B-group', 'I-group', 'B-location', 'I-location', 'B-person', 'I-person', 'B-product', 'I-product'];
  t.same(buildTagList(tr), hf);
  t.same(buildTagList(dv), hf);
  t.equal(
    tr.reduce((n, s) => n + s.tags.filter((x) => x === 'B-person').length, 0),
    660,
  );
});
