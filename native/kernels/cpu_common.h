// Helpers of the CPU twins: float32 accumulation over float / bfloat16 data, NaN-propagating max
// (as at::amax), and sums in eight lanes that g++ vectorises without -ffast-math.
#pragma once
#include <c10/util/BFloat16.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/common.h"

namespace advtrain::kernels::cpu {

inline float load(float x) { return x; }
inline float load(c10::BFloat16 x) { return static_cast<float>(x); }

// c10::BFloat16(float) rounds to nearest even, as __float2bfloat16 does on the GPU.
template <typename T>
inline T store(float x) {
  return static_cast<T>(x);
}

inline float maxNan(float a, float b) { return (a > b || std::isnan(a)) ? a : b; }

// Sum of term(j) for j in [0, n): eight independent float lanes, combined in a fixed order.
template <typename Term>
inline float laneSum(int64_t n, Term term) {
  float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += term(j + k);
  }
  for (int k = 0; j < n; ++j, ++k) acc[k] += term(j);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// Max of |term(j)| for j in [0, n), NaN-propagating (as at::amax); 0 for n = 0. Non-negative floats
// order as their bit patterns, with NaN above inf: eight lanes of integer maxima, which the compiler
// vectorises (float max with NaN propagation it does not).
template <typename Term>
inline float laneMaxAbs(int64_t n, Term term) {
  auto bits = [](float v) {
    int32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
  };
  int32_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    for (int k = 0; k < 8; ++k) {
      const int32_t b = bits(std::fabs(term(j + k)));
      acc[k] = acc[k] > b ? acc[k] : b;
    }
  }
  for (int k = 0; j < n; ++j, ++k) {
    const int32_t b = bits(std::fabs(term(j)));
    acc[k] = acc[k] > b ? acc[k] : b;
  }
  int32_t top = 0;
  for (int32_t b : acc) top = top > b ? top : b;
  float out;
  std::memcpy(&out, &top, sizeof out);
  return out;
}

// expm1(t) for |t| <= 1/32 by its Taylor series to t^6 (truncation below 1e-13 relative): a few
// multiply-adds the compiler vectorises, where std::expm1 is a scalar call.
inline float expm1Small(float t) {
  return t * (1.f + t * (1.f / 2 + t * (1.f / 6 + t * (1.f / 24 + t * (1.f / 120 + t * (1.f / 720))))));
}

// Calls fn with a value of the element type `t` names (float or c10::BFloat16).
template <typename Fn>
inline void withType(DType t, Fn fn) {
  if (t == DType::BFloat16) {
    fn(c10::BFloat16());
  } else {
    fn(0.f);
  }
}

}  // namespace advtrain::kernels::cpu
