// Per-environment state (main thread and each worker thread get their own): no static JS handles.
#pragma once
#include <napi.h>

namespace advtrain {

struct AddonData {
  Napi::FunctionReference errorClass;  // AdvtrainError, handed over by lib/binding.ts
  Napi::FunctionReference modelClass;
  Napi::FunctionReference trainerClass;
};

AddonData& addonData(Napi::Env env);

}  // namespace advtrain
