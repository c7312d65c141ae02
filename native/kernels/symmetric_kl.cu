// The symmetric KL (symmetric_kl.h): forward = a warp per row (maxima and gap, exponential sums, then
// p_a, p_b - p_a, the row's divergence and the backward's sums), then one block for the mean over rows
// (fixed order: deterministic); backward = elementwise over the saved p_a and p_b - p_a.
#include "kernels/cuda_common.cuh"
#include "kernels/symmetric_kl_kernels.h"

namespace advtrain::kernels {

namespace {

using gpu::load;
using gpu::maxNan;

// Each lane owns entries k = lane + 32 i of its row in every pass, so the values it parks in
// pa / diff between passes need no synchronisation.
template <typename T>
__global__ void rowDivergences(SymKlArgs s, SymKlSaved saved) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (r >= s.rows) return;
  const int64_t K = s.classes;
  const T* a = static_cast<const T*>(s.a) + r * K;
  const T* b = static_cast<const T*>(s.b) + r * K;
  float* pa = saved.pa + r * K;
  float* diff = saved.diff + r * K;
  float ma = -INFINITY, mb = -INFINITY, gap = 0.f;
  for (int64_t k = lane; k < K; k += 32) {
    const float x = load(a[k]), y = load(b[k]);
    ma = maxNan(x, ma);
    mb = maxNan(y, mb);
    gap = maxNan(fabsf(y - x), gap);
  }
  ma = gpu::warpReduce(ma, gpu::Max());
  mb = gpu::warpReduce(mb, gpu::Max());
  const bool near = gpu::warpReduce(gap, gpu::Max()) <= 1.f;
  // Near rows: lse(b) - lse(a) = log1p(sum_k p_a,k expm1(b_k - a_k)).
  float sa = 0.f, sb = 0.f, acc = 0.f;
  for (int64_t k = lane; k < K; k += 32) {
    const float x = load(a[k]), y = load(b[k]);
    pa[k] = expf(x - ma);
    sa += pa[k];
    if (near) {
      acc += pa[k] * expm1f(y - x);
    } else {
      diff[k] = expf(y - mb);
      sb += diff[k];
    }
  }
  sa = gpu::warpReduce(sa, gpu::Sum());
  sb = gpu::warpReduce(sb, gpu::Sum());
  acc = gpu::warpReduce(acc, gpu::Sum());
  const float invSa = 1.f / sa, invSb = near ? 0.f : 1.f / sb;
  const float shift = near ? log1pf(acc / sa) : (mb - ma) + (logf(sb) - logf(sa));
  float paD = 0.f, pbD = 0.f, kl = 0.f;
  for (int64_t k = lane; k < K; k += 32) {
    const float x = load(a[k]), y = load(b[k]);
    const float p = pa[k] * invSa, d = (y - x) - shift;
    const float df = near ? p * expm1f(d) : diff[k] * invSb - p;
    pa[k] = p;
    diff[k] = df;
    paD += p * d;
    pbD += (p + df) * d;
    kl += df * d;
  }
  paD = gpu::warpReduce(paD, gpu::Sum());
  pbD = gpu::warpReduce(pbD, gpu::Sum());
  kl = gpu::warpReduce(kl, gpu::Sum());
  if (lane == 0) {
    float* st = saved.rows + r * kSymKlRowStats;
    st[kShift] = shift;
    st[kPaD] = paD;
    st[kPbD] = pbD;
    st[kRowKl] = kl;
  }
}

__global__ void meanOverRows(SymKlArgs s, SymKlSaved saved, float* __restrict__ out) {
  float acc = 0.f;
  for (int64_t r = threadIdx.x; r < s.rows; r += blockDim.x) acc += saved.rows[r * kSymKlRowStats + kRowKl];
  acc = gpu::blockReduce(acc, gpu::Sum(), 0.f);
  if (threadIdx.x == 0) *out = acc / static_cast<float>(s.rows);
}

template <typename T>
__global__ void entryGradients(SymKlArgs s, SymKlSaved saved, const float* __restrict__ gradOut, bool detachEach, T* __restrict__ gradA,
                               T* __restrict__ gradB) {
  const int64_t entries = s.rows * s.classes;
  const float w = *gradOut / static_cast<float>(s.rows);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < entries; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float df = saved.diff[i];
    if (detachEach) {
      if (gradA) gradA[i] = gpu::store<T>(-df * w);
      if (gradB) gradB[i] = gpu::store<T>(df * w);
      continue;
    }
    const float* st = saved.rows + (i / s.classes) * kSymKlRowStats;
    const float p = saved.pa[i];
    const float d = (load(static_cast<const T*>(s.b)[i]) - load(static_cast<const T*>(s.a)[i])) - st[kShift];
    if (gradA) gradA[i] = gpu::store<T>((-df + p * (st[kPaD] - d)) * w);
    if (gradB) gradB[i] = gpu::store<T>((df + (p + df) * (d - st[kPbD])) * w);
  }
}

}  // namespace

const char* symKlForwardCuda(const SymKlArgs& s, const SymKlSaved& saved, float* out, cudaStream_t stream) {
  const unsigned grid = static_cast<unsigned>((s.rows + kWarps - 1) / kWarps);
  gpu::withType(s.dtype, [&](auto tag) { rowDivergences<decltype(tag)><<<grid, kThreads, 0, stream>>>(s, saved); });
  meanOverRows<<<1, kThreads, 0, stream>>>(s, saved, out);
  return gpu::launchError();
}

const char* symKlBackwardCuda(const SymKlArgs& s, const SymKlSaved& saved, const float* gradOut, bool detachEach, void* gradA, void* gradB,
                              cudaStream_t stream) {
  // Grid-stride: enough blocks to fill the GPU, each thread several entries.
  const int64_t blocks = (s.rows * s.classes + kThreads - 1) / kThreads;
  const unsigned grid = static_cast<unsigned>(blocks < 4096 ? blocks : 4096);
  gpu::withType(s.dtype, [&](auto tag) {
    using T = decltype(tag);
    entryGradients<T><<<grid, kThreads, 0, stream>>>(s, saved, gradOut, detachEach, static_cast<T*>(gradA), static_cast<T*>(gradB));
  });
  return gpu::launchError();
}

}  // namespace advtrain::kernels
