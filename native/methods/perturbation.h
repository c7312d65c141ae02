// Shared pieces of the embedding-space methods: masks, random starts, per-example norms, the
// normalised ascent step and the projection onto the epsilon-ball, dropout replay, representation cosine.
#pragma once
#include <ATen/ATen.h>

#include "model/batch.h"
#include "model/layers.h"
#include "model/transformer.h"

namespace advtrain {

enum class Norm { L2, Linf };
Norm normOf(const std::string& s);

// [N, L, 1] float mask of real tokens.
at::Tensor tokenMask(const Batch& b);

// FreeLB's random start: l2: U(-1, 1) * mask * initMag / sqrt(n_b * D); linf: U(-initMag, initMag) * mask;
// zeros when initMag is 0; `given` (StepContext::initialPerturbation), masked, when defined. Returns a
// leaf that requires grad.
at::Tensor initDelta(const Batch& b, int64_t dim, double initMag, Norm norm, const at::TensorOptions& options,
                     const at::Tensor& given = {});

// Per-example norm over all L x D entries: [N].
at::Tensor exampleNorm(const at::Tensor& x, Norm norm);

// delta + stepSize * g / max(||g||, 1e-8) on real tokens (l2: Frobenius per example; linf: max abs per example).
at::Tensor ascend(const at::Tensor& delta, const at::Tensor& grad, const at::Tensor& mask, double stepSize, Norm norm);

// Onto the epsilon-ball: l2 rescales examples whose norm exceeds epsilon; linf clamps. epsilon 0: unchanged.
at::Tensor project(const at::Tensor& delta, double epsilon, Norm norm);

// SMART/ALUM's normalisation of the noise: per-token l-inf ("inf-token"), per-token l2 ("l2-token") or
// per-example l-inf ("inf-example"), with eps guarding the division (there is no epsilon-ball).
at::Tensor normaliseNoise(const at::Tensor& v, const std::string& mode, double eps);

// Mean over examples of the mean cosine over real tokens ("tokens") or of the first token ("cls")
// between two final representations [N, L, H]; per-example values in `perExample` when given.
at::Tensor representationCosine(const at::Tensor& clean, const at::Tensor& perturbed, const at::Tensor& mask, bool cls,
                                at::Tensor* perExample = nullptr);

// Gradient of `objective` wrt `leaf` only (no parameter gradients are computed or accumulated).
at::Tensor gradWrt(const at::Tensor& objective, const at::Tensor& leaf);

// Snapshot of the device's default generator: replay() restores it so the next passes draw the same
// dropout masks (FreeLB's synchronised dropout).
class RngReplay {
 public:
  explicit RngReplay(const at::Device& device);
  void replay();

 private:
  at::Generator gen_;
  at::Tensor state_;
};

}  // namespace advtrain
