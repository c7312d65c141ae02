// The Trainer's skipPadding option: a boolean, on unless set false, refused by name otherwise.
import t from 'tap';
import { resolveConfig } from '../../lib/train/config.js';

t.test("the Trainer's skipPadding: default true, a boolean", async (t) => {
  const base = { optimizer: { name: 'adamw' as const, lr: 1e-5 } };
  t.equal(resolveConfig(base).skipPadding, true);
  t.equal(resolveConfig({ ...base, skipPadding: false }).skipPadding, false);
  t.throws(() => resolveConfig({ ...base, skipPadding: 'no' as never }), { code: 'ERR_INVALID_ARG', message: /skipPadding/ });
  t.throws(() => resolveConfig({ ...base, skipPadding: 0 as never }), { code: 'ERR_INVALID_ARG', message: /skipPadding/ });
});
