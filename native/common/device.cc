#include "common/device.h"

#ifdef ADVTRAIN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
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
}
#endif

double peakMemoryMB(const at::Device& device) {
#ifdef ADVTRAIN_WITH_CUDA
  if (device.is_cuda()) {
    auto stats = alloc::getDeviceStats(device.index());
    return static_cast<double>(stats.allocated_bytes[static_cast<size_t>(alloc::StatType::AGGREGATE)].peak) / (1024.0 * 1024.0);
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
