// Output divergences for the smoothness-inducing methods (R3F, SMART, ALUM): KL between the output
// distributions of two forward passes, per task, and mean squared error for regression.
#pragma once
#include <ATen/ATen.h>

#include "kernels/symmetric_kl.h"
#include "model/batch.h"
#include "model/config.h"

namespace advtrain {

// The task's logits as rows of class scores: classification [B, K]; token classification: the real
// tokens [M, K]; masked LM (labeled positions only) [M, V]; question answering: start and end scores
// over positions [2N, L]. Regression is not a distribution (see divergence()).
at::Tensor distributionRows(const at::Tensor& logits, const Batch& b, Task task);

// KL(p_target || p_input), summed over classes, averaged over rows ("batchmean"): ALUM's attack objective.
at::Tensor klDivergence(const at::Tensor& inputRows, const at::Tensor& targetRows);

// mt-dnn's stable_kl(logit, target, reduce=False) (mt_dnn/loss.py), SMART's attack objective: summed over
// rows, 2 * sum_k p_k (rp_k - ry_k) with p = softmax(input), y = softmax(target) and the detached
// rp = -log(1 / (p + eps) - 1 + eps), ry likewise, so its gradient is mt-dnn's surrogate, not the KL's.
at::Tensor stableKl(const at::Tensor& inputRows, const at::Tensor& targetRows, double eps = 1e-6);

// Symmetric divergence between two passes' logits: KL(p_b || p_a) + KL(p_a || p_b). With Detach::Each
// each direction stops the gradient through its target (SMART's SymKlCriterion); Detach::None lets it
// flow through both (R3F); the fused symmetricKl (kernels/symmetric_kl.h). Regression: mean squared difference.
at::Tensor divergence(const at::Tensor& logitsA, const at::Tensor& logitsB, const Batch& b, Task task, Detach detach);

}  // namespace advtrain
