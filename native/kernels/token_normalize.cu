// SMART's per-token normalised step (token_normalize.h): a warp per token; one launch.
#include "kernels/cuda_common.cuh"
#include "kernels/token_normalize_kernels.h"

namespace advtrain::kernels {

namespace {

using gpu::load;

template <typename T>
__global__ void normalizeTokens(TokenNormalizeArgs a) {
  const int64_t k = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (k >= a.tokens) return;
  const T* x = static_cast<const T*>(a.xi) + k * a.d;
  const T* g = static_cast<const T*>(a.grad) + k * a.d;
  T* out = static_cast<T*>(a.out) + k * a.d;
  const bool linf = a.norm == Norm::Linf;
  bool ok = true;
  float r = 0.f;
  for (int64_t j = lane; j < a.d; j += 32) {
    const float gj = load(g[j]);
    ok = ok && isfinite(gj);
    const float v = load(x[j]) + a.stepSize * gj;
    r = linf ? gpu::maxNan(fabsf(v), r) : r + v * v;
  }
  if (__any_sync(0xffffffffu, !ok) && lane == 0) *a.finite = 0.f;  // every writer stores the same 0
  const float m = a.mask[k];
  r = linf ? gpu::warpReduce(r, gpu::Max()) : sqrtf(gpu::warpReduce(r, gpu::Sum()));
  const float denom = r + a.eps;
  for (int64_t j = lane; j < a.d; j += 32) {
    const float v = m == 0.f ? 0.f : (load(x[j]) + a.stepSize * load(g[j])) / denom * m;
    out[j] = gpu::store<T>(isfinite(v) ? v : 0.f);
  }
}

}  // namespace

const char* tokenNormalizeCuda(const TokenNormalizeArgs& a, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>((a.tokens + kWarps - 1) / kWarps);
  gpu::withType(a.dtype, [&](auto tag) { normalizeTokens<decltype(tag)><<<grid, kThreads, 0, stream>>>(a); });
  return gpu::launchError();
}

}  // namespace advtrain::kernels
