// CUDA device properties without ATen CUDA headers (compiled by nvcc only in CUDA builds).
#pragma once

namespace advtrain::kernels {

struct CudaDeviceProps {
  char name[256];
  int major;
  int minor;
  double totalMemoryMB;
  int multiprocessors;
};

// Fills up to `max` entries; returns the device count, or -1 with no usable driver.
int queryCudaDevices(CudaDeviceProps* out, int max);

}  // namespace advtrain::kernels
