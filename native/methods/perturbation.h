// Shared pieces of the embedding-space methods: masks, random starts, per-example norms, dropout
// replay; the fused ascent step and projection (ascendProject) comes with kernels/ascent_step.h.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "common/rng.h"
#include "kernels/ascent_step.h"
#include "model/batch.h"
#include "model/layers.h"
#include "kernels/token_normalize.h"
#include "model/transformer.h"

namespace advtrain {

Norm normOf(const std::string& s);

// [N, L, 1] float mask of real tokens.
at::Tensor tokenMask(const Batch& b);

// FreeLB's random start from u = U(-1, 1): l2: u * mask * initMag / sqrt(n_b * D); linf: u * initMag * mask;
// zeros when initMag is 0. `base` (RandomDraws::start), when defined, is u. Returns a leaf that requires grad.
at::Tensor initDelta(const Batch& b, int64_t dim, double initMag, Norm norm, const at::TensorOptions& options,
                     const at::Tensor& base = {});

// The random start of the noise methods (R3F, SMART, ALUM): z * std on real tokens, z = N(0, 1) or
// `base` (RandomDraws::start) when defined. Not a leaf that requires grad.
at::Tensor gaussianStart(const Batch& b, int64_t dim, double std, const at::Device& device, const at::Tensor& base = {});

// `draw` on `device` in float32 after checking that it has `shape` (ERR_INVALID_ARG naming `what` if not).
at::Tensor checkedDraw(const at::Tensor& draw, at::IntArrayRef shape, const std::string& what, const at::Device& device);

// Per-example norm over all L x D entries: [N].
at::Tensor exampleNorm(const at::Tensor& x, Norm norm);

// SMART/ALUM's noise update (mt-dnn's _norm_grad): xi <- normalise(xi + stepSize * g) * mask, per token (the
// fused "inf-token" / "l2-token" kernels), per example ("inf-example", "l2-example": mt-dnn's sentence
// level) or the sign ("l1"), with `finite` 0 when g is not finite.
NormalizedStep noiseStep(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, const std::string& mode, double stepSize,
                         double eps);

// Gradient of `objective` wrt `leaf` only (no parameter gradients are computed or accumulated).
at::Tensor gradWrt(const at::Tensor& objective, const at::Tensor& leaf, bool retainGraph = false);

// Snapshot of the generators dropout draws from on `device` (the trainer's, and on CUDA also the default
// one that SDPA's fused dropout uses): replay() restores them so the next passes draw the same dropout
// masks (FreeLB's synchronised dropout).
class RngReplay {
 public:
  explicit RngReplay(const at::Device& device);
  void replay();

 private:
  std::vector<at::Generator> gens_;
  std::vector<at::Tensor> states_;
};

}  // namespace advtrain
