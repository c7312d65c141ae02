/** The CLI's output folders, resumes, signals and input checks (issue 17). */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { packageVersion } from '../../lib/paths.js';
import { main } from '../../lib/cli/main.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

function fixture(dir: string) {
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
  const tsv = (n: number, seed: number) => `sentence\tlabel\n${generateSentiment(n, seed).map((e) => `${e.text}\t${e.label}`).join('\n')}\n`;
  writeFileSync(join(dir, 'train.tsv'), tsv(64, 1));
  writeFileSync(join(dir, 'dev.tsv'), tsv(16, 2));
}

const TABLE = ['--task', 'table', '--columns', 'text=sentence,label=label', '--labels', 'negative,positive'];
const trainArgs = (dir: string, ...more: string[]) => ['train', ...TABLE, '--train', join(dir, 'train.tsv'), '--size', 'tiny', '--tokenizer', dir, '--batch-size', '8', '--lr', '1e-3', '--quiet', ...more];
const metrics = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number; loss?: number });
/** The CLI in this process (no child start-up) for checks that end before training. */
async function inProcess(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await main(args);
    return { code, stdout: `${out.join('\n')}\n`, stderr: `${err.join('\n')}\n` };
  } finally {
    Object.assign(console, { log, error });
  }
}
const checkpoints = (out: string) => readdirSync(out).filter((n) => n.startsWith('checkpoint-')).sort();

t.test('a reused --out is refused; --overwrite clears the old run; --resume continues it in place', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  const first = await runCli(trainArgs(dir, '--max-steps', '4', '--save-every', '2', '--out', out));
  t.equal(first.code, 0, first.stderr);
  const firstLog = metrics(out);
  const again = await runCli(trainArgs(dir, '--max-steps', '3', '--out', out));
  t.equal(again.code, 2, 'usage error');
  t.match(again.stderr, /--out .*run holds another run \(checkpoint-2, checkpoint-4, metrics\.jsonl, model\.safetensors\); .*--overwrite.*--resume/);
  t.same(metrics(out), firstLog, 'the first run is untouched');

  const over = await runCli(trainArgs(dir, '--max-steps', '3', '--out', out, '--overwrite'));
  t.equal(over.code, 0, over.stderr);
  t.same(checkpoints(out), ['checkpoint-3'], "the first run's checkpoints are gone");
  t.same(metrics(out).filter((e) => e.type === 'step').map((e) => e.step), [1, 2, 3], 'metrics.jsonl holds this run only');
});

t.test('resuming in place: unfinished checkpoints removed, metrics.jsonl truncated to the checkpoint, --save-total-limit', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  const full = await runCli(trainArgs(dir, '--max-steps', '6', '--save-every', '2', '--out', out));
  t.equal(full.code, 0, full.stderr);
  const fullSteps = metrics(out).filter((e) => e.type === 'step');
  // As a kill -9 during a save leaves it.
  mkdirSync(join(out, '.checkpoint-5.tmp-0badc0de'));
  writeFileSync(join(out, '.checkpoint-5.tmp-0badc0de', 'model.safetensors'), 'partial');
  const resumed = await runCli(trainArgs(dir, '--max-steps', '6', '--save-every', '2', '--save-total-limit', '1', '--resume', join(out, 'checkpoint-2'), '--out', out));
  t.equal(resumed.code, 0, resumed.stderr);
  t.notOk(existsSync(join(out, '.checkpoint-5.tmp-0badc0de')), 'the unfinished checkpoint is removed');
  t.same(checkpoints(out), ['checkpoint-6'], 'only the newest checkpoint is kept');
  const steps = metrics(out).filter((e) => e.type === 'step');
  t.same(steps.map((e) => e.step), [1, 2, 3, 4, 5, 6], 'every step once');
  t.same(steps.map((e) => e.loss), fullSteps.map((e) => e.loss), 'and the resumed steps repeat the first run');
  t.same(metrics(out).filter((e) => e.type === 'save').map((e) => e.step), [2, 4, 6]);
});

