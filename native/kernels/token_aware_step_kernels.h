// TextAT's step between passes on raw contiguous data (token_aware_step.h says what it computes):
// arguments shared by the CPU twin (token_aware_step_cpu.cc) and the CUDA launcher (token_aware_step.cu).
#pragma once
#include "kernels/common.h"

namespace advtrain::kernels {

struct TokenAwareStepArgs {
  const void* sentence;      // delta_s [N, L, E]
  const void* sentenceGrad;  // g_s [N, L, E]
  const void* token;         // delta_t [N, L, E]
  const void* tokenGrad;     // g_t [N, L, E]
  const float* mask;         // [N, L], nonzero on real tokens
  void* sentenceOut;         // [N, L, E]
  void* tokenOut;            // [N, L, E]
  DType dtype;
  int64_t n, l, e;
  float stepSize, epsilon;
};

void tokenAwareStepCpu(const TokenAwareStepArgs& a);

// CUDA: a warp per token; per-token statistics (4 floats each) in a float workspace.
inline int64_t tokenAwareStepWorkspace(int64_t n, int64_t l) { return 4 * n * l; }
const char* tokenAwareStepCuda(const TokenAwareStepArgs& a, float* workspace, cudaStream_t stream);

}  // namespace advtrain::kernels
