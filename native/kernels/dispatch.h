// ATen side of every kernel family: element type, the token mask as float [N, L], where to run.
// A tensor's device picks the CPU twin or, in CUDA builds (ADVTRAIN_WITH_CUDA), the CUDA launcher
// on the tensor's device and current stream.
#pragma once
#include <ATen/ATen.h>

#include "kernels/common.h"

#ifdef ADVTRAIN_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace advtrain::kernels {

inline DType dtypeOf(const at::Tensor& t) {
  TORCH_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16, "advtrain kernels take float32 or bfloat16 tensors, not ",
              t.scalar_type());
  return t.scalar_type() == at::kBFloat16 ? DType::BFloat16 : DType::Float32;
}

// A [N, L] or [N, L, 1] mask of real tokens as contiguous float32 [N, L] on `device`.
inline at::Tensor floatMask(const at::Tensor& mask, int64_t n, int64_t l, const at::Device& device) {
  TORCH_CHECK(mask.numel() == n * l, "token mask has ", mask.numel(), " entries for ", n, " x ", l, " tokens");
  return mask.detach().to(device, at::kFloat).reshape({n, l}).contiguous();
}

// True for CUDA tensors; a build without the CUDA kernels refuses them.
inline bool onCuda(const at::Tensor& t) {
#ifndef ADVTRAIN_WITH_CUDA
  TORCH_CHECK(!t.is_cuda(), "advtrain was built without its CUDA kernels (ADVTRAIN_CUDA=OFF): rebuild it for ", t.device());
#endif
  return t.is_cuda();
}

inline void checkLaunch(const char* error, const char* kernel) { TORCH_CHECK(error == nullptr, kernel, ": CUDA launch failed: ", error); }

#ifdef ADVTRAIN_WITH_CUDA
// The tensor's device made current, and its current stream (the one ATen queues work on).
struct CudaLaunch {
  explicit CudaLaunch(const at::Tensor& t) : guard(t.device()), stream(c10::cuda::getCurrentCUDAStream(t.get_device()).stream()) {}
  c10::cuda::CUDAGuard guard;
  cudaStream_t stream;
};
#endif

}  // namespace advtrain::kernels
