// Parity with transformers: fixtures are transformers' own float64 outputs (test/fixtures/make_model_fixtures.py,
// meta.json names the transformers and torch versions; CI regenerates them and checks git diff). advtrain runs
// the same float32 weights on the CPU in float32: every output within 1e-5 of transformers' float64.
import { basename, join } from 'node:path';
import t from 'tap';
import { loadModel } from '../../lib/model/model.js';
import { Fixture, fixtureBatch, fixtureFolders, readJson } from '../helpers/fixtures.js';
import { nativeSkipReason } from '../helpers/native.js';
import { maxDiff } from '../helpers/params.js';

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
    const batch = fixtureBatch(fx, model.task);
    const out = await model.forward(batch, { outputHiddenStates: true, outputAttentions: true });
    const report: Record<string, number> = {};
    report.last_hidden_state = maxDiff(out.lastHiddenState, fx.f64('last_hidden_state'));
    out.hiddenStates!.forEach((h, i) => (report[`hidden_states.${i}`] = maxDiff(h, fx.f64(`hidden_states.${i}`))));
    out.attentions!.forEach((a, i) => (report[`attentions.${i}`] = maxDiff(a, fx.f64(`attentions.${i}`))));
    t.equal(out.hiddenStates!.length, fx.names().filter((n) => n.startsWith('hidden_states.')).length, 'as many hidden states as transformers');
    if (fx.has('logits')) {
      t.same(out.logitsShape, fx.shape('logits'));
      report.logits = maxDiff(out.logits, fx.f64('logits'));
    }
    if (fx.has('pooler_output')) report.pooler_output = maxDiff(out.logits, fx.f64('pooler_output'));
    else if (!fx.has('logits')) t.equal(out.logits.length, 0, 'no pooler, as transformers (ElectraModel)');
    if (fx.has('loss')) report.loss = Math.abs(out.loss! - fx.f64('loss')[0]!);
    for (const [k, v] of Object.entries(report)) t.ok(v < TOL, `${k}: max abs error ${v.toExponential(2)}`);
    const worst = (re: RegExp) => {
      const v = Object.entries(report).filter(([k]) => re.test(k)).map(([, v]) => v);
      return v.length ? Math.max(...v).toExponential(2) : '-';
    };
    const groups = { hidden: /hidden/, attentions: /^attentions/, logits: /^(logits|pooler_output)$/, loss: /^loss$/ };
    t.comment(`worst ${name}: ${Object.entries(groups).map(([g, re]) => `${g} ${worst(re)}`).join(', ')}`);
    model.dispose();
  });
}
