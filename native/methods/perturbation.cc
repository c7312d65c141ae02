#include "methods/perturbation.h"

#include <torch/csrc/autograd/autograd.h>

#include <cmath>
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

at::Tensor exampleNorm(const at::Tensor& x, Norm norm) {
  at::Tensor flat = x.flatten(1).to(at::kFloat);
  return norm == Norm::L2 ? flat.norm(2, {1}) : flat.abs().amax({1});
}

at::Tensor ascend(const at::Tensor& delta, const at::Tensor& grad, const at::Tensor& mask, double stepSize, Norm norm) {
  at::NoGradGuard noGrad;
  at::Tensor g = grad * mask;
  at::Tensor denom = exampleNorm(g, norm).clamp_min(1e-8).view({-1, 1, 1});
  return (delta + stepSize * g / denom).detach();
}

at::Tensor project(const at::Tensor& delta, double epsilon, Norm norm) {
  if (epsilon <= 0.0) return delta;
  at::NoGradGuard noGrad;
  if (norm == Norm::Linf) return delta.clamp(-epsilon, epsilon).detach();
  at::Tensor n = exampleNorm(delta, Norm::L2);
  // FreeLB: reweight only the examples outside the ball.
  at::Tensor factor = at::where(n > epsilon, epsilon / n.clamp_min(1e-30), at::ones_like(n));
  return (delta * factor.view({-1, 1, 1}).to(delta.scalar_type())).detach();
}

at::Tensor normaliseNoise(const at::Tensor& v, const std::string& mode, double eps) {
  if (mode == "l2-token") return v / (v.norm(2, {-1}, true) + eps);
  if (mode == "inf-example") return v / (v.abs().amax({1, 2}, true) + eps);
  return v / (v.abs().amax({-1}, true) + eps);  // inf-token
}

at::Tensor representationCosine(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls,
                                at::Tensor* perExample) {
  at::Tensor per;
  if (cls) {
    per = at::cosine_similarity(clean.select(1, 0), perturbed.select(1, 0), 1, 1e-8);
  } else {
    at::Tensor cos = at::cosine_similarity(clean, perturbed, 2, 1e-8);  // [N, L]
    at::Tensor m = mask.squeeze(-1);
    per = (cos * m).sum(1) / m.sum(1).clamp_min(1.0);
  }
  if (perExample) *perExample = per;
  return per.mean();
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
