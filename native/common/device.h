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

// Returns cached CUDA blocks to the driver after a model is disposed.
void releaseCachedMemory();

}  // namespace advtrain
