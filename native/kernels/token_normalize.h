// SMART's ascent step with per-token normalisation (Jiang et al. 2020; see methods/smart.cc), fused:
// per token, v = xi + stepSize * g and
//   out = v / (max_d |v| + eps) * mask   (linf, SMART's default)   or   v / (||v||_2 + eps) * mask  (l2),
// with non-finite entries of out set to 0; `finite` is 1 when every entry of g is finite, else 0 (mt-dnn
// drops the adversarial term of such a batch). The reference is reference::tokenNormalize.
#pragma once
#include <ATen/ATen.h>

#include "kernels/common.h"

namespace advtrain {

struct NormalizedStep {
  at::Tensor xi;      // [N, L, D], xi's type, does not require grad
  at::Tensor finite;  // float32 scalar on xi's device (no host sync)
};

// xi, grad [N, L, D] float32 or bfloat16 (grad read in xi's type); mask [N, L] or [N, L, 1].
NormalizedStep tokenNormalize(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, double stepSize, double eps, Norm norm);

}  // namespace advtrain
