#include "common/device.h"

#ifdef ADVTRAIN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/version.h>
#endif

namespace advtrain {

at::Device parseDevice(const std::string& spec) { return at::Device(spec == "cuda" ? std::string("cuda:0") : spec); }

void synchronize(const at::Device& device) {
#ifdef ADVTRAIN_WITH_CUDA
  if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
}

#ifdef ADVTRAIN_WITH_CUDA
namespace {
namespace alloc = c10::cuda::CUDACachingAllocator;
// The allocator's statistics types moved to c10/core (c10::CachingAllocator) for every device allocator;
// libtorch before 2.6 declares them in the CUDA allocator's namespace.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6)
using StatType = c10::CachingAllocator::StatType;
#else
using StatType = alloc::StatType;
#endif
}  // namespace
#endif

double peakMemoryMB(const at::Device& device) {
#ifdef ADVTRAIN_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = alloc::getDeviceStats(device.index());
    return static_cast<double>(stats.allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)].peak) / (1024.0 * 1024.0);
  }
#endif
  return 0.0;
}

void resetPeakMemory(const at::Device& device) {
#ifdef ADVTRAIN_WITH_CUDA
  if (device.is_cuda()) alloc::resetPeakStats(device.index());
#endif
}

void releaseCachedMemory() {
#ifdef ADVTRAIN_WITH_CUDA
  if (at::hasCUDA()) alloc::emptyCache();
#endif
}

}  // namespace advtrain
