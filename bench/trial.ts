/**
 * One bench trial in its own process: a randomly initialised classifier of a named size and family
 * (BERT, or DeBERTa-v3- or ALBERT-style shapes of the same size: lib/model/families.ts), a fixed
 * padded batch of random tokens (row lengths from seq/2 to seq, `padLengths`, the same rows as the Python
 * loops'), random starts where the method has them, `warmup` steps, then `steps` timed optimizer steps of
 * one method. With ADVTRAIN_PROFILE_DIR set (libtorch >= 2) every step writes a Kineto trace there
 * (bench/profile.ts).
 * Prints one JSON line: { impl, method, model, family, batch, seq, precision, device, msPerStep (median),
 * examplesPerSec, tokensPerSec, peakMemMB, mfu, passes }. Run through bench/run.ts.
 * Under a launcher (run.ts --nproc N) each rank steps its own batch of `batch` rows, gradients averaged
 * over the ranks; rank 0 prints the line, with `processes` and the examples of all ranks per second.
 */
import { parseArgs } from 'node:util';
import { native } from '../lib/binding.js';
import { info } from '../lib/info.js';
import { MODEL_SIZES, type ModelSize } from '../lib/model/config.js';
import { createModel, sizedConfig } from '../lib/model/model.js';
import type { MethodConfig, MethodName } from '../lib/train/methods.js';
import { Trainer } from '../lib/train/trainer.js';
import { distributed } from '../lib/distributed/group.js';
import { paddedBatch } from './batch-shape.js';
import { FAMILY_NAMES, FAMILY_SETTINGS, type FamilyName } from '../lib/model/families.js';

const { values } = parseArgs({
  options: {
    method: { type: 'string', default: 'vanilla' },
    model: { type: 'string', default: 'mini' },
    family: { type: 'string', default: 'bert' },
    batch: { type: 'string', default: '32' },
    seq: { type: 'string', default: '64' },
    device: { type: 'string', default: 'cpu' },
    precision: { type: 'string', default: 'fp32' },
    warmup: { type: 'string', default: '3' },
    steps: { type: 'string', default: '10' },
    // 'false' runs every token through every layer, as the Python loops do (Trainer's skipPadding).
    'skip-padding': { type: 'string', default: 'true' },
    // 'false': FreeAT keeps no copy of the weights and optimizer state per step (Trainer's atomicSteps).
    'atomic-steps': { type: 'string', default: 'true' },
  },
});

// The settings of the Python reference loops (bench/peers/loops.py), so both sides do the same passes.
const METHOD: Record<string, MethodConfig> = {
  vanilla: { name: 'vanilla' },
  freelb: { name: 'freelb', steps: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0.1 },
  pgd: { name: 'pgd', steps: 2, stepSize: 0.1, epsilon: 0.1, initMag: 0.1, cleanWeight: 0.5 },
  creat: { name: 'creat', steps: 1, stepSize: 0.1, epsilon: 0.1, initMag: 0.1 },
  smart: { name: 'smart', steps: 1 },
  rpt: { name: 'rpt' },
  alum: { name: 'alum', steps: 1 },
  textat: { name: 'textat', steps: 3, stepSize: 0.1, epsilon: 0.6, initMag: 0.1 },
};
// Vanilla-step equivalents per update, for MFU and the "vs passes x vanilla" column. Counted in GEMM work
// with a forward as 1, a backward that only needs the input's gradient (an attack's, wrt delta) as 1 and a
// full backward (input and weight gradients) as 2, so a vanilla step is 3. FreeLB-3: 3 x (1 + 2) = 9.
// PGD-2 + clean: 2 attacks x (1 + 1), the clean and the adversarial forward, and the final backward runs
// through both graphs: 4 + 2 + 4 = 10. CreAT (one ascent, loss on clean and adversarial) and SMART-1 / ALUM
// (clean, attack, adversarial forward; the regulariser's gradient reaches both graphs): 1 + 2 + 1 + 4 = 8.
// R3F: two forwards, gradients through both: 6. SiFT as SMART (clean, attack, perturbed forward; the final
// backward through the clean and the perturbed graph): 8. TextAT as FreeLB; FreeAT 2 replays.
// InfoBERT-3: per pass a forward, a delta-only backward (the anchors) and one full backward of task + bounds: 12.
// YOPO-2-3: 2 full passes (6) and 3 inner steps, each the first layer's forward and delta-only backward
// (2 / layers): 6 + 6 / layers (7.5 at mini's 4 layers, so 2.5 vanilla steps).
const PASSES: Record<string, number> = { vanilla: 1, freelb: 3, pgd: 10 / 3, creat: 8 / 3, smart: 8 / 3, rpt: 2, alum: 8 / 3, sift: 8 / 3, textat: 3, freeat: 2, infobert: 4 };

