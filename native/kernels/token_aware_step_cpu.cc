// CPU twin of token_aware_step.cu: one sentence per task; per-token statistics, then the sentence's
// norms, the joint norm and the write, over data that stays in cache between the passes.
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu_common.h"
#include "kernels/token_aware_step_kernels.h"

namespace advtrain::kernels {

namespace {

template <typename T>
void tokenAwareStep(const TokenAwareStepArgs& a) {
  const T* s = static_cast<const T*>(a.sentence);
  const T* gs = static_cast<const T*>(a.sentenceGrad);
  const T* t = static_cast<const T*>(a.token);
  const T* gt = static_cast<const T*>(a.tokenGrad);
  T* sOut = static_cast<T*>(a.sentenceOut);
  T* tOut = static_cast<T*>(a.tokenOut);
  const int64_t E = a.e;
  at::parallel_for(0, a.n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> tokScale(a.l), tokNorm(a.l);
    for (int64_t n = begin; n < end; ++n) {
      const float* mask = a.mask + n * a.l;
      // Per token: the step scale of g_t, the norm of the stepped delta_t; and ||g_s||^2 of the sentence.
      double gsSum = 0.0;
      float tokMax = 0.f;
      for (int64_t i = 0; i < a.l; ++i) {
        const float m = mask[i];
        tokScale[i] = tokNorm[i] = 0.f;
        if (m == 0.f) continue;
        const int64_t off = (n * a.l + i) * E;
        gsSum += cpu::laneSum(E, [&](int64_t j) {
          const float v = cpu::load(gs[off + j]) * m;
          return v * v;
        });
        const float gtNorm = std::sqrt(cpu::laneSum(E, [&](int64_t j) {
          const float v = cpu::load(gt[off + j]) * m;
          return v * v;
        }));
        const float scale = a.stepSize / cpu::maxNan(gtNorm, 1e-8f);
        tokScale[i] = scale;
        tokNorm[i] = std::sqrt(cpu::laneSum(E, [&](int64_t j) {
          const float v = cpu::load(t[off + j]) + cpu::load(gt[off + j]) * m * scale;
          return v * v;
        }));
        tokMax = cpu::maxNan(tokNorm[i], tokMax);
      }
      const float sScale = a.stepSize / cpu::maxNan(static_cast<float>(std::sqrt(gsSum)), 1e-8f);
      const float tokDenom = cpu::maxNan(tokMax, 1e-12f);
      // Joint projection factor from ||s + t||_F.
      float factor = 1.f;
      if (a.epsilon > 0.f) {
        double jointSum = 0.0;
        for (int64_t i = 0; i < a.l; ++i) {
          const float m = mask[i];
          if (m == 0.f) continue;
          const int64_t off = (n * a.l + i) * E;
          const float rel = tokNorm[i] / tokDenom;
          jointSum += cpu::laneSum(E, [&](int64_t j) {
            const float v = cpu::load(s[off + j]) + cpu::load(gs[off + j]) * m * sScale +
                            (cpu::load(t[off + j]) + cpu::load(gt[off + j]) * m * tokScale[i]) * rel;
            return v * v;
          });
        }
        const float joint = static_cast<float>(std::sqrt(jointSum));
        if (joint > a.epsilon) factor = a.epsilon / std::max(joint, 1e-30f);
      }
      for (int64_t i = 0; i < a.l; ++i) {
        const float m = mask[i];
        const int64_t off = (n * a.l + i) * E;
        if (m == 0.f) {
          std::fill(sOut + off, sOut + off + E, cpu::store<T>(0.f));
          std::fill(tOut + off, tOut + off + E, cpu::store<T>(0.f));
          continue;
        }
        const float rel = tokNorm[i] / tokDenom;
        for (int64_t j = 0; j < E; ++j) {
          sOut[off + j] = cpu::store<T>((cpu::load(s[off + j]) + cpu::load(gs[off + j]) * m * sScale) * factor);
          tOut[off + j] = cpu::store<T>((cpu::load(t[off + j]) + cpu::load(gt[off + j]) * m * tokScale[i]) * rel * factor);
        }
      }
    }
  });
}

}  // namespace

void tokenAwareStepCpu(const TokenAwareStepArgs& a) {
  cpu::withType(a.dtype, [&](auto tag) { tokenAwareStep<decltype(tag)>(a); });
}

}  // namespace advtrain::kernels
