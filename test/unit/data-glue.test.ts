import { join } from 'node:path';
import t from 'tap';
import { GLUE_TASKS, parseGlue, readGlue, type GlueTask } from '../../lib/data/glue.js';
import { sharedFile } from '../helpers/shared-data.js';

t.test('presets: label counts, task types, metrics, split files', async (t) => {
  const summary = Object.fromEntries(
    Object.values(GLUE_TASKS).map((p) => [p.task, [p.type, p.numLabels, p.metrics.join('+')]]),
  );
  t.same(summary, {
    sst2: ['classification', 2, 'accuracy'],
    cola: ['classification', 2, 'matthews'],
    mrpc: ['classification', 2, 'accuracy+f1'],
    stsb: ['regression', 1, 'pearson+spearman'],
    qqp: ['classification', 2, 'accuracy+f1'],
    mnli: ['classification', 3, 'accuracy'],
    qnli: ['classification', 2, 'accuracy'],
    rte: ['classification', 2, 'accuracy'],
    wnli: ['classification', 2, 'accuracy'],
  });
  t.same(GLUE_TASKS.mnli.labelNames, ['entailment', 'neutral', 'contradiction']);
  t.equal(GLUE_TASKS.mnli.splits.validation_matched, 'dev_matched.tsv');
  t.equal(GLUE_TASKS.mnli.splits.validation_mismatched, 'dev_mismatched.tsv');
  t.equal(GLUE_TASKS.rte.splits.validation, 'dev.tsv');
  t.ok(Object.isFrozen(GLUE_TASKS) && Object.isFrozen(GLUE_TASKS.rte));
});

// Both distributions of each task: [original GLUE file, Hugging Face export], same examples.
const VARIANTS: Record<GlueTask, [string, string]> = {
  sst2: ['sentence\tlabel\nfun "film" \t1\n', 'sentence\tlabel\tidx\nfun "film" \t1\t0\n'],
  cola: ["gj04\t1\t\tit's fun\n", "sentence\tlabel\tidx\nit's fun\t1\t0\n"],
  mrpc: ['Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA "b"\tC\n', 'sentence1\tsentence2\tlabel\tidx\nA "b"\tC\t1\t0\n'],
  stsb: ['index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tmain\tf\t2012\t1\tnone\tnone\tA\tC\t3.800\n', 'sentence1\tsentence2\tlabel\tidx\nA\tC\t3.8\t0\n'],
  qqp: ['id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n5\t1\t2\tA\tC\t1\n', 'question1\tquestion2\tlabel\tidx\nA\tC\t1\t0\n'],
  mnli: [
    'index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n0\t1\t1e\tgov\t(\t(\t(\t(\tA\tC\tneutral\tcontradiction\n',
    'premise\thypothesis\tlabel\tidx\nA\tC\t2\t0\n',
  ],
  qnli: ['index\tquestion\tsentence\tlabel\n0\tA\tC\tnot_entailment\n', 'question\tsentence\tlabel\tidx\nA\tC\t1\t0\n'],
  rte: ['index\tsentence1\tsentence2\tlabel\n0\tA\tC\tnot_entailment\n', 'sentence1\tsentence2\tlabel\tidx\nA\tC\t1\t0\n'],
  wnli: ['index\tsentence1\tsentence2\tlabel\n0\tA\tC\t1\n', 'sentence1\tsentence2\tlabel\tidx\nA\tC\tentailment\t0\n'],
};

const EXPECTED: Record<GlueTask, object> = {
  sst2: { text: 'fun "film" ', label: 1 },
  cola: { text: "it's fun", label: 1 },
  mrpc: { text: 'A "b"', textPair: 'C', label: 1 },
  stsb: { text: 'A', textPair: 'C', label: 3.8 },
  qqp: { text: 'A', textPair: 'C', label: 1 },
  mnli: { text: 'A', textPair: 'C', label: 2 },
  qnli: { text: 'A', textPair: 'C', label: 1 },
  rte: { text: 'A', textPair: 'C', label: 1 },
  wnli: { text: 'A', textPair: 'C', label: 1 },
};

t.test('every task reads its original GLUE file and its Hugging Face export alike', async (t) => {
  for (const task of Object.keys(VARIANTS) as GlueTask[]) {
    const [original, exported] = VARIANTS[task];
    t.same(parseGlue(task, original, `${task}/orig.tsv`), [EXPECTED[task]], `${task} original`);
    t.same(parseGlue(task, exported, `${task}/hf.tsv`), [EXPECTED[task]], `${task} export`);
  }
});

