// Learning-rate schedules as transformers' get_*_schedule_with_warmup: the factor for optimizer step t
// (0-based; the first step of a warmup uses factor 0, as LambdaLR does).
#pragma once
#include <cstdint>
#include <string>

namespace advtrain {

struct ScheduleConfig {
  std::string name = "constant";  // "linear" | "cosine" | "constant"
  int64_t warmupSteps = 0;
  int64_t totalSteps = 0;  // linear/cosine decay to 0 at totalSteps
};

double lrFactor(const ScheduleConfig& s, int64_t step);

}  // namespace advtrain
