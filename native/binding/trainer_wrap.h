// The JS `NativeTrainer` class: a native Trainer bound to a model handle.
#pragma once
#include <napi.h>

#include <memory>

#include "binding/model_wrap.h"
#include "binding/worker.h"
#include "train/trainer.h"

namespace advtrain {

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  explicit TrainerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value SaveState(const Napi::CallbackInfo& info);
  Napi::Value LoadState(const Napi::CallbackInfo& info);
  Napi::Value Lr(const Napi::CallbackInfo& info);
  Napi::Value LastPerturbation(const Napi::CallbackInfo& info);
  Napi::Value StepCount(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value SetNextRandomDraws(const Napi::CallbackInfo& info);

  struct State {
    std::shared_ptr<ModelHandle> model;
    std::unique_ptr<Trainer> trainer;
    RandomDraws nextDraws;  // test hook: consumed by the next step()
  };
  std::shared_ptr<State> live(const char* op) const;
  std::shared_ptr<State> state_;
};

TrainerConfig trainerConfigFromJs(const Napi::Object& o);

}  // namespace advtrain