t.test('test files: labels: false ignores the label column or its absence', async (t) => {
  t.same(parseGlue('sst2', 'index\tsentence\n0\tgreat\n', 'test.tsv', { labels: false }), [{ text: 'great' }]);
  t.same(parseGlue('rte', 'sentence1\tsentence2\tlabel\tidx\nA\tC\t-1\t0\n', 'test.tsv', { labels: false }), [{ text: 'A', textPair: 'C' }]);
  t.throws(() => parseGlue('rte', 'sentence1\tsentence2\tlabel\tidx\nA\tC\t-1\t0\n', 'test.tsv'), { code: 'ERR_DATA', message: /^test\.tsv:2:5: unknown label "-1"/ });
  t.throws(() => parseGlue('sst2', 'index\tsentence\n0\tgreat\n', 'test.tsv'), { code: 'ERR_DATA', message: /missing column "label"/ });
});

t.test('bad GLUE files and arguments', async (t) => {
  t.throws(() => parseGlue('mnli', 'premise\thypothesis\tlabel\nA\tB\tmaybe\n', 'mnli/dev_matched.tsv'), {
    code: 'ERR_DATA',
    message: 'mnli/dev_matched.tsv:2:5: unknown label "maybe" (known: "0", "1", "2", "entailment", "neutral", "contradiction")',
  });
  t.throws(() => parseGlue('stsb', 'sentence1\tsentence2\tlabel\nA\tB\thigh\n', 's.tsv'), { code: 'ERR_DATA', message: /^s\.tsv:2:5: expected a number/ });
  t.throws(() => parseGlue('cola', 'gj04\t1\tit is\n', 'cola/dev.tsv'), { code: 'ERR_DATA', message: /^cola\/dev\.tsv:1:13: column index 3 for text is out of range/ });
  t.throws(() => parseGlue('glue' as GlueTask, '', 'x.tsv'), { code: 'ERR_INVALID_ARG', message: /Expected one of 'sst2', .* for task but received 'glue'/ });
  t.throws(() => parseGlue('rte', '', 'x.tsv', { label: false } as object), { code: 'ERR_INVALID_ARG', message: /options\.label/ });
  const dir = t.testdir({ 'dev.tsv': 'sentence1\tsentence2\tlabel\tidx\nA\tB\n', 'bom.tsv': `\ufeff${VARIANTS.mrpc[0]}` });
  t.same(await readGlue('mrpc', join(dir, 'bom.tsv')), [EXPECTED.mrpc], 'a byte-order mark before the header is dropped');
  await t.rejects(readGlue('rte', join(dir, 'dev.tsv')), { code: 'ERR_DATA', message: /dev\.tsv:2:4: expected 4 columns but found 2$/ });
});

const sst2Train = sharedFile('sst2', 'train.tsv');
const sst2Dev = sharedFile('sst2', 'dev.tsv');
t.test('real SST-2: 67,349 train and 872 dev rows', { skip: sst2Train.skip || sst2Dev.skip }, async (t) => {
  const train = await readGlue('sst2', sst2Train.path);
  const dev = await readGlue('sst2', sst2Dev.path);
  t.equal(train.length, 67349);
  t.equal(dev.length, 872);
  t.same(train[0], { text: 'hide new secretions from the parental units ', label: 0 });
  t.ok(train.every((x) => x.label === 0 || x.label === 1) && dev.every((x) => x.label === 0 || x.label === 1));
  // GLUE SST-2 dev: 444 positive, 428 negative.
  t.equal(dev.filter((x) => x.label === 1).length, 444);
});

const rteTrain = sharedFile('rte', 'train.tsv');
const rteDev = sharedFile('rte', 'dev.tsv');
t.test('real RTE: 2,490 train and 277 dev pairs', { skip: rteTrain.skip || rteDev.skip }, async (t) => {
  const train = await readGlue('rte', rteTrain.path);
  const dev = await readGlue('rte', rteDev.path);
  t.equal(train.length, 2490);
  t.equal(dev.length, 277);
  t.equal(train[0]!.text, 'No Weapons of Mass Destruction Found in Iraq Yet.');
  t.equal(train[0]!.textPair, 'Weapons of Mass Destruction Found in Iraq.');
  t.equal(train[0]!.label, 1, 'not_entailment');
  // GLUE RTE dev: 146 entailment, 131 not_entailment.
  t.equal(dev.filter((x) => x.label === 0).length, 146);
});
