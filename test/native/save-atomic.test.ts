/**
 * The final model folder is written atomically (issue 17 item 2): a save killed (SIGKILL) before any
 * one of its renames leaves the old complete model, the new complete model, or a folder loadModel
 * refuses with ERR_CHECKPOINT; never old and new files mixed.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { MANIFEST } from '../../lib/io/manifest.js';
import { loadModel } from '../../lib/model/model.js';
import { runCli } from '../helpers/cli.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();
const child = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'save-crash.ts');

/** Saves a tiny classifier into `dir` in a child process killed before its `killAt`-th rename (0: never). */
function save(dir: string, vocab: string, seed: number, labels: string, killAt: number): { killed: boolean; renames?: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, dir, vocab, String(seed), labels, String(killAt)], { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  if (r.signal === 'SIGKILL') return { killed: true };
  if (r.status !== 0) throw new Error(`save child failed: ${r.stderr}`);
  return { killed: false, renames: Number(/renames (\d+)/.exec(r.stdout)?.[1]) };
}

const bytes = (dir: string, name: string) => readFileSync(join(dir, name));

t.test('a save killed before any of its renames: old model, new model or ERR_CHECKPOINT, never a mix', { skip }, async (t) => {
  const root = t.testdir();
  writeFileSync(join(root, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
  // Old and new differ in weights (seed) and config.json (labels).
  const oldRef = join(root, 'old');
  const newRef = join(root, 'new');
  save(oldRef, root, 1, 'neg,pos', 0);
  save(newRef, root, 2, 'bad,good', 0);
  const cases = [
    { name: 'a model folder (replaced as a whole)', prepare: (_dir: string) => undefined },
    { name: "a run folder (files replaced beside metrics.jsonl)", prepare: (dir: string) => writeFileSync(join(dir, 'metrics.jsonl'), '{}\n') },
    { name: 'a run folder whose old model has no manifest (as transformers writes it)', prepare: (dir: string) => (writeFileSync(join(dir, 'metrics.jsonl'), '{}\n'), rmSync(join(dir, MANIFEST))) },
  ];
  for (const c of cases) {
    const seen: string[] = [];
    for (let killAt = 1; ; killAt++) {
      const dir = join(root, `case-${cases.indexOf(c)}-${killAt}`);
      cpSync(oldRef, dir, { recursive: true });
      c.prepare(dir);
      const { killed } = save(dir, root, 2, 'bad,good', killAt);
      let outcome: string;
      try {
        const model = await loadModel(dir);
        const labels = Object.values(model.config.id2label ?? {}).join(',');
        model.dispose();
        const same = (ref: string) => ['model.safetensors', 'config.json', 'vocab.txt'].every((f) => bytes(dir, f).equals(bytes(ref, f)));
        outcome = same(oldRef) && labels === 'neg,pos' ? 'old' : same(newRef) && labels === 'bad,good' ? 'new' : 'MIX';
      } catch (err) {
        const e = err as { code?: string; message: string };
        t.equal(e.code, 'ERR_CHECKPOINT', `${c.name}, killed before rename ${killAt}: ${e.message}`);
        // Between the two renames of a whole-folder swap the old model waits beside it, and the error says where.
        if (c === cases[0]) t.match(e.message, /config\.json: not found .*a save into it was interrupted: the previous model is in .*\.tmp-[0-9a-f]+\.old/);
        outcome = 'refused';
      }
      seen.push(outcome);
      if (!killed) break;
    }
    t.notOk(seen.includes('MIX'), `${c.name}: ${seen.join(' ')}`);
    t.equal(seen[0], 'old', 'killed before the first rename: the old model');
    t.equal(seen.at(-1), 'new', 'not killed: the new model');
    t.ok(seen.length >= 3, 'the save has renames to interrupt');
  }
});

t.test('loadModel and predict refuse a folder whose files disagree with its manifest, naming the file', { skip }, async (t) => {
  const root = t.testdir();
  writeFileSync(join(root, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
  const a = join(root, 'a');
  const b = join(root, 'b');
  save(a, root, 1, 'neg,pos', 0);
  save(b, root, 2, 'bad,good', 0);
  // New weights with the old config.json: what the kill -9 left.
  cpSync(join(b, 'model.safetensors'), join(a, 'model.safetensors'));
  await t.rejects(loadModel(a), { code: 'ERR_CHECKPOINT', message: /a\/model\.safetensors: sha256 differs from advtrain-manifest\.json/ });
  const pred = await runCli(['predict', '--model', a, '--text', 'good']);
  t.equal(pred.code, 1, 'predict fails');
  t.match(pred.stderr, /model\.safetensors: sha256 differs .*\[ERR_CHECKPOINT\]/);
  t.equal(pred.stdout, '', 'and answers nothing');
  writeFileSync(join(b, 'config.json'), `${readFileSync(join(b, 'config.json'), 'utf8')} `);
  await t.rejects(loadModel(b), { code: 'ERR_CHECKPOINT', message: /b\/config\.json: \d+ bytes, advtrain-manifest\.json says \d+/ });
  rmSync(join(b, MANIFEST));
  const plain = await loadModel(b);
  t.same(Object.values(plain.config.id2label ?? {}), ['bad', 'good'], 'without a manifest the folder loads as before');
  plain.dispose();
});
