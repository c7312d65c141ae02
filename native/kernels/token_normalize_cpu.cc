// CPU twin of token_normalize.cu: in parallel over tokens.
#include <ATen/Parallel.h>

#include <atomic>

#include "kernels/cpu_common.h"
#include "kernels/token_normalize_kernels.h"

namespace advtrain::kernels {

namespace {

template <typename T>
void tokenNormalize(const TokenNormalizeArgs& a) {
  const T* xi = static_cast<const T*>(a.xi);
  const T* grad = static_cast<const T*>(a.grad);
  T* out = static_cast<T*>(a.out);
  const int64_t D = a.d;
  const bool linf = a.norm == Norm::Linf;
  std::atomic<bool> finite{true};
  at::parallel_for(0, a.tokens, 16, [&](int64_t begin, int64_t end) {
    bool ok = true;
    for (int64_t k = begin; k < end; ++k) {
      const T* x = xi + k * D;
      const T* g = grad + k * D;
      T* o = out + k * D;
      auto v = [&](int64_t j) { return cpu::load(x[j]) + a.stepSize * cpu::load(g[j]); };
      for (int64_t j = 0; j < D; ++j) ok &= std::isfinite(cpu::load(g[j]));
      const float m = a.mask[k];
      if (m == 0.f) {
        for (int64_t j = 0; j < D; ++j) o[j] = cpu::store<T>(0.f);
        continue;
      }
      const float denom = (linf ? cpu::laneMaxAbs(D, v) : std::sqrt(cpu::laneSum(D, [&](int64_t j) { return v(j) * v(j); }))) + a.eps;
      for (int64_t j = 0; j < D; ++j) {
        const float r = v(j) / denom * m;
        o[j] = cpu::store<T>(std::isfinite(r) ? r : 0.f);
      }
    }
    if (!ok) finite.store(false, std::memory_order_relaxed);
  });
  if (!finite.load()) *a.finite = 0.f;
}

}  // namespace

void tokenNormalizeCpu(const TokenNormalizeArgs& a) {
  cpu::withType(a.dtype, [&](auto tag) { tokenNormalize<decltype(tag)>(a); });
}

}  // namespace advtrain::kernels
