// Data parallel on c10d's Gloo over loopback: 2 ranks with 16 rows each end where 1 process with the
// 32 rows ends (dropout 0, the same random starts by row), for every method whose state or passes the
// all-reduce has to get right; the ranks' method state (TextAT's table, SMART's teacher) stays equal.
import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../lib/binding.js';
import { createModel } from '../../lib/model/model.js';
import { readFloat64, readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { tinyConfig } from '../helpers/models.js';
import { readParams, worstDiff } from '../helpers/params.js';
import { freePort, startRanks } from '../helpers/ranks.js';

const helpers = join(dirname(fileURLToPath(import.meta.url)), '..', 'helpers');
const worker = join(helpers, 'dp-worker.ts');

if (!native().distributedBackends().gloo) {
  t.comment('skipped: this build has no Gloo backend (libgloo-dev was missing at build time)');
} else {
  const root = mkdtempSync(join(tmpdir(), 'advtrain-dp-'));
  const modelDir = join(root, 'model');
  const model = await createModel(tinyConfig('bert'), { task: 'sequence-classification', numLabels: 2, seed: 3 });
  await model.save(modelDir);
  model.dispose();

  const state = (dir: string) => {
    const h = readSafetensorsHeader(join(dir, 'trainer_state.safetensors'));
    return new Map([...h.tensors.keys()].filter((k) => k.startsWith('method.')).map((k) => [k, readFloat64(h, k)]));
  };
  const run = async (name: string, method: Record<string, unknown>, world: number, extra: Record<string, unknown> = {}) => {
    const outDir = join(root, `${name}-${world}`);
    const spec = join(root, `${name}-${world}.json`);
    writeFileSync(spec, JSON.stringify({ modelDir, outDir, method, steps: 3, globalBatch: 32, seqLen: 12, width: 32, timeoutMs: 60_000, draws: !['vanilla', 'freeat'].includes(method.name as string), ...extra }));
    const { done } = startRanks(worker, [spec], world, await freePort());
    const results = await done;
    results.forEach((r, i) => t.equal(r.code, 0, `${name} world ${world} rank ${i} exits 0`, { stderr: r.stderr.slice(-2000) }));
    return outDir;
  };

  const methods: Record<string, Record<string, unknown>> = {
    vanilla: { name: 'vanilla' },
    freelb: { name: 'freelb', steps: 3, initMag: 0.1 },
    pgd: { name: 'pgd', steps: 2, initMag: 0.1, cleanWeight: 0.5 },
    creat: { name: 'creat' },
    smart: { name: 'smart', bregman: { mu: 1, beta: 0.99 } },
    textat: { name: 'textat', steps: 3, initMag: 0.1 },
    // Every replay is an optimizer update, each reduced.
    freeat: { name: 'freeat', replays: 2 },
  };
  for (const [name, method] of Object.entries(methods)) {
    await t.test(`${name}: 2 ranks x 16 rows = 1 process x 32 rows after 3 steps`, async (t) => {
      const one = await run(name, method, 0);
      const two = await run(name, method, 2);
      const ref = readParams(join(one, 'rank0', 'model.safetensors'));
      const r0 = readParams(join(two, 'rank0', 'model.safetensors'));
      const r1 = readParams(join(two, 'rank1', 'model.safetensors'));
      const vsOne = worstDiff(ref, r0);
      t.ok(vsOne.worst < 1e-5, `weights within 1e-5 of one process (worst ${vsOne.worst.toExponential(2)} at ${vsOne.where})`);
      t.equal(worstDiff(r0, r1).worst, 0, 'both ranks hold the same weights, bit for bit');
      const s1 = state(join(one, 'rank0'));
      const s0 = state(join(two, 'rank0'));
      const sr1 = state(join(two, 'rank1'));
      t.same([...s0.keys()].sort(), [...s1.keys()].sort(), 'the same method state entries');
      if (s0.size) {
        const st = worstDiff(s1, s0);
        t.ok(st.worst < 1e-5, `method state within 1e-5 of one process (worst ${st.worst.toExponential(2)} at ${st.where})`);
        t.equal(worstDiff(s0, sr1).worst, 0, 'method state equal on both ranks');
      }
      const l1 = JSON.parse(readFileSync(join(one, 'rank0', 'losses.json'), 'utf8')).losses as number[];
      const l2 = JSON.parse(readFileSync(join(two, 'rank0', 'losses.json'), 'utf8')).losses as number[];
      const l2b = JSON.parse(readFileSync(join(two, 'rank1', 'losses.json'), 'utf8')).losses as number[];
      t.same(l2, l2b, 'every rank reports the averaged loss');
      l1.forEach((x, i) => t.ok(Math.abs(x - l2[i]!) < 1e-5, `step ${i + 1} loss ${l2[i]} matches one process's ${x}`));
    });
  }

  await t.test('a non-finite loss on one rank: every rank skips the step, weights untouched', async (t) => {
    const regDir = join(root, 'regression');
    const reg = await createModel(tinyConfig('bert'), { task: 'regression', seed: 5 });
    await reg.save(regDir);
    reg.dispose();
    const outDir = join(root, 'nan');
    const spec = join(root, 'nan.json');
    writeFileSync(spec, JSON.stringify({ modelDir: regDir, outDir, method: { name: 'vanilla' }, steps: 1, globalBatch: 8, seqLen: 12, width: 32, timeoutMs: 60_000, draws: false, task: 'regression', nanRank: 1 }));
    const results = await startRanks(worker, [spec], 2, await freePort()).done;
    results.forEach((r, i) => t.equal(r.code, 0, `rank ${i} exits 0`, { stderr: r.stderr.slice(-2000) }));
    for (const r of [0, 1]) {
      const rec = JSON.parse(readFileSync(join(outDir, `rank${r}`, 'losses.json'), 'utf8')) as { skipped: boolean[] };
      t.same(rec.skipped, [true], `rank ${r} skipped the step`);
      t.equal(worstDiff(readParams(join(regDir, 'model.safetensors')), readParams(join(outDir, `rank${r}`, 'model.safetensors'))).worst, 0, `rank ${r}'s weights are untouched`);
    }
  });
}
