#include "methods/divergence.h"

namespace advtrain {

at::Tensor distributionRows(const at::Tensor& logits, const Batch& b, Task task) {
  switch (task) {
    case Task::TokenClassification: return logits.flatten(0, 1).index_select(0, realPositions(b));
    case Task::QuestionAnswering: return logits.permute({0, 2, 1}).flatten(0, 1);
    case Task::MaskedLM: return logits.dim() == 3 ? logits.flatten(0, 1).index_select(0, labeledPositions(b)) : logits;
    default: return logits;
  }
}

at::Tensor klDivergence(const at::Tensor& inputRows, const at::Tensor& targetRows) {
  at::Tensor logQ = at::log_softmax(inputRows.to(at::kFloat), -1);
  at::Tensor logP = at::log_softmax(targetRows.to(at::kFloat), -1);
  return (logP.exp() * (logP - logQ)).sum(-1).mean();
}

namespace {

// stable_kl's rp - ry = log(a_y / a_p), a = 1 / (q + eps) - 1 + eps (no gradient); d = logits(p) - logits(y).
at::Tensor rpMinusRy(const at::Tensor& p, const at::Tensor& d, const at::Tensor& y, double eps) {
  at::NoGradGuard noGrad;
  const at::Tensor ap = 1.0 / (p + eps) - 1.0 + eps;
  const at::Tensor plain = at::log((1.0 / (y + eps) - 1.0 + eps) / ap);
  // Near rows (|d| <= 1): log1p((a_y - a_p) / a_p) with a_y - a_p = (p - y) / ((p + eps)(y + eps)) and
  // p - y = y * expm1(log p - log y), so the small difference keeps its digits in float32.
  const at::Tensor logRatio = d - at::log1p((y * at::expm1(d)).sum(-1, true));
  const at::Tensor near = at::log1p(y * at::expm1(logRatio) / ((p + eps) * (y + eps) * ap));
  return at::where(d.abs().amax(-1, true) <= 1.0, near, plain);
}

}  // namespace

at::Tensor stableKl(const at::Tensor& inputRows, const at::Tensor& targetRows, double eps) {
  const at::Tensor u = inputRows.to(at::kFloat);
  const at::Tensor v = targetRows.to(at::kFloat).detach();
  const at::Tensor p = at::softmax(u, -1);  // the only factor with a gradient
  const at::Tensor c = rpMinusRy(p.detach(), u.detach() - v, at::softmax(v, -1), eps);
  return (p * c * 2.0).sum();
}


at::Tensor divergence(const at::Tensor& logitsA, const at::Tensor& logitsB, const Batch& b, Task task, Detach detach) {
  if (task == Task::Regression) return at::pow(logitsA - logitsB, 2).mean();
  return symmetricKl(distributionRows(logitsA, b, task), distributionRows(logitsB, b, task), detach);
}

}  // namespace advtrain
