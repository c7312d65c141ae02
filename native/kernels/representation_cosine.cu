// CreAT's representation cosine (representation_cosine.h): forward = a warp per used token (dot
// products, cosine and the backward's coefficients), then one block for the per-example means and the
// batch mean (fixed order: deterministic); backward = a warp per used token writing dc/dy times its weight.
#include "kernels/cuda_common.cuh"
#include "kernels/representation_cosine_kernels.h"

namespace advtrain::kernels {

namespace {

using gpu::load;

constexpr float kEps = 1e-8f;

template <typename T>
__global__ void tokenCosines(CosineArgs a, float* __restrict__ stats) {
  const int64_t tokens = cosineTokens(a), perExample = a.cls ? 1 : a.l;
  const int64_t k = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (k >= tokens) return;
  const int64_t n = k / perExample, t = k % perExample;
  float xx = 0.f, yy = 0.f, xy = 0.f;
  if (a.cls || a.mask[n * a.l + t] != 0.f) {  // weight 0: no value, no gradient
    const T* x = static_cast<const T*>(a.anchor) + (n * a.l + t) * a.h;
    const T* y = static_cast<const T*>(a.perturbed) + (n * a.l + t) * a.h;
    for (int64_t j = lane; j < a.h; j += 32) {
      const float u = load(x[j]), v = load(y[j]);
      xx += u * u;
      yy += v * v;
      xy += u * v;
    }
    xx = gpu::warpReduce(xx, gpu::Sum());
    yy = gpu::warpReduce(yy, gpu::Sum());
    xy = gpu::warpReduce(xy, gpu::Sum());
  }
  if (lane != 0) return;
  float cosine = 0.f, coefX = 0.f, coefY = 0.f;
  if (a.cls || a.mask[n * a.l + t] != 0.f) {
    const float nyc = fmaxf(sqrtf(yy), kEps);
    const float den = fmaxf(sqrtf(xx), kEps) * nyc;
    cosine = xy / den;
    coefX = 1.f / den;
    coefY = cosine / (nyc * nyc);
  }
  stats[k] = cosine;
  stats[tokens + k] = coefX;
  stats[2 * tokens + k] = coefY;
}

// One block: per-example means over real tokens (or the first token) and their batch mean.
__global__ void batchMean(CosineArgs a, float* __restrict__ stats, float* __restrict__ out) {
  const int64_t tokens = cosineTokens(a);
  const float* cosine = stats;
  float* weight = stats + 3 * tokens;
  float acc = 0.f;
  for (int64_t n = threadIdx.x; n < a.n; n += blockDim.x) {
    if (a.cls) {
      weight[n] = 1.f / static_cast<float>(a.n);
      acc += cosine[n];
      continue;
    }
    float sum = 0.f, count = 0.f;
    for (int64_t t = 0; t < a.l; ++t) {
      sum += cosine[n * a.l + t] * a.mask[n * a.l + t];
      count += a.mask[n * a.l + t];
    }
    const float denom = fmaxf(count, 1.f);
    weight[n] = 1.f / (denom * static_cast<float>(a.n));
    acc += sum / denom;
  }
  acc = gpu::blockReduce(acc, gpu::Sum(), 0.f);
  if (threadIdx.x == 0) *out = acc / static_cast<float>(a.n);
}

template <typename T>
__global__ void cosineGrad(CosineArgs a, const float* __restrict__ stats, const float* __restrict__ gradOut, T* __restrict__ gy) {
  const int64_t tokens = cosineTokens(a), perExample = a.cls ? 1 : a.l;
  const int64_t k = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (k >= tokens) return;
  const int64_t n = k / perExample, row = n * a.l + k % perExample;
  const float w = (a.cls ? 1.f : a.mask[row]) * stats[3 * tokens + n] * *gradOut;
  T* out = gy + row * a.h;
  if (w == 0.f) {
    for (int64_t j = lane; j < a.h; j += 32) out[j] = gpu::store<T>(0.f);
    return;
  }
  const float cx = w * stats[tokens + k], cy = w * stats[2 * tokens + k];
  const T* x = static_cast<const T*>(a.anchor) + row * a.h;
  const T* y = static_cast<const T*>(a.perturbed) + row * a.h;
  for (int64_t j = lane; j < a.h; j += 32) out[j] = gpu::store<T>(cx * load(x[j]) - cy * load(y[j]));
}

unsigned warpBlocks(int64_t items) { return static_cast<unsigned>((items + kWarps - 1) / kWarps); }

}  // namespace

const char* cosineForwardCuda(const CosineArgs& a, float* stats, float* out, cudaStream_t stream) {
  gpu::withType(a.dtype, [&](auto tag) {
    tokenCosines<decltype(tag)><<<warpBlocks(cosineTokens(a)), kThreads, 0, stream>>>(a, stats);
    batchMean<<<1, kThreads, 0, stream>>>(a, stats, out);
  });
  return gpu::launchError();
}

const char* cosineBackwardCuda(const CosineArgs& a, const float* stats, const float* gradOut, void* gradPerturbed, cudaStream_t stream) {
  gpu::withType(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    cosineGrad<T><<<warpBlocks(cosineTokens(a)), kThreads, 0, stream>>>(a, stats, gradOut, static_cast<T*>(gradPerturbed));
  });
  return gpu::launchError();
}

}  // namespace advtrain::kernels
