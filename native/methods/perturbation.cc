#include "methods/perturbation.h"

#include <torch/csrc/autograd/autograd.h>

#include <mutex>

#include "common/error.h"

namespace advtrain {

Norm normOf(const std::string& s) { return s == "linf" ? Norm::Linf : Norm::L2; }

at::Tensor tokenMask(const Batch& b) { return b.attentionMask.to(at::kFloat).unsqueeze(-1); }

at::Tensor checkedDraw(const at::Tensor& draw, at::IntArrayRef shape, const std::string& what, const at::Device& device) {
  if (draw.sizes() != shape) {
    fail(kErrInvalidArg, c10::str("the supplied ", what, " draw has shape ", draw.sizes(), ", expected ", shape));
  }
  return draw.to(device, at::kFloat);
}

at::Tensor initDelta(const Batch& b, int64_t dim, double initMag, Norm norm, const at::TensorOptions& options,
                     const at::Tensor& base) {
  if (initMag <= 0.0) return at::zeros({b.rows(), b.seqLen(), dim}, options).requires_grad_(true);
  const at::Tensor mask = tokenMask(b).to(options.device());
  const at::Tensor u = base.defined() ? checkedDraw(base, {b.rows(), b.seqLen(), dim}, "random start", options.device())
                                      : at::empty({b.rows(), b.seqLen(), dim}, options).uniform_(-1.0, 1.0, generatorFor(options.device()));
  at::Tensor delta;
  if (norm == Norm::L2) {
    // n_b; an all-padding row (n_b = 0) gets scale initMag / sqrt(D) times a zero mask, not 0 * inf.
    at::Tensor lengths = mask.sum({1, 2}).clamp_min(1.0);
    at::Tensor scale = initMag / at::sqrt(lengths * static_cast<double>(dim));
    delta = u * mask * scale.view({-1, 1, 1});
  } else {
    delta = u * initMag * mask;
  }
  return delta.detach().requires_grad_(true);
}

at::Tensor gaussianStart(const Batch& b, int64_t dim, double std, const at::Device& device, const at::Tensor& base) {
  const at::Tensor mask = tokenMask(b).to(device);
  const at::Tensor z = base.defined() ? checkedDraw(base, {b.rows(), b.seqLen(), dim}, "noise", device)
                                      : at::randn({b.rows(), b.seqLen(), dim}, generatorFor(device), at::TensorOptions().device(device));
  return z * std * mask;
}

at::Tensor exampleNorm(const at::Tensor& x, Norm norm) {
  at::Tensor flat = x.flatten(1).to(at::kFloat);
  return norm == Norm::L2 ? flat.norm(2, {1}) : flat.abs().amax({1});
}

NormalizedStep noiseStep(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, const std::string& mode, double stepSize,
                         double eps) {
  if (mode == "inf-token" || mode == "l2-token") return tokenNormalize(xi.detach(), grad, mask, stepSize, eps, mode == "l2-token" ? Norm::L2 : Norm::Linf);
  at::Tensor v = xi.detach() + stepSize * grad;
  at::Tensor next;
  if (mode == "l1") {
    next = at::sign(v) * mask;  // mt-dnn's 'l1': the sign, no eps
  } else if (mode == "l2-example") {
    next = v / (v.flatten(1).to(at::kFloat).norm(2, {1}).to(v.scalar_type()).view({-1, 1, 1}) + eps) * mask;
  } else {
    next = v / (v.abs().amax({1, 2}, true) + eps) * mask;
  }
  return {at::where(next.isfinite(), next, at::zeros_like(next)), grad.isfinite().all().to(at::kFloat)};
}

at::Tensor gradWrt(const at::Tensor& objective, const at::Tensor& leaf, bool retainGraph) {
  return torch::autograd::grad({objective}, {leaf}, {}, retainGraph, /*create_graph=*/false)[0];
}

RngReplay::RngReplay(const at::Device& device) {
  gens_.push_back(generatorFor(device));
  if (device.is_cuda()) gens_.push_back(at::globalContext().defaultGenerator(device));
  for (auto& g : gens_) {
    std::lock_guard<std::mutex> lock(g.mutex());
    states_.push_back(g.get_state());
  }
}

void RngReplay::replay() {
  for (size_t i = 0; i < gens_.size(); ++i) {
    std::lock_guard<std::mutex> lock(gens_[i].mutex());
    gens_[i].set_state(states_[i]);
  }
}

}  // namespace advtrain
