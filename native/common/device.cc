#include "common/device.h"

#include <malloc.h>

#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "common/error.h"

#ifdef ADVTRAIN_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace advtrain {

at::Device parseDevice(const std::string& spec) { return at::Device(spec == "cuda" ? std::string("cuda:0") : spec); }

namespace {

CpuBf16 detectCpuBf16() {
  CpuBf16 r;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  bool read = false;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    read = true;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) {
      if (w == "avx512_bf16" || w == "amx_bf16") r.flags += (r.flags.empty() ? "" : " ") + w;
    }
    break;  // every core lists the same flags
  }
#if TORCH_VERSION_MAJOR < 2
  (void)read;  // only libtorch 2.x builds ask whether the flags were readable
  r.reason = std::string("this addon is built against libtorch ") + TORCH_VERSION + "; bf16 on the CPU needs libtorch >= 2";
#else
  if (!read) {
    r.reason = "no CPU flags could be read from /proc/cpuinfo (bf16 on the CPU needs avx512_bf16 or amx_bf16)";
  } else if (r.flags.empty()) {
    r.reason = "this CPU has neither avx512_bf16 nor amx_bf16 (in /proc/cpuinfo); without them bf16 is emulated, slower than fp32";
  } else {
    r.available = true;
  }
#endif
  return r;
}

}  // namespace

CpuBf16 cpuBf16() {
  static const CpuBf16 hardware = detectCpuBf16();
  CpuBf16 r = hardware;
#if TORCH_VERSION_MAJOR >= 2
  // Read on every call, so a process (a test) can turn emulation on and off. Emulated bf16 runs libtorch's
  // reference kernels: ~100x slower than fp32, for checking numerics on a CPU without bf16 units.
  const char* e = std::getenv("ADVTRAIN_CPU_BF16");
  if (!r.available && e != nullptr && std::string(e) == "emulate") {
    r.available = true;
    r.emulated = true;
    r.reason.clear();
  }
#endif
  return r;
}

void checkBf16Device(const at::Device& device, const std::string& field) {
  if (!device.is_cpu()) return;
  const CpuBf16 c = cpuBf16();
  if (!c.available) fail(kErrInvalidArg, "Expected " + field + " 'fp32' on the CPU: " + c.reason);
}

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

namespace {
// The CUDA caching allocator's bytes allocated to tensors, peak or current (0 on CPU).
double cudaAllocatedMB(const at::Device& device, bool peak) {
#ifdef ADVTRAIN_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = alloc::getDeviceStats(device.index());
    const auto& stat = stats.allocated_bytes[static_cast<size_t>(StatType::AGGREGATE)];
    return static_cast<double>(peak ? stat.peak : stat.current) / (1024.0 * 1024.0);
  }
#endif
  return 0.0;
}
}  // namespace

double peakMemoryMB(const at::Device& device) { return cudaAllocatedMB(device, true); }

double allocatedMemoryMB(const at::Device& device) { return cudaAllocatedMB(device, false); }

double heapInUseMB() {
  // libtorch's CPU allocator takes its blocks from malloc. mallinfo2 counts the main arena only, and
  // tensors are made on worker threads (arenas of their own), so read malloc_info's totals over all
  // arenas: bytes obtained from the system, less the free chunks, plus the blocks mmapped directly.
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  if (!f) return -1.0;
  const int rc = malloc_info(0, f);
  std::fclose(f);
  const std::string xml = buf ? std::string(buf, len) : std::string();
  std::free(buf);
  if (rc != 0) return -1.0;
  const size_t tail = xml.rfind("</heap>");
  if (tail == std::string::npos) return -1.0;
  auto sizeOf = [&](const std::string& tag) -> double {
    const size_t at = xml.find(tag, tail);
    if (at == std::string::npos) return 0.0;
    const size_t s = xml.find("size=\"", at);
    return s == std::string::npos ? 0.0 : std::strtod(xml.c_str() + s + 6, nullptr);
  };
  const double inUse = sizeOf("<system type=\"current\"") - sizeOf("<total type=\"fast\"") - sizeOf("<total type=\"rest\"") + sizeOf("<total type=\"mmap\"");
  return inUse / (1024.0 * 1024.0);
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
