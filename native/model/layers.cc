#include "model/layers.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/record_function.h>
#include <torch/version.h>

#include "common/rng.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <limits>

namespace advtrain {

ParamBuilder::ParamBuilder(std::vector<NamedParam>& out, const at::TensorOptions& options, double initRange, uint64_t seed)
    : out_(out), options_(options), initRange_(initRange), gen_(at::make_generator<at::CPUGeneratorImpl>(seed)) {}

at::Tensor ParamBuilder::add(const std::string& name, at::Tensor t, bool decay) {
  t.set_requires_grad(true);
  out_.push_back({name, t, decay});
  return t;
}

at::Tensor ParamBuilder::normal(const std::string& name, at::IntArrayRef shape, bool decay, int64_t zeroRow) {
  at::NoGradGuard noGrad;
  // Draw in float32 on the CPU, then move: the same numbers whatever the device and storage dtype.
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(at::kFloat)).normal_(0.0, initRange_, gen_);
  if (zeroRow >= 0 && zeroRow < t.size(0)) t[zeroRow].zero_();
  return add(name, t.to(options_), decay);
}

at::Tensor ParamBuilder::zeros(const std::string& name, at::IntArrayRef shape, bool decay) {
  return add(name, at::zeros(shape, options_), decay);
}

at::Tensor ParamBuilder::ones(const std::string& name, at::IntArrayRef shape, bool decay) {
  return add(name, at::ones(shape, options_), decay);
}

Linear ParamBuilder::linear(const std::string& prefix, int64_t in, int64_t out) {
  Linear l;
  l.weight = normal(prefix + ".weight", {out, in});
  l.bias = zeros(prefix + ".bias", {out});
  return l;
}

LayerNorm ParamBuilder::layerNorm(const std::string& prefix, int64_t dim, double eps) {
  LayerNorm ln;
  ln.weight = ones(prefix + ".weight", {dim});
  ln.bias = zeros(prefix + ".bias", {dim});
  ln.eps = eps;
  return ln;
}

at::Tensor linear(const at::Tensor& x, const Linear& l, const Compute& c) {
  if (x.scalar_type() == c.dtype && l.weight.scalar_type() == c.dtype) return at::linear(x, l.weight, l.bias);
  return at::linear(x.to(c.dtype), l.weight.to(c.dtype), l.bias.to(c.dtype));
}

at::Tensor layerNorm(const at::Tensor& x, const LayerNorm& ln) {
  auto f = [](const at::Tensor& t) { return t.scalar_type() == at::kFloat ? t : t.to(at::kFloat); };
  return at::layer_norm(f(x), {x.size(-1)}, f(ln.weight), f(ln.bias), ln.eps);
}

at::Tensor activate(const at::Tensor& x, Activation a) {
  switch (a) {
    case Activation::Gelu: return at::gelu(x);
    case Activation::GeluTanh: return at::gelu(x, "tanh");
    case Activation::Relu: return at::relu(x);
    case Activation::Silu: return at::silu(x);
    case Activation::Tanh: return at::tanh(x);
    case Activation::QuickGelu: return x * at::sigmoid(1.702 * x);
  }
  return x;
}

at::Tensor dropoutMaskCpu(const at::Tensor& like, double p, at::Generator gen) {
  RECORD_FUNCTION("advtrain::dropout_mask", std::vector<c10::IValue>());  // named in step profiles
  uint64_t seed = 0;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    seed = at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
  }
  const double keep = 1.0 - p;
  // Keep when the top 32 bits of the element's hash fall below keep * 2^32.
  const uint64_t threshold = static_cast<uint64_t>(std::min(keep * 4294967296.0, 4294967295.0));
  at::Tensor noise = at::empty(like.sizes(), like.options().memory_format(at::MemoryFormat::Contiguous));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, noise.scalar_type(), "dropoutMaskCpu", [&] {
    scalar_t* out = noise.data_ptr<scalar_t>();
    const scalar_t scale = static_cast<scalar_t>(1.0 / keep);
    at::parallel_for(0, noise.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        // SplitMix64 of (seed, element index): a counter-based stream, so any split over threads draws the same mask.
        uint64_t z = seed + (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        out[i] = (z >> 32) < threshold ? scale : scalar_t(0);
      }
    });
  });
  return noise;
}

at::Tensor dropout(const at::Tensor& x, double p, const Compute& c) {
  if (!c.training || p <= 0.0) return x;
  // A Bernoulli(1 - p) mask scaled by 1 / (1 - p), from the current trainer's generator (at::dropout
  // takes none). On the CPU at::bernoulli_ draws element by element from one mt19937 except on Intel CPUs
  // (MKL): ~13% of a training step here. dropoutMaskCpu draws the same distribution in parallel from one
  // 64-bit seed per mask (different draws from at::bernoulli_'s; transformers' own masks differ anyway).
  at::Tensor noise = x.is_cpu() ? dropoutMaskCpu(x, p, generatorFor(x.device()))
                                : at::empty_like(x, at::MemoryFormat::Contiguous).bernoulli_(1.0 - p, generatorFor(x.device())).div_(1.0 - p);
  return x * noise;
}

at::Tensor attentionBias(const at::Tensor& mask, at::ScalarType dtype) {
  const double lowest = dtype == at::kBFloat16 ? -3.3895313892515355e38 : dtype == at::kHalf ? -65504.0 : dtype == at::kDouble ? std::numeric_limits<double>::lowest() : std::numeric_limits<float>::lowest();
  at::Tensor m = mask.to(dtype).unsqueeze(1).unsqueeze(2);  // [N, 1, 1, L]
  return (1.0 - m) * lowest;
}

bool hasSdpa() { return TORCH_VERSION_MAJOR >= 2; }

at::Tensor attentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias, double dropoutP,
                         const Compute& c, at::Tensor* probsOut) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * scale + bias;
  at::Tensor probs = at::softmax(scores, -1, at::kFloat);
  if (probsOut) *probsOut = probs;
  at::Tensor ctx = at::matmul(dropout(probs, dropoutP, c).to(v.scalar_type()), v);
  return ctx.transpose(1, 2).flatten(2);
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& bias, double dropoutP,
                     const Compute& c, at::Tensor* probsOut) {
#if TORCH_VERSION_MAJOR >= 2
  // SDPA draws attention dropout from the device's default generator (it takes none): on CPU, where its
  // training path with dropout is the math one anyway, train through ours with the trainer's generator.
  const bool defaultRngDropout = c.training && dropoutP > 0.0 && !q.is_cuda();
  if (!probsOut && c.allowSdpa && !defaultRngDropout) {
    at::Tensor ctx = at::scaled_dot_product_attention(q, k, v, bias.to(q.scalar_type()), c.training ? dropoutP : 0.0, false);
    return ctx.transpose(1, 2).flatten(2);
  }
#endif
  return attentionMath(q, k, v, bias, dropoutP, c, probsOut);
}

}  // namespace advtrain
