/**
 * The encoder families the speed bench compares at one size: config.json fields laid over a named
 * size's BERT shape (lib/model/config.ts MODEL_SIZES). bench/peers/loops.py builds the same configs.
 */
export const FAMILIES = {
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

export type Family = keyof typeof FAMILIES;
