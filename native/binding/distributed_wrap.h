// The process group's JS surface: distributed.init / barrier / allGather / shutdown (lib/distributed).
#pragma once
#include <napi.h>

namespace advtrain {

void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace advtrain
