#include <cuda_runtime.h>

#include <cstring>

#include "device_query.h"

namespace advtrain::kernels {

int queryCudaDevices(CudaDeviceProps* out, int max) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error so later calls start clean
    return -1;
  }
  for (int i = 0; i < count && i < max; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) return -1;
    std::strncpy(out[i].name, p.name, sizeof(out[i].name) - 1);
    out[i].name[sizeof(out[i].name) - 1] = '\0';
    out[i].major = p.major;
    out[i].minor = p.minor;
    out[i].totalMemoryMB = static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0);
    out[i].multiprocessors = p.multiProcessorCount;
  }
  return count;
}

}  // namespace advtrain::kernels
