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

// Returns cached CUDA blocks to the driver after a model is disposed.
void releaseCachedMemory();

}  // namespace advtrain
