#include "train/step_profiler.h"

#include <c10/util/StringUtil.h>
#include <torch/version.h>

#include <cstdlib>

#include "common/error.h"

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/autograd/profiler_kineto.h>
#endif

namespace advtrain {

StepProfiler::StepProfiler(int64_t step) {
  const char* dir = std::getenv("ADVTRAIN_PROFILE_DIR");
  if (!dir || !*dir) return;
#if TORCH_VERSION_MAJOR >= 2
  namespace prof = torch::autograd::profiler;
  using torch::profiler::impl::ActivityType;
  const prof::ProfilerConfig config(prof::ProfilerState::KINETO, /*report_input_shapes=*/true);
  const std::set<ActivityType> activities{ActivityType::CPU};
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
  path_ = c10::str(dir, "/advtrain-step-", step, ".json");
#else
  (void)step;
  fail(kErrInvalidArg, c10::str("ADVTRAIN_PROFILE_DIR needs an addon built on libtorch >= 2 (this one: ", TORCH_VERSION, ")"));
#endif
}

StepProfiler::~StepProfiler() {
#if TORCH_VERSION_MAJOR >= 2
  if (path_.empty()) return;
  // A destructor must not throw: a trace that cannot be written is lost, the step's result is not.
  try {
    torch::autograd::profiler::disableProfiler()->save(path_);
  } catch (...) {
  }
#endif
}

}  // namespace advtrain
