// The random generators of training. A trainer draws its dropout masks, noise and random starts from
// generators of its own, installed for the duration of its work on the calling thread, so two trainers
// in one process never disturb each other's randomness or reproducibility. Code outside a trainer
// draws from the device's default generator, as libtorch does.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace advtrain {

class TrainerGenerators {
 public:
  // CPU and (for a CUDA device) device generators seeded with `seed`.
  TrainerGenerators(uint64_t seed, const at::Device& device);
  at::Generator forDevice(const at::Device& device) const;
  const at::Device& device() const { return device_; }

 private:
  at::Device device_;
  at::Generator cpu_;
  at::Generator cuda_;  // undefined on CPU
};

// Makes `generators` this thread's current ones until the scope ends (scopes nest).
class GeneratorScope {
 public:
  explicit GeneratorScope(const TrainerGenerators& generators);
  ~GeneratorScope();
  GeneratorScope(const GeneratorScope&) = delete;
  GeneratorScope& operator=(const GeneratorScope&) = delete;

 private:
  const TrainerGenerators* previous_;
};

// The current trainer's generator for `device`, or the device's default generator outside a trainer
// (or for a device the trainer does not use).
at::Generator generatorFor(const at::Device& device);

}  // namespace advtrain
