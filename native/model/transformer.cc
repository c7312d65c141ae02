#include "model/transformer.h"

#include "model/deberta.h"

namespace advtrain {

TransformerModel::TransformerModel(const ModelConfig& cfg, const at::Device& device, at::ScalarType dtype, uint64_t seed)
    : cfg_(cfg), device_(device), dtype_(dtype) {
  ParamBuilder pb(params_, at::TensorOptions().device(device).dtype(dtype), cfg.initializerRange, seed);
  // A bare encoder saves without prefix (BertModel layout); heads sit beside "<family>.".
  const std::string base = cfg.task == Task::Base ? "" : std::string(familyPrefix(cfg.family)) + ".";
  if (cfg.family == Family::DebertaV2) encoder_ = std::make_unique<DebertaEncoder>(cfg, pb, base);
  else encoder_ = std::make_unique<Encoder>(cfg, pb, base);
  head_ = std::make_unique<Head>(cfg, pb, base, encoder_->wordEmbeddingWeight());
  reindex();
}

void TransformerModel::reindex() {
  index_.clear();
  for (size_t i = 0; i < params_.size(); ++i) index_[params_[i].name] = i;
}

const NamedParam* TransformerModel::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &params_[it->second];
}

int64_t TransformerModel::numParameters() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.tensor.numel();
  return n;
}

std::vector<std::pair<std::string, at::Tensor>> TransformerModel::savedTensors(bool padded) const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  const std::string spectral = head_->spectralNorm() ? head_->outWeightName() : "";
  at::NoGradGuard noGrad;
  const auto pads = padded ? paddedLayerTensors() : std::unordered_map<const void*, at::Tensor>();
  for (const auto& p : params_) {
    if (p.name.rfind("advtrain.", 0) == 0) continue;  // slimming coefficients: not part of an HF folder
    auto pad = pads.find(p.tensor.unsafeGetTensorImpl());
    out.emplace_back(p.name, p.name == spectral ? head_->outWeight(false) : pad != pads.end() ? pad->second : p.tensor);
  }
  return out;
}

ForwardResult TransformerModel::forward(const Batch& b, const Perturbation& p, const Compute& c, EncoderTrace* trace,
                                        bool labeledOnly) const {
  ForwardResult r;
  // Extractive QA's loss takes its softmax over every position, padding included (as transformers'):
  // its padding outputs are read, so they are computed.
  Compute ec = c;
  if (cfg_.task == Task::QuestionAnswering) ec.packTokens = false;
  r.sequence = encoder_->forward(b, p, ec, trace);
  r.logits = head_->forward(r.sequence, b, c, labeledOnly);
  return r;
}

void TransformerModel::zeroGrad() {
  for (auto& p : params_) {
    if (p.tensor.grad().defined()) p.tensor.mutable_grad() = at::Tensor();
  }
}

}  // namespace advtrain
