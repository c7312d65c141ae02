// CreAT's representation cosine on raw contiguous data (representation_cosine.h says what it
// computes): arguments shared by the CPU twin (representation_cosine_cpu.cc) and the CUDA launchers.
#pragma once
#include "kernels/common.h"

namespace advtrain::kernels {

struct CosineArgs {
  const void* anchor;     // x [N, L, H] (the clean representation)
  const void* perturbed;  // y [N, L, H]
  const float* mask;      // [N, L], nonzero on real tokens
  DType dtype;
  int64_t n, l, h;
  bool cls;  // first token only
};

// Tokens that enter the similarity: the first of each example ('cls') or all of them ('tokens').
// constexpr: device code calls it too (--expt-relaxed-constexpr).
constexpr int64_t cosineTokens(const CosineArgs& a) { return a.n * (a.cls ? 1 : a.l); }

// The forward pass keeps for the backward, in `stats` (floats): per used token the cosine c and the
// coefficients of x and y in dc/dy, then per example the weight of its tokens in the batch mean.
inline int64_t cosineStatsSize(const CosineArgs& a) { return 3 * cosineTokens(a) + a.n; }

// out: one float, the batch mean.
void cosineForwardCpu(const CosineArgs& a, float* stats, float* out);
// gradOut: one float (dL/dout); gradPerturbed [N, L, H] of the element type: the backward writes the
// rows of the tokens that enter the similarity (all of them for 'tokens'; 'cls' needs the rest zeroed).
void cosineBackwardCpu(const CosineArgs& a, const float* stats, const float* gradOut, void* gradPerturbed);

// Device pointers; nullptr or the CUDA error.
const char* cosineForwardCuda(const CosineArgs& a, float* stats, float* out, cudaStream_t stream);
const char* cosineBackwardCuda(const CosineArgs& a, const float* stats, const float* gradOut, void* gradPerturbed, cudaStream_t stream);

}  // namespace advtrain::kernels
