// Each exposed class registers itself here; addon.cc calls registerExports once per environment.
#pragma once
#include <napi.h>

namespace advtrain {

void registerExports(Napi::Env env, Napi::Object exports);

}  // namespace advtrain
