// CPU twin of representation_cosine.cu: per-token dot products in parallel over tokens, the batch
// mean in order; the backward in parallel over tokens.
#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/cpu_common.h"
#include "kernels/representation_cosine_kernels.h"

namespace advtrain::kernels {

namespace {

constexpr float kEps = 1e-8f;

template <typename T>
void cosineForward(const CosineArgs& a, float* stats, float* out) {
  const T* x = static_cast<const T*>(a.anchor);
  const T* y = static_cast<const T*>(a.perturbed);
  const int64_t perExample = a.cls ? 1 : a.l, tokens = cosineTokens(a), H = a.h;
  float* cosine = stats;
  float* coefX = stats + tokens;
  float* coefY = stats + 2 * tokens;
  float* weight = stats + 3 * tokens;
  at::parallel_for(0, tokens, 64, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t n = k / perExample, t = k % perExample;
      cosine[k] = coefX[k] = coefY[k] = 0.f;
      if (!a.cls && a.mask[n * a.l + t] == 0.f) continue;  // weight 0: no value, no gradient
      const T* xp = x + (n * a.l + t) * H;
      const T* yp = y + (n * a.l + t) * H;
      const float xx = cpu::laneSum(H, [&](int64_t j) { return cpu::load(xp[j]) * cpu::load(xp[j]); });
      const float yy = cpu::laneSum(H, [&](int64_t j) { return cpu::load(yp[j]) * cpu::load(yp[j]); });
      const float xy = cpu::laneSum(H, [&](int64_t j) { return cpu::load(xp[j]) * cpu::load(yp[j]); });
      const float nyc = std::max(std::sqrt(yy), kEps);
      const float den = std::max(std::sqrt(xx), kEps) * nyc;
      cosine[k] = xy / den;
      coefX[k] = 1.f / den;
      coefY[k] = cosine[k] / (nyc * nyc);
    }
  });
  double total = 0.0;
  for (int64_t n = 0; n < a.n; ++n) {
    float per = cosine[n * perExample];
    weight[n] = 1.f / static_cast<float>(a.n);
    if (!a.cls) {
      double sum = 0.0, count = 0.0;
      for (int64_t t = 0; t < a.l; ++t) {
        sum += static_cast<double>(cosine[n * a.l + t]) * a.mask[n * a.l + t];
        count += a.mask[n * a.l + t];
      }
      const double denom = count > 1.0 ? count : 1.0;
      per = static_cast<float>(sum / denom);
      weight[n] = static_cast<float>(1.0 / (denom * a.n));
    }
    total += per;
  }
  *out = static_cast<float>(total / a.n);
}

template <typename T>
void cosineBackward(const CosineArgs& a, const float* stats, const float* gradOut, void* gradPerturbed) {
  const T* x = static_cast<const T*>(a.anchor);
  const T* y = static_cast<const T*>(a.perturbed);
  T* gy = static_cast<T*>(gradPerturbed);
  const int64_t perExample = a.cls ? 1 : a.l, tokens = cosineTokens(a), H = a.h;
  const float* coefX = stats + tokens;
  const float* coefY = stats + 2 * tokens;
  const float* weight = stats + 3 * tokens;
  const float g = *gradOut;
  at::parallel_for(0, tokens, 64, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const int64_t n = k / perExample, row = n * a.l + k % perExample;
      T* out = gy + row * H;
      const float w = (a.cls ? 1.f : a.mask[row]) * weight[n] * g;
      if (w == 0.f) {
        for (int64_t j = 0; j < H; ++j) out[j] = cpu::store<T>(0.f);
        continue;
      }
      const float cx = w * coefX[k], cy = w * coefY[k];
      const T* xp = x + row * H;
      const T* yp = y + row * H;
      for (int64_t j = 0; j < H; ++j) out[j] = cpu::store<T>(cx * cpu::load(xp[j]) - cy * cpu::load(yp[j]));
    }
  });
}

}  // namespace

void cosineForwardCpu(const CosineArgs& a, float* stats, float* out) {
  cpu::withType(a.dtype, [&](auto tag) { cosineForward<decltype(tag)>(a, stats, out); });
}

void cosineBackwardCpu(const CosineArgs& a, const float* stats, const float* gradOut, void* gradPerturbed) {
  cpu::withType(a.dtype, [&](auto tag) { cosineBackward<decltype(tag)>(a, stats, gradOut, gradPerturbed); });
}

}  // namespace advtrain::kernels
