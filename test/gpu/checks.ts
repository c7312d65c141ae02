/**
 * The GPU checks as plain async functions: the tap tier (test/gpu/*.test.ts) runs them where CUDA is
 * present, and `node dist/bench/gpu-checks.js` runs them on the GPU machine, which has no dev
 * dependencies (tap). Each check throws with a message on failure and returns a one-line detail.
 */
import { basename, join } from 'node:path';
import { native } from '../../lib/binding.js';
import { info } from '../../lib/info.js';
import { loadModel } from '../../lib/model/model.js';
import { METHOD_NAMES, type MethodConfig } from '../../lib/train/methods.js';
import { Trainer } from '../../lib/train/trainer.js';
import { Fixture, fixtureBatch, fixtureFolders } from '../helpers/fixtures.js';

export interface GpuCheck {
  name: string;
  run(): Promise<string>;
}

function assert(ok: boolean, message: string): void {
  if (!ok) throw new Error(message);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export const gpuChecks: GpuCheck[] = [
  {
    name: 'info() reports the CUDA devices',
    async run() {
      const i = info();
      assert(i.cuda && i.cudaDeviceCount >= 1, `no CUDA device: ${JSON.stringify(i)}`);
      return `${i.devices.map((d) => `${d.name} sm_${d.computeCapability}`).join(', ')}, libtorch ${i.torchVersion}`;
    },
  },
  {
    name: 'CUDA matmul',
    async run() {
      const r = await native().matmulBench(4096, 10, 'cuda');
      assert(r.gflops > 1000, `${r.gflops} GFLOP/s`);
      return `${Math.round(r.gflops)} GFLOP/s fp32`;
    },
  },
  {
    name: 'parity fixtures on CUDA: fp32 within 1e-3, bf16 within 5e-2',
    async run() {
      const worst: string[] = [];
      for (const dir of fixtureFolders('parity')) {
        const fx = new Fixture(join(dir, 'expected.safetensors'));
        for (const [precision, tol] of [['fp32', 1e-3], ['bf16', 5e-2]] as const) {
          const model = await loadModel(dir, { device: 'cuda' });
          const out = await model.forward(fixtureBatch(fx, model.task), { precision, outputHiddenStates: true });
          const errs = [maxDiff(out.lastHiddenState, fx.f64('last_hidden_state')), fx.has('logits') ? maxDiff(out.logits, fx.f64('logits')) : 0];
          out.hiddenStates!.forEach((h, i) => errs.push(maxDiff(h, fx.f64(`hidden_states.${i}`))));
          const e = Math.max(...errs);
          assert(e <= tol, `${basename(dir)} ${precision}: max abs error ${e}`);
          worst.push(`${basename(dir)}/${precision} ${e.toExponential(1)}`);
          model.dispose();
        }
      }
      return worst.join('; ');
    },
  },
  {
    name: 'every method trains on CUDA in bf16 without NaN',
    async run() {
      const dir = join(fixtureFolders('parity').find((d) => d.endsWith('bert-sequence-classification'))!);
      const parts: string[] = [];
      for (const name of METHOD_NAMES) {
        const model = await loadModel(dir, { device: 'cuda' });
        const trainer = new Trainer({ model, method: { name } as MethodConfig, optimizer: { name: 'adamw', lr: 1e-3 }, precision: 'bf16' });
        const batch = fixtureBatch(new Fixture(join(dir, 'expected.safetensors')), model.task);
        let last = 0;
        for (let i = 0; i < 5; i++) {
          const r = await trainer.step(batch);
          assert(!r.skipped && Number.isFinite(r.loss), `${name}: step ${i} loss ${r.loss}`);
          last = r.loss;
        }
        parts.push(`${name} ${last.toFixed(3)}`);
        trainer.dispose();
        model.dispose();
      }
      return parts.join(', ');
    },
  },
];

/** Runs the checks, printing one line each; resolves to the number of failures. */
export async function runGpuChecks(filter?: (c: GpuCheck) => boolean): Promise<number> {
  let failed = 0;
  for (const c of gpuChecks.filter(filter ?? (() => true))) {
    try {
      console.log(`ok   ${c.name}: ${await c.run()}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${c.name}: ${(err as Error).message}`);
    }
  }
  return failed;
}
