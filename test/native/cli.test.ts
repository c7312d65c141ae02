import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { generateSentiment, syntheticVocabulary } from '../../lib/demo/synthetic.js';
import { runCli } from '../helpers/cli.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();

// A tiny table task and tokenizer written by the test itself.
function fixture(dir: string) {
  writeFileSync(join(dir, 'vocab.txt'), `${['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...syntheticVocabulary()].join('\n')}\n`);
  const tsv = (n: number, seed: number) => `sentence\tlabel\n${generateSentiment(n, seed).map((e) => `${e.text}\t${e.label}`).join('\n')}\n`;
  writeFileSync(join(dir, 'train.tsv'), tsv(256, 1));
  writeFileSync(join(dir, 'dev.tsv'), tsv(64, 2));
}

t.test('usage errors exit 2 with help; --help exits 0', { skip }, async (t) => {
  const top = await runCli(['--help']);
  t.equal(top.code, 0);
  t.match(top.stdout, /train.*\n.*eval/s);
  const unknown = await runCli(['fly']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command 'fly'/);
  const missing = await runCli(['train', '--task', 'sst2']);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /--out is required/);
  const badFlag = await runCli(['train', '--nope']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.stderr, /Unknown option '--nope'/);
  const help = await runCli(['train', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--step-size VALUE/);
  const badMethod = await runCli(['train', '--task', 'sst2', '--train', 'x', '--out', 'y', '--size', 'tiny', '--tokenizer', 'z', '--method', 'freelb', '--epsilon', '-1']);
  t.equal(badMethod.code, 2);
  t.match(badMethod.stderr, /--epsilon/);
});

t.test('train, eval and predict on a tiny table task', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  const common = ['--task', 'table', '--columns', 'text=sentence,label=label', '--labels', 'negative,positive'];
  const tr = await runCli(['train', ...common, '--train', join(dir, 'train.tsv'), '--dev', join(dir, 'dev.tsv'), '--size', 'tiny', '--tokenizer', dir, '--method', 'freelb', '--steps', '2', '--max-steps', '6', '--batch-size', '16', '--lr', '1e-3', '--save-every', '3', '--out', out, '--quiet']);
  t.equal(tr.code, 0, tr.stderr);
  t.match(tr.stdout, /method\s+freelb/);
  t.match(tr.stdout, /dev accuracy\s+0\.\d+/);
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'metrics.jsonl', 'checkpoint-3/trainer_state.json', 'checkpoint-6/model.safetensors']) t.ok(existsSync(join(out, f)), `${f} written`);
  const log = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  t.equal(log.filter((e) => e.type === 'step').length, 6);
  t.ok(log.some((e) => e.type === 'eval' || e.type === 'log'));
  t.ok(log.filter((e) => e.type === 'step').every((e) => typeof e.deltaNorm === 'number'), 'deltaNorm of every step in the log');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  t.same(cfg.id2label, { 0: 'negative', 1: 'positive' });

  const ev = await runCli(['eval', ...common, '--model', out, '--data', join(dir, 'dev.tsv'), '--json']);
  t.equal(ev.code, 0, ev.stderr);
  const metrics = JSON.parse(ev.stdout);
  t.type(metrics.accuracy, 'number');
  t.equal(metrics.examples, 64);

  const pr = await runCli(['predict', '--model', out, '--text', 'the plot was not good']);
  t.equal(pr.code, 0, pr.stderr);
  const row = JSON.parse(pr.stdout.trim());
  t.match(row.label, /negative|positive/);
  t.ok(Math.abs(row.probs.negative + row.probs.positive - 1) < 1e-5);

  // The checkpoint holds the run's flags: the folder and a new --out are enough.
  const resumed = await runCli(['train', '--resume', join(out, 'checkpoint-3'), '--out', join(dir, 'run2')]);
  t.equal(resumed.code, 0, resumed.stderr);
  const log2 = readFileSync(join(dir, 'run2', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'step');
  t.same(log2.map((e) => e.loss), log.filter((e) => e.type === 'step').slice(3).map((e) => e.loss), 'a resumed CLI run repeats the losses of steps 4-6');
});

