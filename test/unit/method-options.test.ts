// Option validation and task-dependent defaults of the training methods (lib/train/methods.ts).
import t from 'tap';
import { ALUM_PRETRAIN_ALPHA, METHOD_DEFAULTS, presets, resolveMethod } from '../../lib/train/methods.js';
import { methodFromArgs } from '../../lib/cli/method-flags.js';

t.test("alum's alpha: the paper's 1 for fine-tuning, 10 for masked-LM pre-training, unless given", async (t) => {
  t.equal(resolveMethod({ name: 'alum' }).alpha, 1);
  t.equal(resolveMethod({ name: 'alum' }, 'method', { task: 'sequence-classification' }).alpha, METHOD_DEFAULTS.alum.alpha);
  t.equal(resolveMethod({ name: 'alum' }, 'method', { task: 'masked-lm' }).alpha, ALUM_PRETRAIN_ALPHA);
  t.equal(ALUM_PRETRAIN_ALPHA, 10);
  t.equal(resolveMethod({ name: 'alum', alpha: 3 }, 'method', { task: 'masked-lm' }).alpha, 3);
  t.equal(resolveMethod({ name: 'alum' }).perturbLayer, 0);
  t.throws(() => resolveMethod({ name: 'alum', perturbLayer: -1 }), { code: 'ERR_INVALID_ARG', message: /method\.perturbLayer/ });
});

t.test("smart: mt-dnn's stable_kl attack by default; the normalisations; the Bregman schedule", async (t) => {
  const s = resolveMethod({ name: 'smart' });
  t.equal(s.attackLoss, 'stable-kl');
  t.equal(resolveMethod({ name: 'smart', attackLoss: 'symmetric-kl' }).attackLoss, 'symmetric-kl');
  t.throws(() => resolveMethod({ name: 'smart', attackLoss: 'kl' }), { code: 'ERR_INVALID_ARG', message: /method\.attackLoss/ });
  for (const normalize of ['inf-token', 'l2-token', 'inf-example', 'l2-example', 'l1']) t.equal(resolveMethod({ name: 'smart', normalize }).normalize, normalize);
  t.same(resolveMethod({ name: 'smart', bregman: { mu: 1 } }).bregman, { mu: 1, beta: 0.99, betaLate: 0.99, switchStep: 0 });
  t.same(resolveMethod({ name: 'smart', bregman: { betaLate: 0.999, switchStep: 100 } }).bregman, { mu: 1, beta: 0.99, betaLate: 0.999, switchStep: 100 });
  t.throws(() => resolveMethod({ name: 'smart', bregman: { betaLate: 0.999 } }), { code: 'ERR_INVALID_ARG', message: /bregman\.switchStep/ });
  t.same(methodFromArgs({ method: 'smart', 'bregman-mu': '1', 'bregman-beta-late': '0.999', 'bregman-switch-step': '10' } as never), {
    name: 'smart',
    bregman: { mu: 1, betaLate: 0.999, switchStep: 10 },
  });
});

t.test("rpt's noise type: fairseq's uniform by default", async (t) => {
  t.equal(resolveMethod({ name: 'rpt' }).noiseType, 'uniform');
  t.equal(resolveMethod({ name: 'rpt', noiseType: 'normal' }).noiseType, 'normal');
  t.throws(() => resolveMethod({ name: 'rpt', noiseType: 'gaussian' }), { code: 'ERR_INVALID_ARG', message: /method\.noiseType/ });
  t.same(methodFromArgs({ method: 'rpt', 'noise-type': 'normal' } as never), { name: 'rpt', noiseType: 'normal' });
});

t.test("rpt's spectralNorm (R4F): off by default, a boolean, only for sequence classification and regression", async (t) => {
  t.equal(resolveMethod({ name: 'rpt' }).spectralNorm, false);
  t.equal(resolveMethod({ name: 'rpt', spectralNorm: true }, 'method', { task: 'regression' }).spectralNorm, true);
  t.throws(() => resolveMethod({ name: 'rpt', spectralNorm: 1 }), { code: 'ERR_INVALID_ARG', message: /a boolean for method\.spectralNorm but received 1/ });
  for (const task of ['token-classification', 'multiple-choice', 'question-answering', 'masked-lm']) {
    t.throws(() => resolveMethod({ name: 'rpt', spectralNorm: true }, 'method', { task }), { code: 'ERR_INVALID_ARG', message: new RegExp(`false with a '${task}' model .* for method\\.spectralNorm`) });
  }
  t.same(methodFromArgs({ method: 'rpt', 'spectral-norm': 'true' } as never), { name: 'rpt', spectralNorm: true });
});

