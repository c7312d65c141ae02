/**
 * Encoder families at one size: the config.json fields that turn a named size's BERT shape
 * (MODEL_SIZES) into the family's usual settings, for `advtrain demo --family`, the speed bench and
 * random initialisation (`sizedConfig(size, vocab, FAMILY_SETTINGS['deberta-v3'])`).
 * bench/peers/loops.py builds the same configs in transformers.
 */
export const FAMILY_SETTINGS = {
  bert: {},
  // DeBERTa-v3's settings (microsoft/deberta-v3-base config.json) at the named size.
  'deberta-v3': {
    model_type: 'deberta-v2',
    relative_attention: true,
    pos_att_type: ['p2c', 'c2p'],
    position_buckets: 256,
    max_relative_positions: -1,
    position_biased_input: false,
    norm_rel_ebd: 'layer_norm',
    share_att_key: true,
    type_vocab_size: 0,
    layer_norm_eps: 1e-7,
  },
  // ALBERT's: factorised 128-wide embeddings, every layer sharing one set of weights.
  albert: { model_type: 'albert', embedding_size: 128, num_hidden_groups: 1, inner_group_num: 1 },
} as const satisfies Record<string, Record<string, unknown>>;

export type FamilyName = keyof typeof FAMILY_SETTINGS;
export const FAMILY_NAMES = Object.keys(FAMILY_SETTINGS) as FamilyName[];
