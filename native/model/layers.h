// Parameters and the building blocks of the encoder: linear, LayerNorm, activations, dropout, attention.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "model/config.h"

namespace advtrain {

// One parameter under its Hugging Face name. `decay` is false for biases and LayerNorm weights
// (AdamW applies no weight decay to them).
struct NamedParam {
  std::string name;
  at::Tensor tensor;
  bool decay;
};

struct Linear {
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out]
};

struct LayerNorm {
  at::Tensor weight;
  at::Tensor bias;
  double eps;
};

// How the forward pass computes: matmul dtype (bf16 under mixed precision, fp32 master weights kept),
// train/eval (dropout), and whether SDPA may be used.
struct Compute {
  at::ScalarType dtype = at::kFloat;
  bool training = false;
  bool allowSdpa = true;
  // Token-wise layers (projections, feed-forward, LayerNorm, dropout) on the real tokens only; attention
  // still sees the padded [N, L] layout. Taken only where the result cannot differ: Batch::packable, a
  // family that supports it and a head that reads no padding position (TransformerModel::forward).
  bool packTokens = false;
};

// Creates parameters initialised as transformers' _init_weights does (normal(0, range) for linear and
// embedding weights, zero biases, LayerNorm 1/0, zero padding rows) and records their names in order.
// Random draws come from a seeded CPU generator, so a seed gives the same weights on every device.
class ParamBuilder {
 public:
  ParamBuilder(std::vector<NamedParam>& out, const at::TensorOptions& options, double initRange, uint64_t seed);

  at::Tensor normal(const std::string& name, at::IntArrayRef shape, bool decay = true, int64_t zeroRow = -1);
  at::Tensor zeros(const std::string& name, at::IntArrayRef shape, bool decay = false);
  at::Tensor ones(const std::string& name, at::IntArrayRef shape, bool decay = false);
  Linear linear(const std::string& prefix, int64_t in, int64_t out);
  LayerNorm layerNorm(const std::string& prefix, int64_t dim, double eps);

 private:
  at::Tensor add(const std::string& name, at::Tensor t, bool decay);
  std::vector<NamedParam>& out_;
  at::TensorOptions options_;
  double initRange_;
  at::Generator gen_;
};

at::Tensor linear(const at::Tensor& x, const Linear& l, const Compute& c);

// LayerNorm in float32 whatever the compute dtype (as autocast does); returns float32.
at::Tensor layerNorm(const at::Tensor& x, const LayerNorm& ln);

at::Tensor activate(const at::Tensor& x, Activation a);

// Dropout from the current trainer's generator for x's device (common/rng.h), so a saved generator
// state replays the same masks.
at::Tensor dropout(const at::Tensor& x, double p, const Compute& c);
// The CPU dropout mask: 1 / (1 - p) with probability 1 - p, else 0, shaped like `like`, one seed drawn from `gen`.
at::Tensor dropoutMaskCpu(const at::Tensor& like, double p, at::Generator gen);

// Additive attention bias [N, 1, 1, L] from a [N, L] 0/1 mask: 0 for real tokens, dtype's lowest for padding.
at::Tensor attentionBias(const at::Tensor& mask, at::ScalarType dtype);

// Multi-head self-attention core: q, k, v are [N, heads, L, d]. Returns [N, L, heads * d].
// With `probsOut` the math path runs and stores the attention probabilities [N, heads, L, L].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias, double dropoutP,
                     const Compute& c, at::Tensor* probsOut);

// The math path alone (tests compare it with SDPA).
at::Tensor attentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias, double dropoutP,
                         const Compute& c, at::Tensor* probsOut);

// True when this libtorch has scaled_dot_product_attention (2.0+).
bool hasSdpa();

}  // namespace advtrain
