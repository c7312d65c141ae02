// AdamW (decoupled weight decay, torch.optim.AdamW semantics) and SGD (with momentum), over the
// model's parameters; no weight decay where NamedParam.decay is false (biases, LayerNorm weights).
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "model/layers.h"

namespace advtrain {

struct OptimizerConfig {
  std::string name = "adamw";  // "adamw" | "sgd"
  double lr = 5e-5;
  double weightDecay = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0.0;  // sgd
  bool nesterov = false;  // sgd
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& cfg, std::vector<NamedParam>& params);

  // One update with learning rate `lr` from the parameters' current gradients.
  void step(double lr);
  int64_t stepCount() const { return steps_; }

  // State for checkpoints: "<slot>.<param name>" tensors plus "step".
  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void loadState(const std::map<std::string, at::Tensor>& state);

 private:
  void ensureState();
  OptimizerConfig cfg_;
  std::vector<NamedParam>& params_;
  std::vector<at::Tensor> m_, v_;  // adamw moments / sgd momentum buffers (m_)
  int64_t steps_ = 0;
};

}  // namespace advtrain
