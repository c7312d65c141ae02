/**
 * bench/memory-soak: memory over long runs. Trains every method for `--steps` steps on the `tiny` model
 * with a fresh random batch each step (random lengths and padding), runs `--forwards` forward calls and
 * `--cycles` model load/dispose cycles, and prints one JSON line per run: malloc's bytes in use (where
 * libtorch's CPU tensors live; on CUDA the caching allocator's current bytes) and RSS, sampled after the
 * first 10% (warm-up) and at every tenth of the rest, with their growth and least-squares slope per 1,000
 * iterations (V8 collects first, since typed arrays live in malloc's memory too). A leak shows as a
 * slope; a flat run has growth within a few allocator pages.
 *
 * `node dist/bench/memory-soak.js [--steps 2000] [--forwards 10000] [--cycles 500] [--methods all] [--device cpu]`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { native } from '../lib/binding.js';
import type { LabeledBatch } from '../lib/model/batch.js';
import { createModel, loadModel, sizedConfig } from '../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig, type MethodName } from '../lib/train/methods.js';
import { Trainer } from '../lib/train/trainer.js';

export interface SoakFigures {
  bench: 'memory-soak';
  run: string;
  iterations: number;
  seconds: number;
  /** Bytes in use after warm-up and at the end (MB): malloc's on CPU, the CUDA allocator's on CUDA. */
  inUseStartMB: number;
  inUseEndMB: number;
  inUseGrowthMB: number;
  inUseSlopeMBPer1000: number;
  rssStartMB: number;
  rssEndMB: number;
  rssGrowthMB: number;
  rssSlopeMBPer1000: number;
}

const VOCAB = 60;

// Batches and outputs are typed arrays whose backing stores malloc holds until V8 collects them: collect
// before each sample so that only native memory is measured. V8 frees backing stores on a background
// thread after a collection; the second full collection waits for that to finish.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const collect = () => {
  gc();
  gc();
};

/** A seeded batch of 8 rows with random lengths (padding) and labels. */
function batchOf(seed: number, seqLen = 16): LabeledBatch {
  let s = seed >>> 0 || 1;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const rows = 8;
  const inputIds = new Int32Array(rows * seqLen);
  const attentionMask = new Int32Array(rows * seqLen);
  for (let i = 0; i < rows; i++) {
    const len = 2 + Math.floor(r() * (seqLen - 1));
    for (let j = 0; j < len; j++) {
      inputIds[i * seqLen + j] = 3 + Math.floor(r() * (VOCAB - 3));
      attentionMask[i * seqLen + j] = 1;
    }
  }
  const labels = Int32Array.from({ length: rows }, () => Math.floor(r() * 2));
  return { inputIds, attentionMask, tokenTypeIds: new Int32Array(rows * seqLen), batchSize: rows, seqLen, labels };
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

/** malloc's bytes in use after V8 collects (MB). */
export function heapInUseMB(): number {
  collect();
  return native().memory('cpu').heapMB;
}

/** Runs `iterations` calls of `body`, sampling memory after warm-up; returns the figures. */
async function measure(run: string, iterations: number, device: string, body: (i: number) => Promise<void>): Promise<SoakFigures> {
  const inUse = () => (device === 'cpu' ? native().memory(device).heapMB : native().memory(device).allocatedMB);
  const rss = () => process.memoryUsage().rss / 2 ** 20;
  const warm = Math.max(1, Math.floor(iterations / 10));
  const every = Math.max(1, Math.floor((iterations - warm) / 10));
  const at: number[] = [];
  const used: number[] = [];
  const resident: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    await body(i);
    if (i + 1 >= warm && ((i + 1 - warm) % every === 0 || i + 1 === iterations)) {
      collect();
      at.push(i + 1);
      used.push(inUse());
      resident.push(rss());
    }
  }
  const r3 = (x: number) => +x.toFixed(3);
  return {
    bench: 'memory-soak',
    run,
    iterations,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    inUseStartMB: r3(used[0]!),
    inUseEndMB: r3(used.at(-1)!),
    inUseGrowthMB: r3(used.at(-1)! - used[0]!),
    inUseSlopeMBPer1000: r3(slope(at, used) * 1000),
    rssStartMB: r3(resident[0]!),
    rssEndMB: r3(resident.at(-1)!),
    rssGrowthMB: r3(resident.at(-1)! - resident[0]!),
    rssSlopeMBPer1000: r3(slope(at, resident) * 1000),
  };
}

const config = () => sizedConfig('tiny', VOCAB, { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 });

/** `steps` training steps of `method`, a fresh batch each step. */
export async function soakTraining(method: MethodName, steps: number, device = 'cpu'): Promise<SoakFigures> {
  const model = await createModel(config(), { task: 'sequence-classification', numLabels: 2, seed: 1, device });
  const trainer = new Trainer({ model, method: { name: method } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-4 }, seed: 1 });
  try {
    return await measure(`train:${method}`, steps, device, async (i) => {
      await trainer.step(batchOf(i + 1));
    });
  } finally {
    trainer.dispose();
    model.dispose();
  }
}

/** `calls` forward passes (eval mode), a fresh batch each call. */
export async function soakForward(calls: number, device = 'cpu'): Promise<SoakFigures> {
  const model = await createModel(config(), { task: 'sequence-classification', numLabels: 2, seed: 1, device });
  try {
    return await measure('forward', calls, device, async (i) => {
      await model.forward(batchOf(i + 1));
    });
  } finally {
    model.dispose();
  }
}

/** `cycles` loads of a saved model folder, each disposed. */
export async function soakLoad(cycles: number, device = 'cpu'): Promise<SoakFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'advtrain-soak-'));
  try {
    const model = await createModel(config(), { task: 'sequence-classification', numLabels: 2, seed: 1 });
    await model.save(dir);
    model.dispose();
    return await measure('load-dispose', cycles, device, async () => {
      const m = await loadModel(dir, { device });
      m.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '2000' },
      forwards: { type: 'string', default: '10000' },
      cycles: { type: 'string', default: '500' },
      methods: { type: 'string', default: 'all' },
      device: { type: 'string', default: 'cpu' },
    },
  });
  const methods = values.methods === 'all' ? METHOD_NAMES : (values.methods!.split(',') as MethodName[]);
  for (const m of methods) console.log(JSON.stringify(await soakTraining(m, Number(values.steps), values.device)));
  console.log(JSON.stringify(await soakForward(Number(values.forwards), values.device)));
  console.log(JSON.stringify(await soakLoad(Number(values.cycles), values.device)));
}