t.test('train --tickets: EarlyRobust search, pruning, then the method on the ticket; resumable', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  const common = ['--task', 'table', '--columns', 'text=sentence,label=label', '--labels', 'negative,positive'];
  const ticketFlags = ['--tickets', '--ticket-heads', '0.25', '--ticket-points', '4', '--ticket-window', '2', '--ticket-epsilon', '0.3', '--ticket-max-epochs', '2'];
  const args = ['train', ...common, '--train', join(dir, 'train.tsv'), '--size', 'tiny', '--tokenizer', dir, '--method', 'pgd', '--max-steps', '4', '--batch-size', '16', '--lr', '1e-3', '--save-every', '2', ...ticketFlags, '--out', out, '--quiet'];
  const tr = await runCli(args);
  t.equal(tr.code, 0, tr.stderr);
  t.match(tr.stdout, /ticket\s+step \d+ of \d+ searched/);
  t.match(tr.stdout, /pruned\s+4 -> 3 heads, 1024 -> 614 FFN neurons/);
  const ticket = JSON.parse(readFileSync(join(out, 'ticket.json'), 'utf8'));
  t.ok(ticket.points.length >= 3 && ticket.points.every((p: { keptHeads: number }) => p.keptHeads === 3), 'every point logged');
  t.ok(readFileSync(join(out, 'ticket.svg'), 'utf8').startsWith('<svg'), 'the figure');
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  t.equal(Object.values(cfg.pruned_heads as Record<string, number[]>).flat().length, 1, 'the final folder records its pruned head');
  const log = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'step');
  t.equal(log.length, 4, 'then the method trains for the budget');
  const resumed = await runCli(['train', '--resume', join(out, 'checkpoint-2'), '--out', join(dir, 'run2')]);
  t.equal(resumed.code, 0, resumed.stderr);
  const log2 = readFileSync(join(dir, 'run2', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'step');
  t.same(log2.map((e) => e.loss), log.slice(2).map((e) => e.loss), 'a resumed ticket run repeats the losses of steps 3-4');
});

t.test('Ctrl-C saves a checkpoint and exits 130', { skip }, async (t) => {
  const dir = t.testdir();
  fixture(dir);
  const out = join(dir, 'run');
  let sent = false;
  const res = await runCli(
    ['train', '--task', 'table', '--columns', 'text=sentence,label=label', '--labels', 'negative,positive', '--train', join(dir, 'train.tsv'), '--size', 'tiny', '--tokenizer', dir, '--epochs', '50', '--batch-size', '8', '--out', out],
    {
      onStderr: (chunk, kill) => {
        if (!sent && /step \d+\//.test(chunk)) {
          sent = true;
          kill('SIGINT');
        }
      },
    },
  );
  t.ok(sent, 'training started before the interrupt');
  t.equal(res.code, 130, res.stderr);
  t.match(res.stderr, /checkpoint saved in .*checkpoint-\d+/);
  const m = /checkpoint-(\d+)/.exec(res.stderr)!;
  t.ok(existsSync(join(out, `checkpoint-${m[1]}`, 'trainer_state.safetensors')));
});

t.test('demo runs a short comparison', { skip }, async (t) => {
  const res = await runCli(['demo', '--methods', 'vanilla,creat', '--warmup-steps', '5', '--steps', '3', '--train-size', '128', '--json']);
  t.equal(res.code, 0, res.stderr);
  const rows = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.same(rows.map((r) => r.method), ['vanilla', 'creat']);
  t.ok(rows[1].repCos > 0 && rows[1].repCos <= 1);
  for (const family of ['deberta-v3', 'albert']) {
    const fam = await runCli(['demo', '--family', family, '--methods', 'sift', '--warmup-steps', '3', '--steps', '2', '--train-size', '64', '--json']);
    t.equal(fam.code, 0, `${family}: ${fam.stderr}`);
    t.match(fam.stderr, new RegExp(`, ${family}, cpu`));
  }
});

t.test('doctor prints the build as JSON', { skip }, async (t) => {
  const res = await runCli(['doctor', '--json', '--no-bench']);
  t.equal(res.code, 0);
  const d = JSON.parse(res.stdout);
  t.match(d.torchVersion, /^\d/);
  t.equal(d.libtorch.found, true);
  t.type(d.blas, 'string');
  // Debian's libtorch loads OpenBLAS through libblas.so.3; PyTorch's links MKL into itself.
  t.ok(Array.isArray(d.blasLibraries) && (d.blas === 'mkl' || d.blasLibraries.length > 0), `the BLAS libtorch runs on: ${d.blas}, loaded ${d.blasLibraries}`);
  // CI builds with gloo's headers (libgloo-dev); NCCL only in a CUDA build.
  t.same(d.distributed, { gloo: true, nccl: d.cudaCompiled }, 'the c10d backends of this build');
  // bf16 on the CPU: available, or a reason why not.
  t.type(d.cpuBf16, 'boolean');
  t.equal(d.cpuBf16Reason === '', d.cpuBf16, `cpuBf16 ${d.cpuBf16}: '${d.cpuBf16Reason}'`);
});
