// The fused ascent step and projection (ascent_step.h) in one launch per reduction pass. Each example
// is split over B = ascentStepBlocks(L) blocks of whole tokens; a pass writes one partial per block
// and the next pass reduces the B partials of its example, in a fixed order (deterministic):
//   1. partial ||g*mask|| (sum of squares, or max abs);
//   2. (l2 with epsilon > 0) partial ||u||^2 of u = delta + stepSize * g / max(||g||, 1e-8);
//   3. out = u rescaled (l2) or clamped (linf); padding 0.
#include "kernels/ascent_step_kernels.h"
#include "kernels/cuda_common.cuh"

namespace advtrain::kernels {

namespace {

using gpu::load;
using gpu::maxNan;

// Reduces the B partials of example n (warp 0), for the whole block: the l2 norm or the max.
__device__ float examplePartials(const float* partial, int64_t n, int64_t B, bool linf, float* slot) {
  if (threadIdx.x < 32) {
    float v = 0.f;
    for (int64_t i = threadIdx.x; i < B; i += 32) v = linf ? maxNan(v, partial[n * B + i]) : v + partial[n * B + i];
    v = linf ? gpu::warpReduce(v, gpu::Max()) : gpu::warpReduce(v, gpu::Sum());
    if (threadIdx.x == 0) *slot = linf ? v : sqrtf(v);
  }
  __syncthreads();
  return *slot;
}

template <typename T>
__global__ void gradNormPartials(const T* __restrict__ grad, const float* __restrict__ mask, int64_t L, int64_t D, int64_t B, bool linf,
                                 float* __restrict__ partial) {
  const int64_t n = blockIdx.x / B, b = blockIdx.x % B;
  float acc = 0.f;
  for (int64_t t = b; t < L; t += B) {
    const float m = mask[n * L + t];
    if (m == 0.f) continue;
    const T* g = grad + (n * L + t) * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const float v = load(g[j]) * m;
      acc = linf ? maxNan(fabsf(v), acc) : acc + v * v;
    }
  }
  acc = linf ? gpu::blockReduce(acc, gpu::Max(), 0.f) : gpu::blockReduce(acc, gpu::Sum(), 0.f);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

template <typename T>
__global__ void stepNormPartials(const T* __restrict__ delta, const T* __restrict__ grad, const float* __restrict__ mask, int64_t L, int64_t D,
                                 int64_t B, float stepSize, const float* __restrict__ gradPartial, float* __restrict__ stepPartial) {
  __shared__ float gNorm;
  const int64_t n = blockIdx.x / B, b = blockIdx.x % B;
  const float scale = stepSize / maxNan(examplePartials(gradPartial, n, B, false, &gNorm), 1e-8f);
  float acc = 0.f;
  for (int64_t t = b; t < L; t += B) {
    const float m = mask[n * L + t];
    if (m == 0.f) continue;
    const int64_t off = (n * L + t) * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      const float u = load(delta[off + j]) + load(grad[off + j]) * m * scale;
      acc += u * u;
    }
  }
  acc = gpu::blockReduce(acc, gpu::Sum(), 0.f);
  if (threadIdx.x == 0) stepPartial[blockIdx.x] = acc;
}

template <typename T>
__global__ void applyStep(const T* __restrict__ delta, const T* __restrict__ grad, const float* __restrict__ mask, T* __restrict__ out, int64_t L,
                          int64_t D, int64_t B, float stepSize, float epsilon, bool linf, const float* __restrict__ gradPartial,
                          const float* __restrict__ stepPartial) {
  __shared__ float gNorm, uNorm;
  const int64_t n = blockIdx.x / B, b = blockIdx.x % B;
  const float scale = stepSize / maxNan(examplePartials(gradPartial, n, B, linf, &gNorm), 1e-8f);
  float factor = 1.f;
  if (stepPartial) {
    const float u = examplePartials(stepPartial, n, B, false, &uNorm);
    if (u > epsilon) factor = epsilon / fmaxf(u, 1e-30f);
  }
  const bool clamp = linf && epsilon > 0.f;
  for (int64_t t = b; t < L; t += B) {
    const float m = mask[n * L + t];
    const int64_t off = (n * L + t) * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) {
      float u = 0.f;
      if (m != 0.f) {
        u = load(delta[off + j]) + load(grad[off + j]) * m * scale;
        u = clamp ? (u < -epsilon ? -epsilon : (u > epsilon ? epsilon : u)) : u * factor;
      }
      out[off + j] = gpu::store<T>(u);
    }
  }
}

}  // namespace

const char* ascentStepCuda(const AscentStepArgs& a, float* workspace, cudaStream_t stream) {
  const int64_t B = ascentStepBlocks(a.l);
  const unsigned grid = static_cast<unsigned>(a.n * B);
  const bool linf = a.norm == Norm::Linf;
  float* gradPartial = workspace;
  float* stepPartial = !linf && a.epsilon > 0.f ? workspace + a.n * B : nullptr;
  gpu::withType(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* delta = static_cast<const T*>(a.delta);
    const T* grad = static_cast<const T*>(a.grad);
    gradNormPartials<T><<<grid, kThreads, 0, stream>>>(grad, a.mask, a.l, a.d, B, linf, gradPartial);
    if (stepPartial) stepNormPartials<T><<<grid, kThreads, 0, stream>>>(delta, grad, a.mask, a.l, a.d, B, a.stepSize, gradPartial, stepPartial);
    applyStep<T><<<grid, kThreads, 0, stream>>>(delta, grad, a.mask, static_cast<T*>(a.out), a.l, a.d, B, a.stepSize, a.epsilon, linf, gradPartial,
                                                stepPartial);
  });
  return gpu::launchError();
}

}  // namespace advtrain::kernels
