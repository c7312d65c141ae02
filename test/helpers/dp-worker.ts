/**
 * One rank of the data-parallel tests (test/native/distributed.test.ts), run as a child process with
 * the launch variables set (or none, for the single-process reference). argv[2]: a JSON spec.
 *
 * Every process builds the same global batches of `globalBatch` rows and the same U(-1, 1) start draws;
 * rank r of W trains on rows r, r + W, ... of each (the rows a DistributedSampler gives it) with the same
 * rows of the draws, so W ranks must end where one process on the whole batches ends. SGD, whose
 * step is proportional to the gradient (Adam would hide a wrong scale of the averaged gradient).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { distributed } from '../../lib/distributed/group.js';
import type { LabeledBatch } from '../../lib/model/batch.js';
import { loadModel } from '../../lib/model/model.js';
import { Trainer, setNextRandomDraws } from '../../lib/train/trainer.js';
import { randomBatch, rng } from './models.js';

interface Spec {
  modelDir: string;
  outDir: string;
  method: Record<string, unknown>;
  steps: number;
  globalBatch: number;
  seqLen: number;
  /** Width of the start draw (embedding or hidden size). */
  width: number;
  timeoutMs: number;
  /** Give the methods' random starts from the shared draws (false: each rank draws its own). */
  draws: boolean;
  /** 'regression' for the non-finite test (default sequence-classification). */
  task?: 'sequence-classification' | 'regression';
  /** This rank's rows of step 1 get a target whose squared error overflows (regression). */
  nanRank?: number;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
const rank = distributed.rank;
const world = distributed.worldSize;

/** Rows r, r + W, ... of a batch (every per-row field; sequence fields by row). */
function rowsOf(b: LabeledBatch, r: number, w: number): LabeledBatch {
  const rows = b.batchSize;
  const L = b.inputIds.length / rows;
  const keep = Array.from({ length: rows }, (_, i) => i).filter((i) => i % w === r);
  const seq = (a: Int32Array) => Int32Array.from(keep.flatMap((i) => Array.from(a.subarray(i * L, (i + 1) * L))));
  return {
    ...b,
    batchSize: keep.length,
    inputIds: seq(b.inputIds),
    attentionMask: seq(b.attentionMask!),
    ...(b.tokenTypeIds ? { tokenTypeIds: seq(b.tokenTypeIds) } : {}),
    labels: b.labels instanceof Float32Array ? Float32Array.from(keep.map((i) => b.labels![i]!)) : Int32Array.from(keep.map((i) => (b.labels as Int32Array)[i]!)),
  } as LabeledBatch;
}

function drawRows(data: Float32Array, rows: number, r: number, w: number): Float32Array {
  const per = data.length / rows;
  const keep = Array.from({ length: rows }, (_, i) => i).filter((i) => i % w === r);
  const out = new Float32Array(keep.length * per);
  keep.forEach((i, k) => out.set(data.subarray(i * per, (i + 1) * per), k * per));
  return out;
}

const task = spec.task ?? 'sequence-classification';
const model = await loadModel(spec.modelDir, { task });
await distributed.init({ timeoutMs: spec.timeoutMs });
const trainer = new Trainer({ model, distributed: 'auto', method: spec.method as never, optimizer: { name: 'sgd', lr: 0.3, momentum: 0.9 }, maxGradNorm: 1, seed: 7 });
const losses: number[] = [];
const skipped: boolean[] = [];
for (let s = 0; s < spec.steps; s++) {
  const lengths = Array.from({ length: spec.globalBatch }, (_, i) => 3 + ((i * 7 + s * 5) % (spec.seqLen - 3)));
  const global = randomBatch({ task, lengths, seqLen: spec.seqLen, numLabels: 2, seed: 100 + s });
  if (spec.draws) {
    const u = rng(900 + s);
    const data = Float32Array.from({ length: spec.globalBatch * spec.seqLen * spec.width }, () => 2 * u() - 1);
    const mine = drawRows(data, spec.globalBatch, rank, world);
    setNextRandomDraws(trainer, { start: { data: mine, shape: [spec.globalBatch / world, spec.seqLen, spec.width] } });
  }
  const mine = rowsOf(global, rank, world);
  // A finite target whose squared error overflows float32: this rank alone has a non-finite loss.
  if (s === 0 && spec.nanRank === rank) (mine.labels as Float32Array)[0] = 3e38;
  const r = await trainer.step(mine);
  losses.push(r.loss);
  skipped.push(r.skipped);
}
const dir = join(spec.outDir, `rank${rank}`);
mkdirSync(dir, { recursive: true });
await model.save(dir);
// Every rank writes its own state (a test hook: fit() writes rank 0's only) to compare method state.
await trainer['ensureNative']().saveState(join(dir, 'trainer_state.safetensors'));
writeFileSync(join(dir, 'losses.json'), JSON.stringify({ losses, skipped, world }));
