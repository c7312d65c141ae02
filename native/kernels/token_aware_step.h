// TextAT's update between passes (Li & Qiu 2021; see methods/textat.cc), fused: per example n over its
// real tokens i (g = grad * mask),
//   s = delta_s + stepSize * g_s / max(||g_s||_F, 1e-8)              (per-sentence l2 step)
//   t_i = delta_t,i + stepSize * g_t,i / max(||g_t,i||_2, 1e-8)      (per-token l2 step)
//   t_i *= ||t_i|| / max(max_j ||t_j||, 1e-12)                       (token-level normalisation)
//   s, t *= min(1, epsilon / ||s + t||_F)  when epsilon > 0          (joint projection)
// Padding entries of the outputs are exactly 0 (the inputs' padding must be 0, as TextAT makes it).
// The reference is reference::tokenAwareStep (kernels/reference.h).
#pragma once
#include <ATen/ATen.h>

namespace advtrain {

struct TokenAwareDeltas {
  at::Tensor sentence;  // delta_s
  at::Tensor token;     // delta_t
};

// All four [N, L, E] float32 or bfloat16 (read in delta_s's type); mask [N, L] or [N, L, 1]. New tensors
// of delta_s's type and device that do not require grad.
TokenAwareDeltas tokenAwareStep(const at::Tensor& sentence, const at::Tensor& sentenceGrad, const at::Tensor& token, const at::Tensor& tokenGrad,
                                const at::Tensor& mask, double stepSize, double epsilon);

}  // namespace advtrain
