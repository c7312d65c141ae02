#include "kernels/reference.h"

namespace advtrain::reference {

namespace {

// float32, or float64 when given float64.
at::Tensor atLeastFloat(const at::Tensor& x) { return x.scalar_type() == at::kDouble ? x : x.to(at::kFloat); }

at::Tensor exampleNorm(const at::Tensor& x, Norm norm) {
  at::Tensor flat = atLeastFloat(x.flatten(1));
  return norm == Norm::L2 ? flat.norm(2, {1}) : flat.abs().amax({1});
}

// max(||v||, 1e-8) over `dim` (kept), whose gradient is v / max(||v||, 1e-8) even where the clamp is
// active: what libtorch 1.13's cosine_similarity differentiates.
at::Tensor clampedNorm(const at::Tensor& v, int64_t dim) {
  at::Tensor sq = (v * v).sum(dim, true);
  return (sq + (sq.clamp_min(1e-16) - sq).detach()).sqrt();
}

template <typename Cosine>
at::Tensor meanCosine(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls, Cosine cosine) {
  if (cls) return cosine(clean.select(1, 0), perturbed.select(1, 0), 1).mean();
  at::Tensor m = mask.squeeze(-1);
  return ((cosine(clean, perturbed, 2) * m).sum(1) / m.sum(1).clamp_min(1.0)).mean();
}

}  // namespace

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

std::pair<at::Tensor, at::Tensor> tokenAwareStep(const at::Tensor& sentence, const at::Tensor& sentenceGrad, const at::Tensor& token,
                                                 const at::Tensor& tokenGrad, const at::Tensor& mask, double stepSize, double epsilon) {
  at::NoGradGuard noGrad;
  at::Tensor gs = sentenceGrad * mask, gt = tokenGrad * mask;
  at::Tensor nextS = sentence + stepSize * gs / exampleNorm(gs, Norm::L2).clamp_min(1e-8).view({-1, 1, 1});
  at::Tensor nextT = token + stepSize * gt / gt.norm(2, {-1}, true).clamp_min(1e-8);
  // token-level normalisation: each token's norm relative to the sentence's largest
  at::Tensor tokNorm = nextT.norm(2, {-1}, true);
  nextT = nextT * (tokNorm / tokNorm.amax({1}, true).clamp_min(1e-12));
  if (epsilon > 0) {
    at::Tensor n = exampleNorm(nextS + nextT, Norm::L2);
    at::Tensor f = at::where(n > epsilon, epsilon / n.clamp_min(1e-30), at::ones_like(n)).view({-1, 1, 1});
    nextS = nextS * f;
    nextT = nextT * f;
  }
  return {nextS, nextT};
}

at::Tensor representationCosine(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls) {
  return meanCosine(clean, perturbed, mask, cls, [](const at::Tensor& x, const at::Tensor& y, int64_t dim) {
    return ((x / clampedNorm(x, dim)) * (y / clampedNorm(y, dim))).sum(dim);
  });
}

at::Tensor representationCosineBuiltin(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls) {
  return meanCosine(clean, perturbed, mask, cls, [](const at::Tensor& x, const at::Tensor& y, int64_t dim) { return at::cosine_similarity(x, y, dim, 1e-8); });
}

std::pair<at::Tensor, at::Tensor> tokenNormalize(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, double stepSize, double eps,
                                                 Norm norm) {
  at::NoGradGuard noGrad;
  at::Tensor v = xi + stepSize * grad;
  at::Tensor next = (norm == Norm::L2 ? v / (v.norm(2, {-1}, true) + eps) : v / (v.abs().amax({-1}, true) + eps)) * mask;
  return {at::where(next.isfinite(), next, at::zeros_like(next)), grad.isfinite().all().to(next.scalar_type())};
}

at::Tensor klDivergence(const at::Tensor& inputRows, const at::Tensor& targetRows) {
  at::Tensor logQ = at::log_softmax(atLeastFloat(inputRows), -1);
  at::Tensor logP = at::log_softmax(atLeastFloat(targetRows), -1);
  return (logP.exp() * (logP - logQ)).sum(-1).mean();
}

at::Tensor symmetricKl(const at::Tensor& a, const at::Tensor& b, Detach detach) {
  if (detach == Detach::Each) return klDivergence(a, b.detach()) + klDivergence(b, a.detach());
  return klDivergence(a, b) + klDivergence(b, a);
}

}  // namespace advtrain::reference
