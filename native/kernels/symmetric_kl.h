// The symmetric KL of the smoothness-inducing methods (SMART, R3F, ALUM; see methods/divergence.h) as
// one autograd function over rows of logits a, b [R, K]:
//   out = mean_r [KL(p_b || p_a) + KL(p_a || p_b)] = mean_r sum_k (p_b - p_a)(log p_b - log p_a),
// p = softmax in float32. Gradients (times dL/dout / R), with d = log p_b - log p_a:
//   Detach::None: da = (p_a - p_b) + p_a (-d - KL(p_a || p_b)),  db = (p_b - p_a) + p_b (d - KL(p_b || p_a));
//   Detach::Each (each direction stops the gradient through its target): da = p_a - p_b, db = p_b - p_a.
// Near rows (|b - a| <= 1 everywhere) compute p_b - p_a as p_a expm1(d), so tiny divergences keep
// their digits where the float ATen reference (reference::symmetricKl) rounds them off. No rows: 0.
#pragma once
#include <ATen/ATen.h>

namespace advtrain {

enum class Detach { None, Each };

// a, b [R, K] float32 or bfloat16 (b read in a's type). A float32 scalar.
at::Tensor symmetricKl(const at::Tensor& a, const at::Tensor& b, Detach detach);

}  // namespace advtrain
