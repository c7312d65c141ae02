// ADVTRAIN_PROFILE_DIR (native/train/step_profiler.cc): each Trainer step writes a Kineto trace of its CPU
// operators, the format bench/profile.ts reads beside torch.profiler's; libtorch 1.x refuses with the reason.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { selfTimes } from '../../bench/profile.js';
import { info } from '../../lib/info.js';
import { createModel } from '../../lib/model/model.js';
import { Trainer } from '../../lib/train/trainer.js';
import { randomBatch, tinyConfig } from '../helpers/models.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();
const batch = randomBatch({ task: 'sequence-classification', lengths: [9, 6, 4, 8], seqLen: 9, seed: 3 });

t.test('a profiled step writes a trace of its operators (libtorch >= 2) or is refused (1.x)', { skip }, async (t) => {
  const dir = t.testdir();
  const model = await createModel(tinyConfig('bert', { hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 }), { task: 'sequence-classification', numLabels: 3, seed: 5 });
  const trainer = new Trainer({ model, method: { name: 'freelb', steps: 2 }, optimizer: { name: 'adamw', lr: 1e-4 }, seed: 1 });
  t.teardown(() => {
    trainer.dispose();
    model.dispose();
  });
  await trainer.step(batch);
  t.notOk(existsSync(join(dir, 'advtrain-step-1.json')), 'nothing is written without the variable');
  process.env.ADVTRAIN_PROFILE_DIR = dir;
  try {
    if (Number.parseInt(info().torchVersion, 10) < 2) {
      await t.rejects(trainer.step(batch), { code: 'ERR_INVALID_ARG', message: /ADVTRAIN_PROFILE_DIR needs an addon built on libtorch >= 2/ });
      return;
    }
    await trainer.step(batch);
  } finally {
    delete process.env.ADVTRAIN_PROFILE_DIR;
  }
  const file = join(dir, 'advtrain-step-2.json');
  t.ok(existsSync(file), 'the second step wrote advtrain-step-2.json');
  const { ops, opMs, spanMs } = selfTimes(JSON.parse(readFileSync(file, 'utf8')));
  t.ok(ops.has('aten::addmm') || ops.has('aten::mm'), 'the encoder GEMMs are in it');
  t.ok(ops.has('advtrain::dropout_mask'), 'the dropout masks are named');
  t.ok([...ops.keys()].some((op) => /Backward/.test(op)), 'the backward passes are in it (same thread)');
  t.ok(opMs > 0 && opMs <= spanMs * 1.001, `self times sum (${opMs} ms) within the step's span (${spanMs} ms)`);
});
