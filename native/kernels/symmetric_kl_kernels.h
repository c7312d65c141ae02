// The symmetric KL on raw contiguous rows (symmetric_kl.h says what it computes): arguments shared by
// the CPU twin (symmetric_kl_cpu.cc) and the CUDA launchers (symmetric_kl.cu).
#pragma once
#include "kernels/common.h"

namespace advtrain::kernels {

struct SymKlArgs {
  const void* a;  // logits [R, K]
  const void* b;  // logits [R, K]
  DType dtype;
  int64_t rows, classes;
};

// What the forward keeps for the backward (floats), so the backward needs no exponentials: per row
// shift = lse(b) - lse(a), sum_k p_a,k d_k and sum_k p_b,k d_k with d = log p_b - log p_a = (b - a) - shift,
// and the row's divergence sum_k (p_b,k - p_a,k) d_k; per entry p_a and p_b - p_a. Probabilities are
// exp(x - max) / sum (exact exponents where p is large); rows with max_k |b_k - a_k| <= 1 take the shift
// and p_b - p_a through log1p / expm1, accurate for SMART's tiny divergences.
enum SymKlRowStat { kShift, kPaD, kPbD, kRowKl, kSymKlRowStats };
struct SymKlSaved {
  float* rows;  // [R, kSymKlRowStats]
  float* pa;    // [R, K]
  float* diff;  // [R, K], p_b - p_a
};
inline int64_t symKlSavedSize(int64_t rows, int64_t classes) { return rows * (kSymKlRowStats + 2 * classes); }
inline SymKlSaved symKlSaved(float* base, int64_t rows, int64_t classes) {
  return {base, base + rows * kSymKlRowStats, base + rows * (kSymKlRowStats + classes)};
}

// out: one float, mean over rows of KL(p_b || p_a) + KL(p_a || p_b).
void symKlForwardCpu(const SymKlArgs& s, const SymKlSaved& saved, float* out);
// gradOut: one float; gradA / gradB [R, K] of the element type, nullptr when not wanted.
// detachEach: each direction stops the gradient through its target (Detach::Each).
void symKlBackwardCpu(const SymKlArgs& s, const SymKlSaved& saved, const float* gradOut, bool detachEach, void* gradA, void* gradB);

const char* symKlForwardCuda(const SymKlArgs& s, const SymKlSaved& saved, float* out, cudaStream_t stream);
const char* symKlBackwardCuda(const SymKlArgs& s, const SymKlSaved& saved, const float* gradOut, bool detachEach, void* gradA, void* gradB,
                              cudaStream_t stream);

}  // namespace advtrain::kernels
