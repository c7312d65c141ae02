// config.json fields advtrain refuses rather than mis-reads.
import t from 'tap';
import { architectureOf, configToJson, layerApplications, parseConfig } from '../../lib/model/config.js';

const mlm = { model_type: 'bert', architectures: ['BertForMaskedLM'], vocab_size: 50, hidden_size: 8, num_attention_heads: 2 };

t.test('an untied masked-LM decoder is refused by name (the decoder is always the word embeddings)', async (t) => {
  t.throws(() => parseConfig({ ...mlm, tie_word_embeddings: false }, 'x/config.json'), { code: 'ERR_CHECKPOINT', message: /x\/config.json: field 'tie_word_embeddings' must be true for masked-lm/ });
  t.equal(parseConfig({ ...mlm, tie_word_embeddings: true }, 'c').task, 'masked-lm');
  t.equal(parseConfig(mlm, 'c').task, 'masked-lm', 'absent means tied, as transformers');
  t.equal(parseConfig({ ...mlm, tie_word_embeddings: false }, 'c', { task: 'sequence-classification' }).task, 'sequence-classification', 'no decoder, nothing to tie');
});

const albert = { model_type: 'albert', architectures: ['AlbertForSequenceClassification'], vocab_size: 50, hidden_size: 8, num_attention_heads: 2 };

t.test("ALBERT: AlbertConfig's defaults, its sharing fields, refusals by name, written back in transformers' format", async (t) => {
  const c = parseConfig(albert, 'c');
  t.match(c, { modelType: 'albert', task: 'sequence-classification', embeddingSize: 128, numLayers: 12, numHiddenGroups: 1, innerGroupNum: 1, hiddenAct: 'gelu_new', hiddenDropout: 0, attentionDropout: 0, classifierDropout: 0.1, intermediateSize: 16384 });
  const g = parseConfig({ ...albert, num_hidden_layers: 4, num_hidden_groups: 2, inner_group_num: 3, classifier_dropout_prob: 0.3, classifier_dropout: 0.7 }, 'c');
  t.match(g, { numLayers: 4, numHiddenGroups: 2, innerGroupNum: 3, classifierDropout: 0.3 }, "classifier_dropout_prob is ALBERT's field; classifier_dropout is not read");
  t.equal(layerApplications(g), 12, 'traced layers: 4 applications x 3 inner layers');
  t.equal(layerApplications(parseConfig({ ...albert, model_type: 'bert' }, 'c')), 12, 'BERT: num_hidden_layers');
  const json = configToJson(g);
  t.match(json, { architectures: ['AlbertForSequenceClassification'], model_type: 'albert', embedding_size: 128, num_hidden_groups: 2, inner_group_num: 3, classifier_dropout_prob: 0.3 });
  t.same(parseConfig(json, 'c'), { ...g, raw: json }, 'reads back the same');
  t.equal(architectureOf('albert', 'masked-lm'), 'AlbertForMaskedLM');
  t.equal(parseConfig({ ...albert, architectures: ['AlbertForPreTraining'] }, 'c').task, 'masked-lm', 'AlbertForPreTraining: its masked-LM head');
  const refuse = (over: Record<string, unknown>, field: string) =>
    t.throws(() => parseConfig({ ...albert, ...over }, 'x/config.json'), { code: 'ERR_CHECKPOINT', message: new RegExp(`x/config.json: field '${field}' must be`) }, field);
  refuse({ num_hidden_layers: 2, num_hidden_groups: 3 }, 'num_hidden_groups');
  refuse({ num_hidden_groups: 0 }, 'num_hidden_groups');
  refuse({ inner_group_num: 0 }, 'inner_group_num');
  refuse({ inner_group_num: 1.5 }, 'inner_group_num');
  refuse({ embedding_size: 0 }, 'embedding_size');
  refuse({ classifier_dropout_prob: null }, 'classifier_dropout_prob');
  refuse({ classifier_dropout_prob: 1 }, 'classifier_dropout_prob');
  refuse({ position_embedding_type: 'relative_key' }, 'position_embedding_type');
  refuse({ architectures: ['AlbertForMaskedLM'], tie_word_embeddings: false }, 'tie_word_embeddings');
});

// albert-base-v2's config.json as published (fields of the original TF ALBERT that transformers ignores included).
t.test('a config.json like albert-base-v2\'s parses', async (t) => {
  const cfg = {
    architectures: ['AlbertForMaskedLM'], attention_probs_dropout_prob: 0, bos_token_id: 2, classifier_dropout_prob: 0.1, down_scale_factor: 1, embedding_size: 128,
    eos_token_id: 3, gap_size: 0, hidden_act: 'gelu_new', hidden_dropout_prob: 0, hidden_size: 768, initializer_range: 0.02, inner_group_num: 1, intermediate_size: 3072,
    layer_norm_eps: 1e-12, max_position_embeddings: 512, model_type: 'albert', net_structure_type: 0, num_attention_heads: 12, num_hidden_groups: 1, num_hidden_layers: 12,
    num_memory_blocks: 0, pad_token_id: 0, type_vocab_size: 2, vocab_size: 30000,
  };
  t.match(parseConfig(cfg, 'c'), { modelType: 'albert', task: 'masked-lm', hiddenSize: 768, embeddingSize: 128, numLayers: 12, numHiddenGroups: 1, innerGroupNum: 1, numHeads: 12 });
});
