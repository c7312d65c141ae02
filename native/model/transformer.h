// A complete model: encoder plus task head, its parameters under transformers' names.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/heads.h"
#include "model/layers.h"

namespace advtrain {

struct ForwardResult {
  at::Tensor sequence;  // last hidden state [N, L, H], float32
  at::Tensor logits;    // task logits, float32 (see Head::forward)
};

class TransformerModel {
 public:
  TransformerModel(const ModelConfig& cfg, const at::Device& device, at::ScalarType dtype, uint64_t seed);

  const ModelConfig& config() const { return cfg_; }
  const at::Device& device() const { return device_; }
  at::ScalarType dtype() const { return dtype_; }
  const Encoder& encoder() const { return *encoder_; }
  const Head& head() const { return *head_; }
  Head& head() { return *head_; }

  std::vector<NamedParam>& params() { return params_; }
  const std::vector<NamedParam>& params() const { return params_; }
  // The parameter registered under `name`, or nullptr.
  const NamedParam* find(const std::string& name) const;
  int64_t numParameters() const;
  // What a saved folder holds: every parameter but the slimming coefficients, with a spectrally normalised
  // output weight written as W_orig / sigma (eval mode, no power iteration), so transformers computes the
  // same logits. `padded`: pruned layers written at full width with zero rows/columns (model/pruning.cc).
  std::vector<std::pair<std::string, at::Tensor>> savedTensors(bool padded = false) const;

  // EarlyRobust slimming and physical pruning (model/pruning.cc); BERT, RoBERTa and ELECTRA only.
  // Adds one coefficient per head and per FFN neuron of each layer, initialised to 1, as parameters
  // "advtrain.slimming.layer.<i>.heads" / ".ffn" (no weight decay).
  void enableSlimming();
  bool slimming() const { return slimming_; }
  // Per layer: [heads] and [ffn width] coefficients (the parameters themselves).
  std::vector<std::pair<at::Tensor, at::Tensor>> slimmingCoefficients() const;
  // grad += l1 * sign(c) on every coefficient: the gradient of l1Heads * sum|c_heads| + l1Ffn * sum|c_ffn|.
  void addSlimmingL1(double l1Heads, double l1Ffn);
  // Removes the listed heads / neurons (current indices, sorted, unique, in range; at least one head left
  // per layer) from each layer's weights. Coefficients of kept units are folded into the following
  // projection's columns and slimming is turned off.
  void prune(const std::vector<std::vector<int64_t>>& heads, const std::vector<std::vector<int64_t>>& ffn);
  // Changes when parameters are added, removed or reshaped: trainers built before refuse to step.
  int64_t structureVersion() const { return structureVersion_; }

  // Forward with an optional perturbation and trace; `labeledOnly` as in Head::forward.
  ForwardResult forward(const Batch& b, const Perturbation& p, const Compute& c, EncoderTrace* trace = nullptr,
                        bool labeledOnly = false) const;
  at::Tensor loss(const at::Tensor& logits, const Batch& b, bool perExample = false) const { return head_->loss(logits, b, perExample); }

  // Zeroes every parameter gradient (set to undefined, as optimizer.zero_grad(set_to_none=True)).
  void zeroGrad();

 private:
  ModelConfig cfg_;
  at::Device device_;
  at::ScalarType dtype_;
  std::vector<NamedParam> params_;
  std::unordered_map<std::string, size_t> index_;
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<Head> head_;
  bool slimming_ = false;
  int64_t structureVersion_ = 0;
  std::vector<EncoderLayer>& prunable(const char* op);
  void reindex();
  // Full-width copies of pruned layers' tensors, zero where units were removed, keyed by the parameter's TensorImpl.
  std::unordered_map<const void*, at::Tensor> paddedLayerTensors() const;
};

}  // namespace advtrain
