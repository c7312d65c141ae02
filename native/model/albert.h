// ALBERT (Lan et al. 2020, "ALBERT: A Lite BERT"), as transformers' modeling_albert.py: cross-layer parameter
// sharing. num_hidden_layers applications of num_hidden_groups layer groups, each application running the
// group's inner_group_num layers; embeddings of embedding_size mapped to hidden_size by
// encoder.embedding_hidden_mapping_in (always present, also when the two sizes are equal).
#pragma once
#include <string>
#include <vector>

#include "model/config.h"
#include "model/encoder.h"
#include "model/layers.h"

namespace advtrain {

// The group that application `i` of num_hidden_layers uses: int(i / (num_hidden_layers / num_hidden_groups))
// in double arithmetic, as transformers' AlbertTransformer computes it.
int64_t albertGroupOf(int64_t i, const ModelConfig& cfg);

// Registers each group's layers once, under transformers' names
// (<prefix>encoder.albert_layer_groups.G.albert_layers.J.{attention.{query,key,value,dense,LayerNorm},ffn,
// ffn_output,full_layer_layer_norm}), and returns the layers in the order the forward runs them:
// num_hidden_layers x inner_group_num entries whose tensors are the shared group tensors.
std::vector<EncoderLayer> albertLayers(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix);

}  // namespace advtrain
