// Pure-ATen references of the fused kernels, used only by the kernel checks (testing.kernelCheck):
// the code the methods ran before the kernels, computing at float32, or at float64 when given float64
// (the checks do, so they measure the kernels' own rounding).
#pragma once
#include <ATen/ATen.h>

#include <utility>

#include "kernels/common.h"
#include "kernels/symmetric_kl.h"

namespace advtrain::reference {

// mask is [N, L, 1] throughout, as methods' tokenMask().

// delta + stepSize * g / max(||g||, 1e-8), g = grad * mask (l2: Frobenius per example; linf: max abs).
at::Tensor ascend(const at::Tensor& delta, const at::Tensor& grad, const at::Tensor& mask, double stepSize, Norm norm);
// Onto the epsilon-ball: l2 rescales examples whose norm exceeds epsilon; linf clamps. epsilon 0: unchanged.
at::Tensor project(const at::Tensor& delta, double epsilon, Norm norm);

// TextAT's step between passes: {delta_s, delta_t} after the steps, the token-level normalisation
// and the joint projection (kernels/token_aware_step.h).
std::pair<at::Tensor, at::Tensor> tokenAwareStep(const at::Tensor& sentence, const at::Tensor& sentenceGrad, const at::Tensor& token,
                                                 const at::Tensor& tokenGrad, const at::Tensor& mask, double stepSize, double epsilon);

// CreAT's similarity with libtorch 1.13's at::cosine_similarity(x, y, dim, 1e-8) written out (values
// and gradients; torch 2 differs where a norm is clamped), so the checks hold on any libtorch.
at::Tensor representationCosine(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls);
// The same through at::cosine_similarity itself, as creat.cc computed it (the checks compare on 1.13).
at::Tensor representationCosineBuiltin(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls);

// SMART's normalised step {xi, finite}: v = xi + stepSize * g; v / (max_d |v| + eps) (linf) or
// v / (||v||_2 + eps) (l2), times mask, non-finite entries 0; finite = all of g is finite.
std::pair<at::Tensor, at::Tensor> tokenNormalize(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, double stepSize, double eps,
                                                 Norm norm);

// KL(p_target || p_input), summed over classes, averaged over rows ("batchmean").
at::Tensor klDivergence(const at::Tensor& inputRows, const at::Tensor& targetRows);
// KL(p_b || p_a) + KL(p_a || p_b); Detach::Each stops each direction's gradient through its target.
at::Tensor symmetricKl(const at::Tensor& a, const at::Tensor& b, Detach detach);

}  // namespace advtrain::reference
