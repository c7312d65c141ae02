// The normalised ascent step and projection of the embedding-space methods (FreeLB, PGD, FreeAT,
// YOPO, CreAT), fused: per example n, over its real tokens (mask != 0),
//   g = grad * mask,  u = delta + stepSize * g / max(||g||, 1e-8),
//   l2:   out = u * (||u||_F > epsilon ? epsilon / ||u||_F : 1)   (FreeLB: only examples outside the ball)
//   linf: out = clamp(u, -epsilon, epsilon),
// ||g|| the Frobenius norm (l2) or max abs (linf) of the example; epsilon 0: no projection. Padding
// entries of out are exactly 0 (delta's padding must be 0, as initDelta makes it). The reference is
// reference::project(reference::ascend(...)) (kernels/reference.h).
#pragma once
#include <ATen/ATen.h>

#include "kernels/common.h"

namespace advtrain {

// delta, grad [N, L, D] float32 or bfloat16 (grad is read in delta's type); mask [N, L] or [N, L, 1].
// Returns a new tensor of delta's type and device that does not require grad.
at::Tensor ascendProject(const at::Tensor& delta, const at::Tensor& grad, const at::Tensor& mask, double stepSize, double epsilon, Norm norm);

}  // namespace advtrain
