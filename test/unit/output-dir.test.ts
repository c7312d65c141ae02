import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { readGlue } from '../../lib/data/glue.js';
import { readTable } from '../../lib/data/table.js';
import { writeFileAtomic } from '../../lib/io/atomic.js';
import { ensureWritableDir, prepareRunDir, removeCheckpointLeftovers, rotateCheckpoints } from '../../lib/io/output-dir.js';
import { taskSpec } from '../../lib/cli/task-data.js';

t.test('a folder holding another run is refused; overwrite clears only the run, resume keeps it', async (t) => {
  const dir = t.testdir({
    'metrics.jsonl': '{"type":"step","step":1}\n',
    'model.safetensors': 'x',
    'config.json': '{}',
    'checkpoint-2': { 'trainer_state.json': '{}' },
    'notes.md': 'mine',
  });
  t.throws(() => prepareRunDir(dir), { code: 'ERR_INVALID_ARG', message: /holds another run \(.*checkpoint-2.*metrics\.jsonl.*\); .*overwriteOutputDir: true.*resumeFrom/ });
  t.throws(() => prepareRunDir(dir, { names: { overwrite: '--overwrite', resume: '--resume' } }), { message: /--overwrite.*--resume/ });
  prepareRunDir(dir, { resume: true });
  t.ok(existsSync(join(dir, 'checkpoint-2')), 'resume keeps the run');
  prepareRunDir(dir, { overwrite: true });
  t.same(readdirSync(dir), ['notes.md'], "overwrite removes the run's files and nothing else");
  prepareRunDir(dir);
  prepareRunDir(join(dir, 'new', 'deeper'));
  t.ok(existsSync(join(dir, 'new', 'deeper')), 'missing parents are created');
});

t.test('a folder that cannot be created or written is refused at once with ERR_IO naming it', async (t) => {
  const dir = t.testdir({ file: 'x' });
  t.throws(() => ensureWritableDir(join(dir, 'file')), { code: 'ERR_IO', message: /file: exists and is not a folder/ });
  t.throws(() => ensureWritableDir(join(dir, 'file', 'sub')), { code: 'ERR_IO', message: /file\/sub: cannot create the folder: .*file is not a folder/ });
  if (process.platform === 'linux') {
    // Node's recursive mkdir loops forever here.
    t.throws(() => ensureWritableDir('/proc/advtrain-test/out'), { code: 'ERR_IO', message: /^\/proc\/advtrain-test\/out: cannot create the folder/ });
  }
  await t.rejects(writeFileAtomic(join(dir, 'missing', 'report.json'), '{}'), { code: 'ERR_IO', message: /missing\/report\.json: cannot write: ENOENT/ });
});

t.test('unfinished checkpoints and final saves of a killed run are removed; rotation keeps the newest', async (t) => {
  const dir = t.testdir({
    '.checkpoint-4.tmp-0a1b2c3d': { 'model.safetensors': 'partial' },
    '.advtrain-save.tmp-0badc0de': { 'model.safetensors': 'partial' },
    '.checkpoint-2.tmp-deadbeef.old': {},
    '.hidden-user-file': 'keep',
    'checkpoint-2': {},
    'checkpoint-10': {},
    'checkpoint-6': {},
    'checkpoint-x': {},
  });
  t.same(removeCheckpointLeftovers(dir).sort(), ['.advtrain-save.tmp-0badc0de', '.checkpoint-2.tmp-deadbeef.old', '.checkpoint-4.tmp-0a1b2c3d']);
  mkdirSync(join(dir, 'checkpoint-12'));
  t.same(rotateCheckpoints(dir, 2, join(dir, 'checkpoint-12')).map((p) => p.split('/').pop()), ['checkpoint-2', 'checkpoint-6']);
  t.same(readdirSync(dir).sort(), ['.hidden-user-file', 'checkpoint-10', 'checkpoint-12', 'checkpoint-x']);
  t.same(rotateCheckpoints(dir, 1, join(dir, 'checkpoint-10')).map((p) => p.split('/').pop()), ['checkpoint-12'], 'the checkpoint just written is kept even when a newer one exists');
});

t.test('invalid UTF-8 in a data file is ERR_DATA with file:line:col', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'train.tsv');
  writeFileSync(file, Buffer.concat([Buffer.from('sentence\tlabel\nfine film\t1\nbad '), Buffer.from([0xe9]), Buffer.from('t\u00e9\t0\n')]));
  await t.rejects(readTable(file, { columns: { text: 'sentence' } }), { code: 'ERR_DATA', message: /train\.tsv:3:5: invalid UTF-8 \(byte 0xe9\)/ });
  await t.rejects(readGlue('sst2', file), { code: 'ERR_DATA', message: /train\.tsv:3:5/ });
  writeFileSync(file, Buffer.concat([Buffer.from('sentence\tlabel\ncaf\u00e9 \ufffd \ud83d\ude00\t1\ncut '), Buffer.from([0xf0, 0x9f, 0x98])]));
  await t.rejects(readTable(file, { columns: { text: 'sentence' } }), { code: 'ERR_DATA', message: /train\.tsv:3:5: invalid UTF-8 \(byte 0xf0\)/ }, 'a sequence cut by the end of the file');
  writeFileSync(file, 'sentence\tlabel\ncaf\u00e9 \ufffd \ud83d\ude00\t1\n');
  t.same((await readTable(file, { columns: { text: 'sentence' } })).map((r) => r.text), ['caf\u00e9 \ufffd \ud83d\ude00'], 'valid multi-byte text (and a literal U+FFFD) reads as before');
});

t.test('task flags that would be ignored are refused', async (t) => {
  t.throws(() => taskSpec({ task: 'sst2', columns: 'text=a' }), { message: /--columns applies to --task table only/ });
  t.throws(() => taskSpec({ task: 'rte', labels: 'a,b' }), { message: /--labels applies to --task table only/ });
  t.throws(() => taskSpec({ task: 'conll', regression: true }), { message: /--regression applies to --task table only/ });
  t.throws(() => taskSpec({ task: 'table', columns: 'text=a', labels: 'x,y', fields: 'context=c' }), { message: /--fields applies to --task choice only/ });
  t.equal(taskSpec({ task: 'table', columns: 'text=a', labels: 'x,y' }).name, 'table');
});
