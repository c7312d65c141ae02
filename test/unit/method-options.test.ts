// Option validation and task-dependent defaults of the training methods (lib/train/methods.ts).
import t from 'tap';
import { ALUM_PRETRAIN_ALPHA, METHOD_DEFAULTS, resolveMethod } from '../../lib/train/methods.js';
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
