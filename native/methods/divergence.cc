#include "methods/divergence.h"

namespace advtrain {

at::Tensor distributionRows(const at::Tensor& logits, const Batch& b, Task task) {
  switch (task) {
    case Task::TokenClassification: return logits.flatten(0, 1).index({b.attentionMask.flatten().ne(0)});
    case Task::QuestionAnswering: return logits.permute({0, 2, 1}).flatten(0, 1);
    case Task::MaskedLM: return logits.dim() == 3 ? logits.flatten(0, 1).index({b.labels.flatten().ne(-100)}) : logits;
    default: return logits;
  }
}

at::Tensor klDivergence(const at::Tensor& inputRows, const at::Tensor& targetRows) {
  at::Tensor logQ = at::log_softmax(inputRows.to(at::kFloat), -1);
  at::Tensor logP = at::log_softmax(targetRows.to(at::kFloat), -1);
  return (logP.exp() * (logP - logQ)).sum(-1).mean();
}

at::Tensor stableKl(const at::Tensor& inputRows, const at::Tensor& targetRows, double eps) {
  at::Tensor p = at::log_softmax(inputRows.to(at::kFloat), -1).exp();
  at::Tensor y = at::log_softmax(targetRows.to(at::kFloat), -1).exp().detach();
  at::Tensor rp = -at::log(1.0 / (p.detach() + eps) - 1.0 + eps);
  at::Tensor ry = -at::log(1.0 / (y + eps) - 1.0 + eps);
  return (p * (rp - ry) * 2.0).sum();
}

at::Tensor divergence(const at::Tensor& logitsA, const at::Tensor& logitsB, const Batch& b, Task task, Detach detach) {
  if (task == Task::Regression) return at::pow(logitsA - logitsB, 2).mean();
  return symmetricKl(distributionRows(logitsA, b, task), distributionRows(logitsB, b, task), detach);
}

}  // namespace advtrain