t.test('resume guards: another batch size or step count is refused; a damaged trainer_state.json is ERR_CHECKPOINT', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  t.equal((await runCli(trainArgs(dir, '--max-steps', '4', '--save-every', '2', '--out', out))).code, 0);
  const ckpt = join(out, 'checkpoint-2');
  // The flags stored in the checkpoint refuse another value before any work.
  const batch = await inProcess([...trainArgs(dir, '--max-steps', '4', '--resume', ckpt, '--out', join(dir, 'b'))].map((a, i, all) => (all[i - 1] === '--batch-size' ? '16' : a)));
  t.equal(batch.code, 2);
  t.match(batch.stderr, /--batch-size 16 disagrees with the run being resumed \(it had --batch-size 8, stored in .*checkpoint-2\/trainer_state\.json\)/);
  const steps = await inProcess(trainArgs(dir, '--max-steps', '10', '--resume', ckpt, '--out', join(dir, 'c')));
  t.equal(steps.code, 2);
  t.match(steps.stderr, /--max-steps 10 disagrees .*it had --max-steps 4/);
  const epochs = await inProcess(trainArgs(dir, '--epochs', '2', '--resume', ckpt, '--out', join(dir, 'd')));
  t.match(epochs.stderr, /--epochs 2 disagrees .*it had --epochs 3/);
  t.notOk(existsSync(join(dir, 'b')) || existsSync(join(dir, 'c')) || existsSync(join(dir, 'd')), 'nothing written');
  // A checkpoint without stored flags (written through the API) is still guarded by the trainer.
  const state = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8'));
  writeFileSync(join(ckpt, 'trainer_state.json'), JSON.stringify({ ...state, runSettings: undefined }));
  const apiBatch = await runCli([...trainArgs(dir, '--max-steps', '4', '--resume', ckpt, '--out', join(dir, 'e'))].map((a, i, all) => (all[i - 1] === '--batch-size' ? '16' : a)));
  t.equal(apiBatch.code, 1);
  t.match(apiBatch.stderr, /trainer_state\.json: the checkpoint was trained with batch size 8, this run has 16.*\[ERR_CHECKPOINT\]/);
  const apiSteps = await runCli(trainArgs(dir, '--max-steps', '10', '--resume', ckpt, '--out', join(dir, 'f')));
  t.equal(apiSteps.code, 1);
  t.match(apiSteps.stderr, /run was 4 steps long .*asks for 10 .*\[ERR_CHECKPOINT\]/);
  writeFileSync(join(ckpt, 'trainer_state.json'), JSON.stringify({ ...state, state: { ...state.state, epoch: 'one' } }));
  const bad = await runCli(trainArgs(dir, '--max-steps', '4', '--resume', ckpt, '--out', join(dir, 'g')));
  t.equal(bad.code, 1);
  t.match(bad.stderr, /trainer_state\.json: state\.epoch should be an integer >= 0 .*\[ERR_CHECKPOINT\]/);
  t.notMatch(bad.stderr, /TypeError|at .*\.ts:/, 'no stack trace');
});

t.test("--resume needs only the checkpoint: the run's flags are stored there, flags given again must agree", { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  const first = await runCli(trainArgs(dir, '--method', 'freelb', '--steps', '2', '--max-steps', '4', '--save-every', '2', '--out', out));
  t.equal(first.code, 0, first.stderr);
  const firstSteps = metrics(out).filter((e) => e.type === 'step');
  const ckpt = join(out, 'checkpoint-2');
  const stored = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')).runSettings.cli;
  t.equal(stored.command, 'train');
  t.match(stored.args, { method: 'freelb', steps: '2', 'batch-size': '8', lr: '1e-3', epochs: '3', tokenizer: dir, out, train: join(dir, 'train.tsv') }, 'every flag, defaults included, paths absolute');
  t.notOk('resume' in stored.args);

  const refused = async (args: string[], message: RegExp) => {
    const r = await inProcess(['train', '--resume', ckpt, ...args]);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stderr, message);
  };
  await refused(['--method', 'pgd'], /--method pgd disagrees with the run being resumed \(it had --method freelb, stored in .*trainer_state\.json\); leave --method out/);
  await refused(['--steps', '3'], /--steps 3 disagrees .*it had --steps 2/);
  await refused(['--dev', join(dir, 'dev.tsv')], /--dev .*dev\.tsv disagrees .*it had no --dev/);
  await refused(['--regression'], /--regression disagrees .*it had no --regression/);
  await refused(['--train', join(dir, 'dev.tsv')], /--train .*dev\.tsv disagrees .*it had --train .*train\.tsv/);
  const pre = await inProcess(['pretrain', '--resume', ckpt]);
  t.equal(pre.code, 2);
  t.match(pre.stderr, /--resume .*checkpoint-2 is a checkpoint of 'advtrain train', not of 'pretrain'/);

  // The folder alone (in place), with flags that agree written another way (0.001 = 1e-3, a relative path).
  const resumed = await runCli(['train', '--resume', ckpt, '--lr', '0.001', '--batch-size', '8', '--train', join(dir, '.', 'train.tsv')]);
  t.equal(resumed.code, 0, resumed.stderr);
  t.equal(resumed.stderr, '', 'quiet, as the stored run was');
  const steps = metrics(out).filter((e) => e.type === 'step');
  t.same(steps.map((e) => e.step), [1, 2, 3, 4]);
  t.same(steps.map((e) => e.loss), firstSteps.map((e) => e.loss), 'the resumed steps repeat the first run');
  // Flags that only say where and how to report may change.
  const elsewhere = await runCli(['train', '--resume', ckpt, '--out', join(dir, 'copy')]);
  t.equal(elsewhere.code, 0, elsewhere.stderr);
  t.same(metrics(join(dir, 'copy')).filter((e) => e.type === 'step').map((e) => e.loss), firstSteps.slice(2).map((e) => e.loss));
});

