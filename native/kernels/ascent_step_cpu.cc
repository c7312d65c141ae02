// CPU twin of ascent_step.cu: one example per task, its three passes (norm of g, norm of the updated
// delta, write) over data that stays in cache between them.
#include <ATen/Parallel.h>

#include <algorithm>

#include "kernels/ascent_step_kernels.h"
#include "kernels/cpu_common.h"

namespace advtrain::kernels {

namespace {

template <typename T>
void ascentStep(const AscentStepArgs& a) {
  const T* delta = static_cast<const T*>(a.delta);
  const T* grad = static_cast<const T*>(a.grad);
  T* out = static_cast<T*>(a.out);
  const bool linf = a.norm == Norm::Linf;
  const bool rescale = !linf && a.epsilon > 0.f;
  const int64_t D = a.d;
  at::parallel_for(0, a.n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* mask = a.mask + n * a.l;
      // Pass 1: ||g|| over real tokens (padding contributes g * 0 = 0).
      double sum = 0.0;
      float top = 0.f;
      for (int64_t t = 0; t < a.l; ++t) {
        const float m = mask[t];
        if (m == 0.f) continue;
        const T* g = grad + (n * a.l + t) * D;
        if (linf) {
          top = cpu::maxNan(cpu::laneMaxAbs(D, [&](int64_t j) { return cpu::load(g[j]) * m; }), top);
        } else {
          sum += cpu::laneSum(D, [&](int64_t j) {
            const float v = cpu::load(g[j]) * m;
            return v * v;
          });
        }
      }
      const float gNorm = linf ? top : static_cast<float>(std::sqrt(sum));
      const float scale = a.stepSize / cpu::maxNan(gNorm, 1e-8f);
      // Pass 2 (l2 projection only): ||u||_F of the updated delta.
      float factor = 1.f;
      if (rescale) {
        double usum = 0.0;
        for (int64_t t = 0; t < a.l; ++t) {
          const float m = mask[t];
          if (m == 0.f) continue;
          const int64_t off = (n * a.l + t) * D;
          usum += cpu::laneSum(D, [&](int64_t j) {
            const float u = cpu::load(delta[off + j]) + cpu::load(grad[off + j]) * m * scale;
            return u * u;
          });
        }
        const float uNorm = static_cast<float>(std::sqrt(usum));
        if (uNorm > a.epsilon) factor = a.epsilon / std::max(uNorm, 1e-30f);
      }
      // Pass 3: write the projected step; padding is exactly 0.
      const float eps = a.epsilon;
      for (int64_t t = 0; t < a.l; ++t) {
        const float m = mask[t];
        const int64_t off = (n * a.l + t) * D;
        T* o = out + off;
        if (m == 0.f) {
          for (int64_t j = 0; j < D; ++j) o[j] = cpu::store<T>(0.f);
          continue;
        }
        const T* dp = delta + off;
        const T* gp = grad + off;
        if (linf && eps > 0.f) {
          for (int64_t j = 0; j < D; ++j) {
            const float u = cpu::load(dp[j]) + cpu::load(gp[j]) * m * scale;
            o[j] = cpu::store<T>(u < -eps ? -eps : (u > eps ? eps : u));
          }
        } else {
          for (int64_t j = 0; j < D; ++j) o[j] = cpu::store<T>((cpu::load(dp[j]) + cpu::load(gp[j]) * m * scale) * factor);
        }
      }
    }
  });
}

}  // namespace

void ascentStepCpu(const AscentStepArgs& a) {
  cpu::withType(a.dtype, [&](auto tag) { ascentStep<decltype(tag)>(a); });
}

}  // namespace advtrain::kernels