t.test('creatMinus with tau 0 is refused: the CreAT- attack would have no objective', async (t) => {
  t.throws(() => resolveMethod({ name: 'creat', creatMinus: true, tau: 0 }), { code: 'ERR_INVALID_ARG', message: /creatMinus.*method\.tau/ });
  t.equal(resolveMethod({ name: 'creat', tau: 0 }).tau, 0, 'tau 0 without creatMinus is AT');
});

t.test("sift: DeBERTa's run.py options, the published lambda, refused for regression; presets", async (t) => {
  t.same(resolveMethod({ name: 'sift' }), { name: 'sift', lambda: 5, stepSize: 1e-4, initPerturbation: 1e-2, attackLoss: 'symmetric-kl' });
  for (const attackLoss of ['symmetric-kl', 'kl', 'mse']) t.equal(resolveMethod({ name: 'sift', attackLoss }).attackLoss, attackLoss);
  t.throws(() => resolveMethod({ name: 'sift', attackLoss: 'stable-kl' }), { code: 'ERR_INVALID_ARG', message: /method\.attackLoss/ });
  t.throws(() => resolveMethod({ name: 'sift', stepSize: 0 }), { code: 'ERR_INVALID_ARG', message: /method\.stepSize/ });
  t.throws(() => resolveMethod({ name: 'sift', lambda: -1 }), { code: 'ERR_INVALID_ARG', message: /method\.lambda/ });
  t.throws(() => resolveMethod({ name: 'sift', epsilon: 0.1 }), { code: 'ERR_INVALID_ARG', message: /epsilon/ });
  t.throws(() => resolveMethod({ name: 'sift' }, 'method', { task: 'regression' }), { code: 'ERR_INVALID_ARG', message: /'regression' model.*method\.name/ });
  t.equal(resolveMethod({ name: 'sift' }, 'method', { task: 'token-classification' }).name, 'sift');
  t.same(resolveMethod(presets.sift.glue), resolveMethod({ name: 'sift' }));
  t.equal(resolveMethod(presets.sift.glueXsmall).lambda, 3);
  t.same(methodFromArgs({ preset: 'sift.glue', lambda: '2', 'init-perturbation': '0.05', 'attack-loss': 'mse' } as never), {
    ...presets.sift.glue,
    lambda: 2,
    initPerturbation: 0.05,
    attackLoss: 'mse',
  });
});

t.test('infobert: the ANLI recipe by default; anchor quantiles ordered; presets and flags', async (t) => {
  const r = resolveMethod({ name: 'infobert' });
  t.same(r, { name: 'infobert', steps: 3, stepSize: 4e-2, epsilon: 0, initMag: 8e-2, norm: 'l2', beta: 5e-3, alpha: 5e-3, anchorLow: 0.5, anchorHigh: 0.9, anchorBatch: 32, anchorSeed: 42 });
  t.same(resolveMethod(presets.infobert.anli), r, 'presets.infobert.anli is the recipe');
  t.throws(() => resolveMethod({ name: 'infobert', anchorLow: 0.8, anchorHigh: 0.5 }), { code: 'ERR_INVALID_ARG', message: /at least anchorLow \(0\.8\) for method\.anchorHigh/ });
  t.throws(() => resolveMethod({ name: 'infobert', anchorHigh: 1.5 }), { code: 'ERR_INVALID_ARG', message: /method\.anchorHigh/ });
  t.throws(() => resolveMethod({ name: 'infobert', anchorBatch: 0 }), { code: 'ERR_INVALID_ARG', message: /method\.anchorBatch/ });
  t.throws(() => resolveMethod({ name: 'infobert', anchorSeed: -1 }), { code: 'ERR_INVALID_ARG', message: /method\.anchorSeed/ });
  t.throws(() => resolveMethod({ name: 'infobert', beta: -1 }), { code: 'ERR_INVALID_ARG', message: /method\.beta/ });
  t.throws(() => resolveMethod({ name: 'infobert', cl: 0.5 }), { code: 'ERR_INVALID_ARG', message: /cl/ });
  t.same(methodFromArgs({ preset: 'infobert.anli', beta: '0.01', 'anchor-low': '0.3', 'anchor-high': '0.6', 'anchor-batch': '16', 'anchor-seed': '1', alpha: '0' } as never), {
    ...presets.infobert.anli,
    beta: 0.01,
    alpha: 0,
    anchorLow: 0.3,
    anchorHigh: 0.6,
    anchorBatch: 16,
    anchorSeed: 1,
  });
});
