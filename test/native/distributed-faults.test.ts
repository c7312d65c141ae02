// Data parallel under faults, Gloo over loopback: a rank killed or hung mid-run makes the other fail
// with ERR_DISTRIBUTED within the timeout, the last checkpoint stays complete, and resuming it on 2
// ranks reproduces the uninterrupted run's loss curve exactly (dropout on: each rank's streams resume).
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../lib/binding.js';
import { createModel } from '../../lib/model/model.js';
import { tinyConfig } from '../helpers/models.js';
import { freePort, startRanks } from '../helpers/ranks.js';

const worker = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers', 'dp-fit-worker.ts');

if (!native().distributedBackends().gloo) {
  t.comment('skipped: this build has no Gloo backend (libgloo-dev was missing at build time)');
} else {
  const root = mkdtempSync(join(tmpdir(), 'advtrain-dpf-'));
  const modelDir = join(root, 'model');
  const model = await createModel(tinyConfig('bert', { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 }), { task: 'sequence-classification', numLabels: 2, seed: 4 });
  await model.save(modelDir);
  model.dispose();
  const method = { name: 'freelb', steps: 2, initMag: 0.1 };

  const run = async (name: string, extra: Record<string, unknown>, env: Record<string, string> = {}) => {
    const spec = join(root, `${name}.json`);
    writeFileSync(spec, JSON.stringify({ modelDir, outDir: join(root, name), method, maxSteps: 8, timeoutMs: 20_000, ...extra }));
    const t0 = Date.now();
    const { children, done } = startRanks(worker, [spec], 2, await freePort(), env);
    return { children, done: done.then((results) => ({ results, ms: Date.now() - t0 })) };
  };
  const losses = (dir: string) =>
    readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; step: number; loss?: number })
      .filter((e) => e.type === 'step')
      .map((e) => [e.step, e.loss]);

  const full = await (await run('full', {})).done;
  full.results.forEach((r, i) => t.equal(r.code, 0, `uninterrupted rank ${i} exits 0`, { stderr: r.stderr.slice(-2000) }));
  const curve = losses(join(root, 'full'));
  t.equal(curve.length, 8, 'rank 0 logged 8 steps');
  t.notOk(existsSync(join(root, 'full', 'rank1')), 'only rank 0 writes');

  await t.test('a killed rank: the survivor fails with ERR_DISTRIBUTED, the checkpoint is whole, a resume is exact', async (t) => {
    const { results, ms } = await (await run('killed', {}, { KILL_AT: '5', KILL_RANK: '1' })).done;
    t.equal(results[1]!.signal, 'SIGKILL', 'rank 1 was killed');
    t.equal(results[0]!.code, 1, 'rank 0 exits 1');
    t.match(results[0]!.stderr, /ERROR ERR_DISTRIBUTED .*rank 0 of 2.*rank 1/, 'rank 0 names ERR_DISTRIBUTED, itself and rank 1');
    t.ok(ms < 20_000, `within the timeout (${ms} ms)`);
    const dir = join(root, 'killed');
    const ckpts = readdirSync(dir).filter((d) => d.startsWith('checkpoint-')).sort();
    t.same(ckpts, ['checkpoint-2', 'checkpoint-4'], 'the checkpoints before the kill, nothing half-written');
    t.notOk(readdirSync(dir).some((d) => d.includes('.tmp-')), 'no temporary folder left');
    for (const f of ['model.safetensors', 'config.json', 'trainer_state.json', 'trainer_state.safetensors']) t.ok(existsSync(join(dir, 'checkpoint-4', f)), `checkpoint-4 has ${f}`);

    const resumed = await (await run('killed', { resumeFrom: join(dir, 'checkpoint-4') })).done;
    resumed.results.forEach((r, i) => t.equal(r.code, 0, `resumed rank ${i} exits 0`, { stderr: r.stderr.slice(-2000) }));
    t.same(losses(dir), curve, 'the resumed run logs the uninterrupted loss curve, step for step');
  });

  await t.test('a hung rank: the other fails with ERR_DISTRIBUTED within the timeout', async (t) => {
    const { children, done } = await run('hung', { timeoutMs: 4000 }, { HANG_AT: '3', KILL_RANK: '1' });
    const first = await Promise.race([done.then(() => 'both'), new Promise<string>((resolve) => children[0]!.on('close', () => resolve('rank0')))]);
    t.equal(first, 'rank0', 'rank 0 ends while rank 1 hangs');
    children[1]!.kill('SIGKILL');
    const { results, ms } = await done;
    t.equal(results[0]!.code, 1, 'rank 0 exits 1');
    t.match(results[0]!.stderr, /ERROR ERR_DISTRIBUTED .*timeout is 4000 ms/, 'rank 0 reports ERR_DISTRIBUTED with the timeout');
    t.ok(ms < 4000 + 20_000, `rank 0 gave up after about the timeout (${ms} ms in all)`);
    t.ok(existsSync(join(root, 'hung', 'checkpoint-2', 'trainer_state.json')), 'the checkpoint before the hang is whole');
  });

  await t.test('the rendezvous: a port in use and an unreachable master are clear errors', async (t) => {
    const { createServer } = await import('node:net');
    const port = await freePort();
    const srv = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const spec = join(root, 'port.json');
    writeFileSync(spec, JSON.stringify({ modelDir, outDir: join(root, 'port'), method, maxSteps: 2, timeoutMs: 3000 }));
    const [inUse] = await startRanks(worker, [spec], 2, port, {}, [0]).done;
    srv.close();
    t.match(inUse!.stderr, /ERROR ERR_DISTRIBUTED .*rank 0 of 2 could not listen on 127\.0\.0\.1:\d+ \(is the port in use/, 'rank 0: the port is in use');
    const t0 = Date.now();
    const [lonely] = await startRanks(worker, [spec], 2, await freePort(), {}, [1]).done;
    t.match(lonely!.stderr, /ERROR ERR_DISTRIBUTED .*rank 1 of 2 could not reach the master \(rank 0\) at 127\.0\.0\.1:\d+ within 3000 ms/, 'rank 1: no master');
    t.ok(Date.now() - t0 < 3000 + 15_000, 'gives up after about the timeout');
  });
}