t.test('SIGTERM saves a checkpoint and exits 143', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  let sent = false;
  const args = trainArgs(dir, '--epochs', '200', '--out', out).filter((a) => a !== '--quiet');
  const res = await runCli(args, {
    onStderr: (chunk, kill) => {
      if (!sent && /step \d+\//.test(chunk)) {
        sent = true;
        kill('SIGTERM');
      }
    },
  });
  t.ok(sent, 'training started before the signal');
  t.equal(res.code, 143, res.stderr);
  const m = /checkpoint saved in .*checkpoint-(\d+)/.exec(res.stderr);
  t.ok(m && existsSync(join(out, `checkpoint-${m[1]}`, 'trainer_state.safetensors')), 'checkpoint written');
  const help = await inProcess(['train', '--help']);
  t.match(help.stdout, /SIGTERM.*\n?.*143/);
});

t.test('an output that cannot be created or written fails before any work, naming the path', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const t0 = performance.now();
  const proc = await runCli(trainArgs(dir, '--max-steps', '2', '--out', '/proc/advtrain-test/run'), { timeoutMs: 30_000 });
  t.equal(proc.code, 1, 'no endless mkdir');
  t.match(proc.stderr, /\/proc\/advtrain-test\/run: cannot create the folder .*\[ERR_IO\]/);
  t.ok(performance.now() - t0 < 20_000);
  const underFile = join(dir, 'train.tsv', 'out');
  const rob = await runCli(['robustness', ...TABLE, '--model', dir, '--data', join(dir, 'dev.tsv'), '--out', underFile, '--attacks', 'pgd']);
  t.equal(rob.code, 1);
  t.match(rob.stderr, /train\.tsv\/out: cannot create the folder: .*train\.tsv is not a folder \[ERR_IO\]/);
  t.notMatch(rob.stderr, /done in/, 'no attack ran');
  const trained = join(dir, 'model');
  t.equal((await runCli(trainArgs(dir, '--max-steps', '1', '--out', trained))).code, 0);
  const pred = await runCli(['predict', '--model', trained, '--text', 'good', '--out', join(dir, 'no-such-folder', 'p.jsonl')]);
  t.equal(pred.code, 1);
  t.match(pred.stderr, /no-such-folder\/p\.jsonl: cannot open for writing: ENOENT.*\[ERR_IO\]/);
  t.notMatch(pred.stderr, /Unhandled|at .*\.ts:/);
});

