// Pruned layers in config.json (EarlyRobust tickets): pruned_heads (transformers 4.x's field) and
// advtrain_intermediate_sizes, read, refused by name, written back; and the Trainer's slimmingL1 option.
import t from 'tap';
import { configToJson, isPruned, layerShapes, parseConfig } from '../../lib/model/config.js';
import { resolveConfig } from '../../lib/train/config.js';

const bert = { model_type: 'bert', architectures: ['BertForSequenceClassification'], vocab_size: 50, hidden_size: 16, num_attention_heads: 4, num_hidden_layers: 3, intermediate_size: 20 };

t.test('pruned_heads and advtrain_intermediate_sizes: read per layer, written back, padded exports drop them', async (t) => {
  const c = parseConfig({ ...bert, pruned_heads: { '0': [3, 1], '2': [0] }, advtrain_intermediate_sizes: [20, 7, 1] }, 'c');
  t.same(c.prunedHeads, [[1, 3], [], [0]], 'per layer, sorted, original numbering');
  t.same(c.intermediateSizes, [20, 7, 1]);
  t.ok(isPruned(c));
  t.same(layerShapes(c), { layerHeads: [2, 4, 3], layerIntermediate: [20, 7, 1] });
  const json = configToJson(c);
  t.same([json.pruned_heads, json.advtrain_intermediate_sizes], [{ 0: [1, 3], 2: [0] }, [20, 7, 1]]);
  t.same(parseConfig(json, 'c').prunedHeads, c.prunedHeads, 'reads back the same');
  const padded = configToJson(c, { padded: true });
  t.ok(!('pruned_heads' in padded) && !('advtrain_intermediate_sizes' in padded), 'hf-padded: no pruning fields');
  const plain = parseConfig({ ...bert, pruned_heads: {} }, 'c');
  t.notOk(isPruned(plain), "transformers 4.x's empty pruned_heads: not pruned");
  t.same(layerShapes(plain), { layerHeads: [4, 4, 4], layerIntermediate: [20, 20, 20] });
  t.notOk('pruned_heads' in configToJson(plain));
});

t.test('invalid pruning fields are refused by name', async (t) => {
  const refuse = (over: Record<string, unknown>, field: RegExp, base: Record<string, unknown> = bert) =>
    t.throws(() => parseConfig({ ...base, ...over }, 'x/config.json'), { code: 'ERR_CHECKPOINT', message: field }, String(field));
  refuse({ pruned_heads: { '3': [0] } }, /field 'pruned_heads\.3' must be a layer index in \[0, 3\)/);
  refuse({ pruned_heads: { '0': [4] } }, /field 'pruned_heads\.0' must be head indices in \[0, 4\)/);
  refuse({ pruned_heads: { '1': [0, 1, 2, 3] } }, /pruned_heads\.1' must be fewer heads than num_attention_heads/);
  refuse({ pruned_heads: [[0]] }, /field 'pruned_heads' must be an object/);
  refuse({ advtrain_intermediate_sizes: [20, 7] }, /field 'advtrain_intermediate_sizes' must be 3 integers in \[1, intermediate_size \(20\)\]/);
  refuse({ advtrain_intermediate_sizes: [20, 0, 1] }, /advtrain_intermediate_sizes/);
  refuse({ advtrain_intermediate_sizes: [21, 1, 1] }, /advtrain_intermediate_sizes/);
  const albert = { ...bert, model_type: 'albert', architectures: ['AlbertForSequenceClassification'] };
  refuse({ pruned_heads: { '0': [1] } }, /field 'pruned_heads' must be absent for model_type 'albert'/, albert);
  refuse({ advtrain_intermediate_sizes: [1, 1, 1] }, /field 'advtrain_intermediate_sizes' must be absent for model_type 'deberta-v2'/, { ...bert, model_type: 'deberta-v2', architectures: ['DebertaV2ForSequenceClassification'] });
});

t.test("the Trainer's slimmingL1: validated, default none", async (t) => {
  const base = { optimizer: { name: 'sgd' as const, lr: 0.1 } };
  t.same(resolveConfig(base).slimmingL1, { heads: 0, ffn: 0 });
  t.same(resolveConfig({ ...base, slimmingL1: { heads: 1e-5, ffn: 2e-4 } }).slimmingL1, { heads: 1e-5, ffn: 2e-4 });
  t.throws(() => resolveConfig({ ...base, slimmingL1: { heads: -1, ffn: 0 } }), { code: 'ERR_INVALID_ARG', message: /slimmingL1\.heads/ });
  t.throws(() => resolveConfig({ ...base, slimmingL1: { heads: 0 } as never }), { code: 'ERR_INVALID_ARG', message: /slimmingL1\.ffn/ });
  t.throws(() => resolveConfig({ ...base, slimmingL1: { heads: 0, ffn: 0, attn: 1 } as never }), { code: 'ERR_INVALID_ARG', message: /slimmingL1/ });
});
