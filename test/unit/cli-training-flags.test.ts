import t from 'tap';
import { trainingConfigFromArgs } from '../../lib/cli/training-run.js';
import { resolveConfig } from '../../lib/train/config.js';

t.test('train flags: --keep-padding and --no-step-copy reach the Trainer config, defaults otherwise', async (t) => {
  const freeat = { name: 'freeat' } as const;
  const plain = resolveConfig(trainingConfigFromArgs({}, freeat, 2e-5));
  t.equal(plain.skipPadding, true);
  t.equal(plain.atomicSteps, true);
  const flagged = resolveConfig(trainingConfigFromArgs({ 'keep-padding': true, 'no-step-copy': true }, freeat, 2e-5));
  t.equal(flagged.skipPadding, false);
  t.equal(flagged.atomicSteps, false);
  t.throws(() => resolveConfig({ optimizer: { name: 'sgd', lr: 1 }, atomicSteps: 1 as unknown as boolean }), { code: 'ERR_INVALID_ARG', message: /atomicSteps/ });
});
