#pragma once
// Optional per-step operator profile (issue #18's breakdown): with ADVTRAIN_PROFILE_DIR set, each
// Trainer step runs under libtorch's Kineto CPU profiler and its trace is written as
// <dir>/advtrain-step-<n>.json, the Chrome trace format torch.profiler writes for the Python loops, so
// bench/profile.ts reads both sides the same way. libtorch >= 2 only (1.13's profiler API differs).
#include <cstdint>
#include <string>

namespace advtrain {

class StepProfiler {
 public:
  // Starts profiling the calling thread when ADVTRAIN_PROFILE_DIR is set (the step runs on that thread,
  // backward included on the CPU); does nothing otherwise.
  explicit StepProfiler(int64_t step);
  ~StepProfiler();
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

 private:
  std::string path_;
};

}  // namespace advtrain
