// Device helpers shared by models, trainers and diagnostics.
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace advtrain {

// `spec` was validated in TypeScript ("cpu", "cuda" or "cuda:N").
at::Device parseDevice(const std::string& spec);

// Waits for queued device work (no-op on CPU); used only where timing or memory figures need it.
void synchronize(const at::Device& device);

// Peak bytes allocated on a CUDA device since the last reset, or 0 on CPU.
double peakMemoryMB(const at::Device& device);
void resetPeakMemory(const at::Device& device);
// Bytes the CUDA caching allocator holds for tensors now, or 0 on CPU.
double allocatedMemoryMB(const at::Device& device);
// Bytes malloc has handed out and not taken back (libtorch's CPU tensors among them).
double heapInUseMB();

// Whether precision 'bf16' may run on the CPU: libtorch >= 2 (oneDNN's bf16 matmuls) and a CPU listing
// avx512_bf16 or amx_bf16 in /proc/cpuinfo (without them bf16 is emulated, slower than fp32), or
// ADVTRAIN_CPU_BF16=emulate in the environment on libtorch >= 2 (emulated: for checking numerics).
struct CpuBf16 {
  bool available = false;
  bool emulated = false;  // available through ADVTRAIN_CPU_BF16=emulate, not the CPU's flags
  std::string flags;      // the bf16 flags found, space-separated ("" for none)
  std::string reason;     // why not, when unavailable
};
CpuBf16 cpuBf16();

// Throws ERR_INVALID_ARG naming `field` when bf16 is asked for on a CPU that cannot run it.
void checkBf16Device(const at::Device& device, const std::string& field);

// Returns cached CUDA blocks to the driver after a model is disposed.
void releaseCachedMemory();

}  // namespace advtrain
