#include "common/rng.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

namespace advtrain {

namespace {
thread_local const TrainerGenerators* current = nullptr;
}  // namespace

TrainerGenerators::TrainerGenerators(uint64_t seed, const at::Device& device)
    : device_(device), cpu_(at::make_generator<at::CPUGeneratorImpl>(seed)) {
  if (device.is_cuda()) {
    // A clone of the device's default generator is a fresh one of the right kind without CUDA headers.
    at::Generator def = at::globalContext().defaultGenerator(device);
    {
      std::lock_guard<std::mutex> lock(def.mutex());
      cuda_ = def.clone();
    }
    std::lock_guard<std::mutex> lock(cuda_.mutex());
    cuda_.set_current_seed(seed);
  }
}

at::Generator TrainerGenerators::forDevice(const at::Device& device) const {
  if (device.is_cpu()) return cpu_;
  if (cuda_.defined() && device.type() == device_.type() && (!device.has_index() || device.index() == device_.index())) return cuda_;
  return at::globalContext().defaultGenerator(device);
}

GeneratorScope::GeneratorScope(const TrainerGenerators& generators) : previous_(current) { current = &generators; }

GeneratorScope::~GeneratorScope() { current = previous_; }

at::Generator generatorFor(const at::Device& device) {
  if (current) return current->forDevice(device);
  return at::globalContext().defaultGenerator(device);
}

}  // namespace advtrain
