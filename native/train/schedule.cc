#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace advtrain {

double lrFactor(const ScheduleConfig& s, int64_t step) {
  if (step < s.warmupSteps) return static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, s.warmupSteps));
  if (s.name == "constant") return 1.0;
  const double progress = static_cast<double>(step - s.warmupSteps) / static_cast<double>(std::max<int64_t>(1, s.totalSteps - s.warmupSteps));
  if (s.name == "linear") return std::max(0.0, 1.0 - progress);
  // cosine with half a cycle, as get_cosine_schedule_with_warmup's default
  constexpr double kPi = 3.14159265358979323846;
  return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * progress)));
}

}  // namespace advtrain
