// Device helpers of the CUDA kernels: float32 accumulation over float / bfloat16 data, warp and
// block reductions (NaN-propagating max, as at::amax), the launch error as a string.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kernels/common.h"

namespace advtrain::kernels::gpu {

__device__ __forceinline__ float load(float x) { return x; }
__device__ __forceinline__ float load(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T store(float x);
template <>
__device__ __forceinline__ float store<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 store<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);  // round to nearest even, as c10::BFloat16
}

__device__ __forceinline__ float maxNan(float a, float b) { return (a > b || a != a) ? a : b; }

struct Sum {
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};
struct Max {
  __device__ __forceinline__ float operator()(float a, float b) const { return maxNan(a, b); }
};

template <typename Op>
__device__ __forceinline__ float warpReduce(float v, Op op) {
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Reduces one value per thread over a block of kThreads; every thread gets the result. `identity`
// must be neutral for op (0 for sums and for maxima of absolute values).
template <typename Op>
__device__ float blockReduce(float v, Op op, float identity) {
  __shared__ float perWarp[kWarps];
  __shared__ float result;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warpReduce(v, op);
  __syncthreads();  // a previous call's readers are done with perWarp and result
  if (lane == 0) perWarp[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warpReduce(lane < kWarps ? perWarp[lane] : identity, op);
    if (lane == 0) result = v;
  }
  __syncthreads();
  return result;
}

// Selects the CUDA element type of a DType for a templated launch.
template <typename Fn>
inline void withType(DType t, Fn fn) {
  if (t == DType::BFloat16) {
    fn(__nv_bfloat16());
  } else {
    fn(0.f);
  }
}

inline const char* launchError() {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? nullptr : cudaGetErrorString(e);
}

}  // namespace advtrain::kernels::gpu
