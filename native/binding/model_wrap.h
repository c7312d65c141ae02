// The JS `Model` class: a handle on a native TransformerModel. Trainers share the handle and its busy flag.
#pragma once
#include <napi.h>

#include <memory>

#include "binding/worker.h"
#include "model/transformer.h"

namespace advtrain {

struct ModelHandle {
  std::unique_ptr<TransformerModel> model;
  BusyFlag busy{"Model"};
  // Set by Model.dispose(); the weights are freed once no trainer holds the handle either.
  std::atomic<bool> disposed{false};
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  explicit ModelWrap(const Napi::CallbackInfo& info);

  // The live handle, or ERR_DISPOSED naming the refused operation.
  std::shared_ptr<ModelHandle> live(const char* op) const;
  static ModelWrap* unwrap(const Napi::Value& v);

 private:
  static Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value Aliases(const Napi::CallbackInfo& info);
  Napi::Value NumParameters(const Napi::CallbackInfo& info);
  Napi::Value LoadTensors(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Attack(const Napi::CallbackInfo& info);
  Napi::Value WordEmbeddings(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value EnableSlimming(const Napi::CallbackInfo& info);
  Napi::Value SlimmingCoefficients(const Napi::CallbackInfo& info);
  Napi::Value SetSlimmingCoefficients(const Napi::CallbackInfo& info);
  Napi::Value Prune(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  std::shared_ptr<ModelHandle> handle_;
};

ModelConfig modelConfigFromJs(const Napi::Object& o);

}  // namespace advtrain
