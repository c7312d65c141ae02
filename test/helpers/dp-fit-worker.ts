/**
 * One rank of a data-parallel fit() (test/native/distributed-faults.test.ts): a BatchLoader the trainer
 * shards, dropout on, a checkpoint every 2 steps into a shared folder. argv[2]: a JSON spec.
 * KILL_AT (a step) with KILL_RANK kills that rank with SIGKILL after the step; HANG_AT makes it hang there.
 * Errors go to stderr as `ERROR <code> <message>`, exit 1.
 */
import { readFileSync } from 'node:fs';
import { distributed } from '../../lib/distributed/group.js';
import { BatchLoader, collateTexts, type EncodedText } from '../../lib/data/batching.js';
import { loadModel } from '../../lib/model/model.js';
import { Trainer } from '../../lib/train/trainer.js';
import { rng } from './models.js';

interface Spec {
  modelDir: string;
  outDir: string;
  method: Record<string, unknown>;
  maxSteps: number;
  timeoutMs: number;
  resumeFrom?: string;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
const killAt = Number(process.env.KILL_AT ?? 0);
const hangAt = Number(process.env.HANG_AT ?? 0);
const victim = Number(process.env.KILL_RANK ?? -1);

const r = rng(5);
const items: EncodedText[] = Array.from({ length: 40 }, (_, i) => {
  const n = 4 + Math.floor(r() * 8);
  const ids = [2, ...Array.from({ length: n - 2 }, () => 3 + Math.floor(r() * 50)), 1];
  return { ids, typeIds: ids.map(() => 0), label: i % 2, length: n };
});
// Per-rank batch 4: the trainer shards this loader (a global batch of 4 x worldSize).
const loader = new BatchLoader(items, (xs) => collateTexts(xs, { padId: 0 }), { batchSize: 4, seed: 11, bucket: 2 });

try {
  const model = await loadModel(spec.modelDir, { task: 'sequence-classification' });
  const trainer = new Trainer({
    model,
    distributed: { timeoutMs: spec.timeoutMs },
    method: spec.method as never,
    optimizer: { name: 'adamw', lr: 5e-3 },
    scheduler: { name: 'linear', warmupSteps: 2 },
    maxGradNorm: 1,
    seed: 3,
    callbacks: [
      {
        onStepEnd(state) {
          if (distributed.rank !== victim) return;
          if (state.globalStep === killAt) process.kill(process.pid, 'SIGKILL');
          if (state.globalStep === hangAt) for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
        },
      },
    ],
  });
  await trainer.fit(loader, { maxSteps: spec.maxSteps, saveEvery: 2, logEvery: 1, outputDir: spec.outDir, ...(spec.resumeFrom ? { resumeFrom: spec.resumeFrom } : { overwriteOutputDir: true }) });
  process.stdout.write(`DONE rank ${distributed.rank}\n`);
} catch (err) {
  process.stderr.write(`ERROR ${(err as { code?: string }).code} ${(err as Error).message}\n`);
  process.exitCode = 1;
}
