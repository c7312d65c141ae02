#include "methods/perturbation.h"

#include <torch/csrc/autograd/autograd.h>

#include <mutex>

#include "common/error.h"

namespace advtrain {

Norm normOf(const std::string& s) { return s == "linf" ? Norm::Linf : Norm::L2; }

at::Tensor tokenMask(const Batch& b) { return b.attentionMask.to(at::kFloat).unsqueeze(-1); }

at::Tensor initDelta(const Batch& b, int64_t dim, double initMag, Norm norm, const at::TensorOptions& options,
                     const at::Tensor& given) {
  at::Tensor mask = tokenMask(b).to(options.device());
  at::Tensor delta;
  if (given.defined()) {
    delta = given.to(options.device(), at::kFloat) * mask;
  } else if (initMag <= 0.0) {
    delta = at::zeros({b.rows(), b.seqLen(), dim}, options);
  } else if (norm == Norm::L2) {
    at::Tensor lengths = mask.sum({1, 2});  // n_b
    at::Tensor scale = initMag / at::sqrt(lengths * static_cast<double>(dim));
    delta = at::empty({b.rows(), b.seqLen(), dim}, options).uniform_(-1.0, 1.0) * mask * scale.view({-1, 1, 1});
  } else {
    delta = at::empty({b.rows(), b.seqLen(), dim}, options).uniform_(-initMag, initMag) * mask;
  }
  return delta.detach().requires_grad_(true);
}

at::Tensor gaussianStart(const Batch& b, int64_t dim, double std, const at::Device& device, const at::Tensor& given) {
  const at::Tensor mask = tokenMask(b).to(device);
  if (given.defined()) return given.to(device, at::kFloat) * mask;
  return at::randn({b.rows(), b.seqLen(), dim}, at::TensorOptions().device(device)) * std * mask;
}

at::Tensor exampleNorm(const at::Tensor& x, Norm norm) {
  at::Tensor flat = x.flatten(1).to(at::kFloat);
  return norm == Norm::L2 ? flat.norm(2, {1}) : flat.abs().amax({1});
}

NormalizedStep noiseStep(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, const std::string& mode, double stepSize,
                         double eps) {
  if (mode != "inf-example") return tokenNormalize(xi.detach(), grad, mask, stepSize, eps, mode == "l2-token" ? Norm::L2 : Norm::Linf);
  at::Tensor v = xi.detach() + stepSize * grad;
  at::Tensor next = v / (v.abs().amax({1, 2}, true) + eps) * mask;
  return {at::where(next.isfinite(), next, at::zeros_like(next)), grad.isfinite().all().to(at::kFloat)};
}

at::Tensor gradWrt(const at::Tensor& objective, const at::Tensor& leaf) {
  return torch::autograd::grad({objective}, {leaf}, {}, /*retain_graph=*/false, /*create_graph=*/false)[0];
}

RngReplay::RngReplay(const at::Device& device) : gen_(at::globalContext().defaultGenerator(device)) {
  std::lock_guard<std::mutex> lock(gen_.mutex());
  state_ = gen_.get_state();
}

void RngReplay::replay() {
  std::lock_guard<std::mutex> lock(gen_.mutex());
  gen_.set_state(state_);
}

}  // namespace advtrain