t.test('inputs that would pass silently are refused with the flag named', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  t.equal((await runCli(trainArgs(dir, '--max-steps', '1', '--out', out))).code, 0);
  writeFileSync(join(dir, 'empty.tsv'), '');
  const empty = await runCli(['eval', ...TABLE, '--model', out, '--data', join(dir, 'empty.tsv')]);
  t.equal(empty.code, 1);
  t.match(empty.stderr, /empty\.tsv: no examples \[ERR_DATA\]/);
  writeFileSync(join(dir, 'latin1.tsv'), Buffer.concat([Buffer.from('sentence\tlabel\ngood\t1\ncaf'), Buffer.from([0xe9]), Buffer.from('\t0\n')]));
  const latin1 = await runCli(['eval', ...TABLE, '--model', out, '--data', join(dir, 'latin1.tsv')]);
  t.equal(latin1.code, 1);
  t.match(latin1.stderr, /latin1\.tsv:3:4: invalid UTF-8 \(byte 0xe9\).*\[ERR_DATA\]/);

  const usage = async (args: string[], message: RegExp) => {
    const r = await inProcess(args);
    t.equal(r.code, 2, `exit 2 for ${args.slice(-3).join(' ')}`);
    t.match(r.stderr, message);
    t.notOk(existsSync(join(dir, 'never')), 'nothing written');
  };
  const never = join(dir, 'never');
  await usage(trainArgs(dir, '--out', never, '--precision', 'fp16'), /--precision must be 'fp32' or 'bf16', got 'fp16'/);
  await usage(trainArgs(dir, '--out', never, '--precision', 'BF16'), /--precision must be 'fp32' or 'bf16', got 'BF16'/);
  await usage(trainArgs(dir, '--out', never, '--eval-every', '5'), /--eval-every needs --dev/);
  await usage(['train', '--task', 'sst2', '--columns', 'text=a', '--train', join(dir, 'train.tsv'), '--size', 'tiny', '--tokenizer', dir, '--out', never], /--columns applies to --task table only/);
  await usage(trainArgs(dir, '--out', never, 'extra.tsv'), /unexpected argument 'extra\.tsv'/);
  await usage(trainArgs(dir, '--out', never, '--lr', '-1'), /--lr takes a number >= 0, got '-1'/);
  await usage(trainArgs(dir, '--out', never, '--max-steps', '-3'), /--max-steps takes an integer >= 1, got '-3'/);
  await usage(['predict', '--model', out, '--text', 'good', '--task', 'sst2'], /--task describes a --data file; with --text it has no effect/);
  await usage(['predict', '--model', out, '--data', join(dir, 'dev.tsv'), '--pair', 'x', ...TABLE], /--pair goes with --text/);
  const long = await inProcess(['eval', ...TABLE, '--model', out, '--data', join(dir, 'dev.tsv'), '--max-length', '100000']);
  t.equal(long.code, 2);
  t.match(long.stderr, /--max-length takes an integer from 8 to 512 .*got '100000'/);
  t.notMatch(long.stderr, /seqLen|maxLength/, 'no internal field name');
});

t.test('CLI polish: --version, usage, pretrain help, --quiet, metrics.jsonl', { skip }, async (t) => {
  const v = await inProcess(['--version']);
  t.equal(v.code, 0);
  t.equal(v.stdout.trim(), packageVersion);
  const help = await inProcess(['train', '--help']);
  t.match(help.stdout, /\[--method NAME\]/, '--method is optional (it defaults to vanilla)');
  t.match(help.stdout, /--overwrite/);
  t.match(help.stdout, /--save-total-limit VALUE/);
  const pre = await inProcess(['pretrain', '--help']);
  const methods = /--method VALUE\s+pre-training method: ([^(]*)/.exec(pre.stdout)?.[1]?.trim();
  t.equal(methods, 'vanilla, alum, creat, freelb, pgd', 'only the methods pretrain accepts');
  t.match(pre.stdout, /--size tiny\|mini\|small\|base/);
  const dir = t.testdir();
  fixture(dir);
  const quiet = await runCli(trainArgs(dir, '--max-steps', '2', '--out', join(dir, 'q')));
  t.equal(quiet.code, 0, quiet.stderr);
  t.equal(quiet.stderr, '', '--quiet prints nothing on stderr');
  const loud = await runCli(trainArgs(dir, '--max-steps', '2', '--out', join(dir, 'l')).filter((a) => a !== '--quiet'));
  t.match(loud.stderr, /step 1\/2 loss \d\.\d{4} \| - ex\/s \| ETA -\n/, 'without a terminal: a line at the first step');
  t.match(loud.stderr, /step 2\/2 loss \d\.\d{4} \| \d+\.\d ex\/s \| ETA 0s\n/, 'and at the last, with rate and ETA');
});
