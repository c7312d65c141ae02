// SMART's normalised step on raw contiguous data (token_normalize.h says what it computes): arguments
// shared by the CPU twin (token_normalize_cpu.cc) and the CUDA launcher (token_normalize.cu).
#pragma once
#include "kernels/common.h"

namespace advtrain::kernels {

struct TokenNormalizeArgs {
  const void* xi;     // [N, L, D]
  const void* grad;   // [N, L, D]
  const float* mask;  // [N, L]
  void* out;          // [N, L, D]
  float* finite;      // one float, set to 0 when grad holds a non-finite value (the caller sets it to 1)
  DType dtype;
  int64_t tokens, d;  // N * L, D
  float stepSize, eps;
  Norm norm;
};

void tokenNormalizeCpu(const TokenNormalizeArgs& a);
const char* tokenNormalizeCuda(const TokenNormalizeArgs& a, cudaStream_t stream);

}  // namespace advtrain::kernels
