// Parity with transformers: fixtures are transformers' own float64 outputs (test/fixtures/make_model_fixtures.py,
// meta.json names the transformers and torch versions; CI regenerates them and checks git diff). advtrain runs
// the same float32 weights on the CPU in float32: every output within 1e-5 of transformers' float64.
import { basename, join } from 'node:path';
import t from 'tap';
import { loadModel } from '../../lib/model/model.js';
import { Fixture, fixtureBatch, fixtureFolders, outputErrors, readJson, worstByGroup } from '../helpers/fixtures.js';
import { nativeSkipReason } from '../helpers/native.js';

const skip = nativeSkipReason();
const TOL = 1e-5;

for (const dir of fixtureFolders('parity')) {
  const name = basename(dir);
  t.test(`${name} matches transformers' float64 outputs within ${TOL}`, { skip }, async (t) => {
    const meta = readJson(join(dir, 'meta.json'));
    const fx = new Fixture(join(dir, 'expected.safetensors'));
    const model = await loadModel(dir);
    t.same(model.loadReport.missingKeys, [], 'every parameter comes from the checkpoint');
    t.equal(model.task, meta.task);
    t.equal(meta.backend, 'transformers', 'the fixture was computed by transformers itself');
    const out = await model.forward(fixtureBatch(fx, model.task), { outputHiddenStates: true, outputAttentions: true });
    const report = outputErrors(out, fx);
    for (const [k, v] of Object.entries(report)) t.ok(v < TOL, `${k}: max abs error ${v.toExponential(2)}`);
    t.comment(`worst ${name}: ${worstByGroup(report)}`);
    model.dispose();
  });
}
