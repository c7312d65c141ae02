#include "binding/exports.h"

namespace advtrain {

void registerExports(Napi::Env env, Napi::Object exports) {}

}  // namespace advtrain
