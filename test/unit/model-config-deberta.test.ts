// DeBERTa-v2 config.json: transformers' defaults, the fields read, and the ones refused by name.
import t from 'tap';
import { architectureOf, configToJson, parseConfig, taskFromConfig } from '../../lib/model/config.js';

const base = { model_type: 'deberta-v2', vocab_size: 50, hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 16 };

t.test("DebertaV2Config's defaults where config.json is silent", async (t) => {
  const c = parseConfig(base, 'c', { task: 'base' });
  t.equal(c.layerNormEps, 1e-7);
  t.equal(c.typeVocabSize, 0, 'no token types (DeBERTa-v3)');
  t.equal(c.embeddingSize, 8, 'embedding_size defaults to hidden_size');
  t.same(c.deberta, {
    relativeAttention: false, c2p: false, p2c: false, positionBuckets: -1, maxRelativePositions: 512, shareAttKey: false,
    normRelEmbedding: false, positionBiasedInput: true, convKernelSize: 0, convGroups: 1, convAct: 'tanh', poolerAct: 'gelu', poolerDropout: 0,
  });
});

t.test('a deberta-v3-base style config', async (t) => {
  const v3 = {
    ...base, architectures: ['DebertaV2ForSequenceClassification'], relative_attention: true, pos_att_type: 'p2c|c2p', position_buckets: 256,
    max_relative_positions: -1, norm_rel_ebd: 'layer_norm', share_att_key: true, position_biased_input: false, max_position_embeddings: 512,
    cls_dropout: 0.2, pooler_hidden_act: 'tanh', pooler_dropout: 0.1, embedding_size: 4,
  };
  const c = parseConfig(v3, 'c');
  t.equal(c.task, 'sequence-classification');
  t.equal(c.classifierDropout, 0.2, 'cls_dropout');
  t.equal(c.embeddingSize, 4);
  t.match(c.deberta, { relativeAttention: true, c2p: true, p2c: true, positionBuckets: 256, maxRelativePositions: 512, shareAttKey: true, normRelEmbedding: true, positionBiasedInput: false, poolerAct: 'tanh', poolerDropout: 0.1 });
  const json = configToJson(c);
  t.equal(json.architectures instanceof Array && json.architectures[0], 'DebertaV2ForSequenceClassification');
  t.equal(json.pos_att_type, 'p2c|c2p', 'the original spelling is kept');
  t.equal(json.cls_dropout, 0.2);
  t.equal(json.position_embedding_type, undefined, 'no BERT-only field written');
  t.same(parseConfig(json, 'again').deberta, c.deberta, 'round trip');
  t.equal(architectureOf('deberta-v2', 'masked-lm'), 'DebertaV2ForMaskedLM');
  t.equal(taskFromConfig({ architectures: ['DebertaV2ForTokenClassification'] }), 'token-classification');
});

t.test('fields advtrain would mis-read are refused by name', async (t) => {
  const bad = (extra: Record<string, unknown>, field: string, task: 'base' | 'masked-lm' = 'base') =>
    t.throws(() => parseConfig({ ...base, ...extra }, 'x/config.json', { task }), { code: 'ERR_CHECKPOINT', message: new RegExp(`x/config.json: field '${field}'`) }, field);
  bad({ pos_att_type: ['c2p', 'p2p'] }, 'pos_att_type');
  bad({ pos_att_type: 'c2p|p2p' }, 'pos_att_type');
  bad({ norm_rel_ebd: 'rms_norm' }, 'norm_rel_ebd');
  bad({ conv_kernel_size: 4 }, 'conv_kernel_size');
  bad({ conv_kernel_size: 3, conv_groups: 3 }, 'conv_groups');
  bad({ conv_kernel_size: 3, conv_act: 'mish' }, 'conv_act');
  bad({ pooler_hidden_size: 16 }, 'pooler_hidden_size');
  bad({ attention_head_size: 2 }, 'attention_head_size');
  bad({ relative_attention: true, position_buckets: 1 }, 'position_buckets');
  bad({ relative_attention: true, position_buckets: 64, max_relative_positions: 33 }, 'position_buckets');
  bad({ relative_attention: 'yes' }, 'relative_attention');
  bad({ legacy: false }, 'legacy', 'masked-lm');
  t.equal(parseConfig({ ...base, legacy: false }, 'c', { task: 'token-classification' }).task, 'token-classification', 'legacy only picks the MLM head');
  t.ok(parseConfig({ ...base, pos_att_type: ['c2p'] }, 'c', { task: 'base' }).deberta!.c2p);
});
