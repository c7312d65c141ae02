#include "binding/exports.h"

#include "binding/distributed_wrap.h"
#include "binding/model_wrap.h"
#include "binding/trainer_wrap.h"

namespace advtrain {

void registerExports(Napi::Env env, Napi::Object exports) {
  ModelWrap::init(env, exports);
  TrainerWrap::init(env, exports);
  registerDistributed(env, exports);
}

}  // namespace advtrain
