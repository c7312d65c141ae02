// TextAT's step (token_aware_step.h): a warp per token, blocks of kWarps tokens of one sentence.
//   1. per token: scale of the g_t step, ||t_i|| of the stepped delta_t, ||g_s||^2 over the token;
//   2. (epsilon > 0) per token: ||s + t||^2 after the sentence step and the token-level normalisation;
//   3. write s and t, scaled by the joint projection; padding 0.
// Passes 2 and 3 first reduce their sentence's per-token values (fixed order: deterministic).
#include "kernels/cuda_common.cuh"
#include "kernels/token_aware_step_kernels.h"

namespace advtrain::kernels {

namespace {

using gpu::load;
using gpu::maxNan;

// Workspace rows, each [N * L].
struct Stats {
  float* tokScale;  // stepSize / max(||g_t,i||, 1e-8)
  float* tokNorm;   // ||t_i|| after the step
  float* gsSq;      // sum over the token of (g_s * m)^2
  float* jointSq;   // sum over the token of (s + t)^2
};

template <typename T>
__global__ void tokenStats(TokenAwareStepArgs a, Stats st, int64_t blocksPerSentence) {
  const int64_t n = blockIdx.x / blocksPerSentence;
  const int64_t i = (blockIdx.x % blocksPerSentence) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (i >= a.l) return;
  const int64_t tok = n * a.l + i;
  const float m = a.mask[tok];
  if (m == 0.f) {
    if (lane == 0) st.tokScale[tok] = st.tokNorm[tok] = st.gsSq[tok] = 0.f;
    return;
  }
  const T* t = static_cast<const T*>(a.token) + tok * a.e;
  const T* gt = static_cast<const T*>(a.tokenGrad) + tok * a.e;
  const T* gs = static_cast<const T*>(a.sentenceGrad) + tok * a.e;
  float gtSq = 0.f, gsAcc = 0.f;
  for (int64_t j = lane; j < a.e; j += 32) {
    const float v = load(gt[j]) * m, w = load(gs[j]) * m;
    gtSq += v * v;
    gsAcc += w * w;
  }
  const float scale = a.stepSize / maxNan(sqrtf(gpu::warpReduce(gtSq, gpu::Sum())), 1e-8f);
  float tSq = 0.f;
  for (int64_t j = lane; j < a.e; j += 32) {
    const float v = load(t[j]) + load(gt[j]) * m * scale;
    tSq += v * v;
  }
  tSq = gpu::warpReduce(tSq, gpu::Sum());
  gsAcc = gpu::warpReduce(gsAcc, gpu::Sum());
  if (lane == 0) {
    st.tokScale[tok] = scale;
    st.tokNorm[tok] = sqrtf(tSq);
    st.gsSq[tok] = gsAcc;
  }
}

struct SentenceScales {
  float sentence;  // stepSize / max(||g_s||_F, 1e-8)
  float tokDenom;  // max(max_j ||t_j||, 1e-12)
  float factor;    // joint projection
};

// Every thread of the block calls it (block reductions over the sentence's L tokens).
__device__ SentenceScales sentenceScales(const TokenAwareStepArgs& a, const Stats& st, int64_t n, bool joint) {
  float gsAcc = 0.f, tokMax = 0.f, jointAcc = 0.f;
  for (int64_t i = threadIdx.x; i < a.l; i += blockDim.x) {
    gsAcc += st.gsSq[n * a.l + i];
    tokMax = maxNan(st.tokNorm[n * a.l + i], tokMax);
    if (joint) jointAcc += st.jointSq[n * a.l + i];
  }
  SentenceScales out;
  out.sentence = a.stepSize / maxNan(sqrtf(gpu::blockReduce(gsAcc, gpu::Sum(), 0.f)), 1e-8f);
  out.tokDenom = maxNan(gpu::blockReduce(tokMax, gpu::Max(), 0.f), 1e-12f);
  out.factor = 1.f;
  if (joint) {
    const float norm = sqrtf(gpu::blockReduce(jointAcc, gpu::Sum(), 0.f));
    if (norm > a.epsilon) out.factor = a.epsilon / fmaxf(norm, 1e-30f);
  }
  return out;
}

template <typename T>
__global__ void jointNorms(TokenAwareStepArgs a, Stats st, int64_t blocksPerSentence) {
  const int64_t n = blockIdx.x / blocksPerSentence;
  const SentenceScales sc = sentenceScales(a, st, n, false);
  const int64_t i = (blockIdx.x % blocksPerSentence) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (i >= a.l) return;
  const int64_t tok = n * a.l + i;
  const float m = a.mask[tok];
  float acc = 0.f;
  if (m != 0.f) {
    const int64_t off = tok * a.e;
    const T* s = static_cast<const T*>(a.sentence) + off;
    const T* gs = static_cast<const T*>(a.sentenceGrad) + off;
    const T* t = static_cast<const T*>(a.token) + off;
    const T* gt = static_cast<const T*>(a.tokenGrad) + off;
    const float tokScale = st.tokScale[tok], rel = st.tokNorm[tok] / sc.tokDenom;
    for (int64_t j = lane; j < a.e; j += 32) {
      const float v = load(s[j]) + load(gs[j]) * m * sc.sentence + (load(t[j]) + load(gt[j]) * m * tokScale) * rel;
      acc += v * v;
    }
  }
  acc = gpu::warpReduce(acc, gpu::Sum());
  if (lane == 0) st.jointSq[tok] = acc;
}

template <typename T>
__global__ void writeStep(TokenAwareStepArgs a, Stats st, int64_t blocksPerSentence) {
  const int64_t n = blockIdx.x / blocksPerSentence;
  const SentenceScales sc = sentenceScales(a, st, n, a.epsilon > 0.f);
  const int64_t i = (blockIdx.x % blocksPerSentence) * kWarps + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  if (i >= a.l) return;
  const int64_t tok = n * a.l + i;
  const int64_t off = tok * a.e;
  const float m = a.mask[tok];
  T* sOut = static_cast<T*>(a.sentenceOut) + off;
  T* tOut = static_cast<T*>(a.tokenOut) + off;
  if (m == 0.f) {
    for (int64_t j = lane; j < a.e; j += 32) sOut[j] = tOut[j] = gpu::store<T>(0.f);
    return;
  }
  const T* s = static_cast<const T*>(a.sentence) + off;
  const T* gs = static_cast<const T*>(a.sentenceGrad) + off;
  const T* t = static_cast<const T*>(a.token) + off;
  const T* gt = static_cast<const T*>(a.tokenGrad) + off;
  const float tokScale = st.tokScale[tok], rel = st.tokNorm[tok] / sc.tokDenom;
  for (int64_t j = lane; j < a.e; j += 32) {
    sOut[j] = gpu::store<T>((load(s[j]) + load(gs[j]) * m * sc.sentence) * sc.factor);
    tOut[j] = gpu::store<T>((load(t[j]) + load(gt[j]) * m * tokScale) * rel * sc.factor);
  }
}

}  // namespace

const char* tokenAwareStepCuda(const TokenAwareStepArgs& a, float* workspace, cudaStream_t stream) {
  const int64_t tokens = a.n * a.l;
  const Stats st{workspace, workspace + tokens, workspace + 2 * tokens, workspace + 3 * tokens};
  const int64_t blocksPerSentence = (a.l + kWarps - 1) / kWarps;
  const unsigned grid = static_cast<unsigned>(a.n * blocksPerSentence);
  gpu::withType(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    tokenStats<T><<<grid, kThreads, 0, stream>>>(a, st, blocksPerSentence);
    if (a.epsilon > 0.f) jointNorms<T><<<grid, kThreads, 0, stream>>>(a, st, blocksPerSentence);
    writeStep<T><<<grid, kThreads, 0, stream>>>(a, st, blocksPerSentence);
  });
  return gpu::launchError();
}

}  // namespace advtrain::kernels
