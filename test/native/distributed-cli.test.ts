// `advtrain launch --nproc 2 -- advtrain train` on SST-2: progress from rank 0, one HF folder, and
// Ctrl-C to the launcher stops both ranks at the same step with one checkpoint, exit code 130.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { native } from '../../lib/binding.js';
import { runCli } from '../helpers/cli.js';
import { sharedFile } from '../helpers/shared-data.js';

const train = sharedFile('sst2', 'train.tsv');
const dev = sharedFile('sst2', 'dev.tsv');
const tok = sharedFile('bert-base-uncased-tokenizer');
const skip = !native().distributedBackends().gloo ? 'this build has no Gloo backend' : train.skip || dev.skip || tok.skip;

t.test('launch --nproc 2 -- advtrain train', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'advtrain-dpcli-'));
  // A slice of SST-2: 512 training sentences, 128 dev.
  writeFileSync(join(dir, 'train.tsv'), readFileSync(train.path, 'utf8').split('\n').slice(0, 513).join('\n') + '\n');
  writeFileSync(join(dir, 'dev.tsv'), readFileSync(dev.path, 'utf8').split('\n').slice(0, 129).join('\n') + '\n');
  const common = ['--task', 'sst2', '--train', join(dir, 'train.tsv'), '--dev', join(dir, 'dev.tsv'), '--size', 'tiny', '--tokenizer', tok.path, '--method', 'freelb', '--batch-size', '8'];

  const out = join(dir, 'run');
  const r = await runCli(['launch', '--nproc', '2', '--', 'advtrain', 'train', ...common, '--epochs', '1', '--out', out]);
  t.equal(r.code, 0, 'exits 0', { stderr: r.stderr.slice(-3000) });
  t.match(r.stderr, /\[rank 0\] freelb step 32\/32/, 'rank 0 shows progress to the last of 512 / (2 x 8) steps');
  t.notMatch(r.stderr + r.stdout, /\[rank 1\] freelb step/, 'rank 1 shows none');
  t.match(r.stdout, /\[rank 0\] processes +2 \(batch 8 each\)/, 'the summary names the processes');
  t.match(r.stdout, /\[rank 0\] dev examples +128/, 'the sharded evaluation counted every dev sentence once');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) t.ok(existsSync(join(out, f)), `the run folder has ${f}`);
  const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"'));
  t.equal(steps.length, 32, 'metrics.jsonl has each step once');

  const out2 = join(dir, 'interrupted');
  let sent = false;
  // Long enough (40 epochs) that the first progress line (every 10 s off a terminal) comes mid-run.
  const c = await runCli(['launch', '--nproc', '2', '--', 'advtrain', 'train', ...common, '--epochs', '40', '--out', out2], {
    onStderr: (chunk, kill) => {
      const m = /\[rank 0\] freelb step (\d+)\/(\d+)/.exec(chunk);
      if (!sent && m && Number(m[1]) >= 3 && Number(m[1]) < Number(m[2])) {
        sent = true;
        kill('SIGINT');
      }
    },
  });
  t.ok(sent, 'SIGINT was sent during training');
  t.equal(c.code, 130, 'the launcher exits 130', { stderr: c.stderr.slice(-3000) });
  const saved = [...c.stderr.matchAll(/\[rank (\d)\] interrupted at step (\d+): checkpoint saved/g)].map((m) => [m[1], m[2]]);
  t.equal(saved.length, 2, 'both ranks stopped with the checkpoint', { stderr: c.stderr.slice(-4000) });
  t.equal(saved[0]![1], saved[1]![1], 'at the same step');
  const ckpts = readdirSync(out2).filter((d) => d.startsWith('checkpoint-'));
  t.same(ckpts, [`checkpoint-${saved[0]![1]}`], 'one checkpoint, written once');
  t.ok(existsSync(join(out2, ckpts[0]!, 'trainer_state.safetensors')), 'and complete');
});
