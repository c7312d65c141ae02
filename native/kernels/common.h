// Plain declarations shared by every kernel family, its CUDA launcher, its CPU twin and its dispatch:
// no ATen and no CUDA headers, so CI compiles the .cu files with nvcc where libtorch has no CUDA.
#pragma once
#include <cstdint>

struct CUstream_st;
typedef CUstream_st* cudaStream_t;  // as the CUDA runtime declares it, without its headers

namespace advtrain {

// Per-example (or per-token) norm of the embedding-space methods: l2 (Frobenius) or l-inf (max abs).
enum class Norm { L2, Linf };

namespace kernels {

// Element types the kernels read and write; they accumulate in float32 either way.
enum class DType { Float32, BFloat16 };

// Threads per CUDA block in every family (8 warps: the warp-per-token kernels handle 8 tokens a block).
constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

}  // namespace kernels
}  // namespace advtrain
