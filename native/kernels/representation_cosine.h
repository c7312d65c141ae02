// CreAT's similarity S[h(x), h(x + delta)] (Wu & Zhao 2023; see methods/creat.cc) as one autograd
// function. Per token the cosine of libtorch 1.13's at::cosine_similarity(x, y, -1, 1e-8), each norm
// clamped (n' = max(||.||, 1e-8)) and, as measured on 1.13, the norm's gradient taken at the clamped value:
//   c = x.y / (n'_x n'_y),   dc/dy = x / (n'_x n'_y) - (c / n'_y^2) y;
// then 'tokens': mean over examples of the mean of c over the example's real tokens (0 for none);
// 'cls': mean over examples of c at the first token. The gradient flows to the perturbed
// representation only (the anchor is detached). The reference is reference::representationCosine.
#pragma once
#include <ATen/ATen.h>

namespace advtrain {

// anchor, perturbed [N, L, H] float32 or bfloat16 (anchor read in perturbed's type); mask [N, L] or
// [N, L, 1]. A float32 scalar, differentiable wrt `perturbed`.
at::Tensor representationCosine(const at::Tensor& anchor, const at::Tensor& perturbed, const at::Tensor& mask, bool cls);

}  // namespace advtrain
