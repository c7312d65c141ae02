// The fused ascent step on raw contiguous data (ascent_step.h says what it computes): arguments shared
// by the CPU twin (ascent_step_cpu.cc) and the CUDA launcher (ascent_step.cu).
#pragma once
#include "kernels/common.h"

namespace advtrain::kernels {

struct AscentStepArgs {
  const void* delta;  // [N, L, D]
  const void* grad;   // [N, L, D]
  const float* mask;  // [N, L], nonzero on real tokens
  void* out;          // [N, L, D]
  DType dtype;        // of delta, grad and out
  int64_t n, l, d;
  float stepSize, epsilon;
  Norm norm;
};

void ascentStepCpu(const AscentStepArgs& a);

// CUDA: each example is split over this many blocks (whole tokens each); the per-block partial
// norms of g and of the updated delta live in a float workspace of ascentStepWorkspace() entries.
inline int64_t ascentStepBlocks(int64_t l) { return l < 64 ? l : 64; }
inline int64_t ascentStepWorkspace(int64_t n, int64_t l) { return 2 * n * ascentStepBlocks(l); }

// Returns nullptr, or the CUDA error of the launches.
const char* ascentStepCuda(const AscentStepArgs& a, float* workspace, cudaStream_t stream);

}  // namespace advtrain::kernels
