import t from 'tap';
import { AdvtrainError, describeValue, invalidArg } from '../../lib/errors.js';
import * as v from '../../lib/validate.js';

t.test('AdvtrainError carries a code and a name', async (t) => {
  const e = new AdvtrainError('boom', 'ERR_CHECKPOINT');
  t.ok(e instanceof Error);
  t.equal(e.name, 'AdvtrainError');
  t.equal(e.code, 'ERR_CHECKPOINT');
  t.equal(new AdvtrainError('x').code, 'ERR_NATIVE');
});

t.test('describeValue names value and type', async (t) => {
  t.equal(describeValue(1.5), '1.5 of type number');
  t.equal(describeValue('abc'), "'abc' of type string");
  t.equal(describeValue(null), 'null');
  t.equal(describeValue(undefined), 'undefined');
  t.equal(describeValue(new Int32Array(3)), 'Int32Array of length 3');
  t.equal(describeValue([1, 2]), 'array of length 2');
  t.match(describeValue('x'.repeat(100)), /\.\.\.' of type string$/);
  t.equal(describeValue({}), 'an object (Object)');
});

t.test('invalidArg follows the one message form', async (t) => {
  const e = invalidArg('options.lr', 'a finite number > 0', -1);
  t.equal(e.code, 'ERR_INVALID_ARG');
  t.equal(e.message, 'Expected a finite number > 0 for options.lr but received -1 of type number');
});

t.test('validators accept good values and name bad ones', async (t) => {
  t.equal(v.integer('n', 3, { min: 1 }), 3);
  t.throws(() => v.integer('n', 0, { min: 1 }), { code: 'ERR_INVALID_ARG', message: /Expected an integer >= 1 for n but received 0/ });
  t.throws(() => v.integer('n', 1.5), { message: /an integer for n/ });
  t.equal(v.finiteNumber('x', 0.5, { above: 0, max: 1 }), 0.5);
  t.throws(() => v.finiteNumber('x', 0, { above: 0 }), { message: /> 0/ });
  t.throws(() => v.finiteNumber('x', Number.NaN), { code: 'ERR_INVALID_ARG' });
  t.equal(v.oneOf('norm', 'l2', ['l2', 'linf'] as const), 'l2');
  t.throws(() => v.oneOf('norm', 'l3', ['l2', 'linf'] as const), { message: "Expected one of 'l2', 'linf' for norm but received 'l3' of type string" });
  t.throws(() => v.object('opts', null), { message: /an object for opts/ });
  t.throws(() => v.knownKeys('method', { name: 'x', stpes: 2 }, ['name', 'steps']), { message: /method\.stpes/ });
  t.doesNotThrow(() => v.knownKeys('method', { name: 'x', steps: undefined }, ['name']));
  t.throws(() => v.int32Array('inputIds', new Int32Array(3), 4), { message: /Int32Array of length 4 for inputIds but received Int32Array of length 3/ });
  t.throws(() => v.int32Array('inputIds', [1, 2], 2), { code: 'ERR_INVALID_ARG' });
  t.throws(() => v.int32Range('ids', Int32Array.from([0, 5, 99]), 0, 10), { message: /in \[0, 10\] for ids\[2\] but received 99/ });
  t.doesNotThrow(() => v.int32Range('labels', Int32Array.from([0, -100]), 0, 1, -100));
  t.equal(v.boolean('b', false), false);
  t.throws(() => v.string('s', ''), { code: 'ERR_INVALID_ARG' });
});
