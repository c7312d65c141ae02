#include "model/albert.h"

namespace advtrain {

int64_t albertGroupOf(int64_t i, const ModelConfig& cfg) {
  const double perGroup = static_cast<double>(cfg.numLayers) / static_cast<double>(cfg.numHiddenGroups);
  return static_cast<int64_t>(static_cast<double>(i) / perGroup);
}

std::vector<EncoderLayer> albertLayers(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix) {
  const int64_t H = cfg.hiddenSize;
  std::vector<std::vector<EncoderLayer>> groups(static_cast<size_t>(cfg.numHiddenGroups));
  for (int64_t g = 0; g < cfg.numHiddenGroups; ++g) {
    for (int64_t j = 0; j < cfg.innerGroupNum; ++j) {
      const std::string l = prefix + "encoder.albert_layer_groups." + std::to_string(g) + ".albert_layers." + std::to_string(j) + ".";
      // AlbertLayer's registration order (state_dict order): full_layer_layer_norm, attention, ffn, ffn_output.
      EncoderLayer L;
      L.heads = cfg.numHeads;
      L.outNorm = pb.layerNorm(l + "full_layer_layer_norm", H, cfg.layerNormEps);
      L.query = pb.linear(l + "attention.query", H, H);
      L.key = pb.linear(l + "attention.key", H, H);
      L.value = pb.linear(l + "attention.value", H, H);
      L.attnOut = pb.linear(l + "attention.dense", H, H);
      L.attnNorm = pb.layerNorm(l + "attention.LayerNorm", H, cfg.layerNormEps);
      L.intermediate = pb.linear(l + "ffn", H, cfg.intermediateSize);
      L.output = pb.linear(l + "ffn_output", cfg.intermediateSize, H);
      groups[static_cast<size_t>(g)].push_back(std::move(L));
    }
  }
  std::vector<EncoderLayer> out;
  for (int64_t i = 0; i < cfg.numLayers; ++i) {
    const auto& group = groups.at(static_cast<size_t>(albertGroupOf(i, cfg)));
    out.insert(out.end(), group.begin(), group.end());
  }
  return out;
}

}  // namespace advtrain