const size = values.model as ModelSize;
PASSES.yopo = (6 + 6 / MODEL_SIZES[size].num_hidden_layers) / 3;
const batch = Number(values.batch);
const seq = Number(values.seq);
// Under a launcher each rank takes the GPU of its LOCAL_RANK.
const device = distributed.deviceFor(values.device!);
const family = values.family as FamilyName;
if (!FAMILY_NAMES.includes(family)) throw new Error(`--family must be one of ${FAMILY_NAMES.join(', ')}, got ${family}`);
const model = await createModel(sizedConfig(size, 30522, { max_position_embeddings: Math.max(512, seq), ...FAMILY_SETTINGS[family] }), { task: 'sequence-classification', numLabels: 2, device, seed: 0 });
const method = METHOD[values.method!] ?? ({ name: values.method as MethodName } as MethodConfig);
await distributed.init();
const world = distributed.worldSize;
const skipPadding = values['skip-padding'] !== 'false';
const atomicSteps = values['atomic-steps'] !== 'false';
const trainer = new Trainer({ model, method, optimizer: { name: 'adamw', lr: 1e-5 }, precision: values.precision as 'fp32' | 'bf16', seed: 0, distributed: 'auto', skipPadding, atomicSteps });
const { lengths, batch: data } = paddedBatch(batch, seq, 12345 + distributed.rank);
for (let i = 0; i < Number(values.warmup); i++) await trainer.step(data);
native().memory(device, true);
const ms: number[] = [];
for (let i = 0; i < Number(values.steps); i++) ms.push((await trainer.step(data)).ms);
const inOrder = [...ms];
ms.sort((a, b) => a - b);
const msPerStep = ms[Math.floor(ms.length / 2)]!;
const examples = batch * world;
// Training FLOPs: 6 x (non-embedding params) per token per forward+backward, plus attention scores.
const cfg = MODEL_SIZES[size];
const params = cfg.num_hidden_layers * (4 * cfg.hidden_size ** 2 + 2 * cfg.hidden_size * cfg.intermediate_size);
// The FLOPs run: with skipPadding the token-wise layers see the real tokens only; attention stays padded.
const denseTokens = skipPadding ? lengths.reduce((a, b) => a + b, 0) : batch * seq;
const flopsPerPass = 6 * denseTokens * params + 12 * batch * cfg.num_hidden_layers * seq * seq * cfg.hidden_size;
const flops = flopsPerPass * world * (PASSES[method.name] ?? 1);
// Each process measures its own share of the CPU (or has its own GPU): the peak of all of them.
const peak = world * (device === 'cpu' ? (await native().matmulBench(1024, 5, 'cpu')).gflops * 1e9 : values.precision === 'bf16' ? 790e12 : 400e12);
const peakMemMB = device === 'cpu' ? process.resourceUsage().maxRSS / 1024 : native().memory(device).peakMB;
if (distributed.isMain) console.log(
  JSON.stringify({
    impl: 'advtrain',
    method: method.name,
    model: size,
    family,
    batch,
    seq,
    precision: values.precision,
    device,
    msPerStep: +msPerStep.toFixed(2),
    // Every timed step in order (the spread a median hides).
    stepMs: inOrder.map((x) => Math.round(x)),
    examplesPerSec: +((examples * 1000) / msPerStep).toFixed(1),
    tokensPerSec: Math.round((world * lengths.reduce((a, b) => a + b, 0) * 1000) / msPerStep),
    peakMemMB: Math.round(peakMemMB),
    mfu: +(flops / (msPerStep / 1000) / peak).toFixed(4),
    passes: +(PASSES[method.name] ?? 1).toFixed(3),
    skipPadding,
    ...(atomicSteps ? {} : { atomicSteps }),
    ...(world > 1 ? { processes: world } : {}),
    // What the figure ran on: libtorch, the BLAS it was built for, intra-op threads (per process).
    torch: native().info().torchVersion,
    blas: info().blas,
    threads: native().info().numThreads,
  }),
);
trainer.dispose();
model.dispose();
