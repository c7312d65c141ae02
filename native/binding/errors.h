// The one place where C++ and c10 exceptions become JS AdvtrainError objects.
#pragma once
#include <napi.h>

#include <string>

namespace advtrain {

struct ErrorInfo {
  std::string code;
  std::string message;
};

// Call inside a catch block: classifies the in-flight exception (c10 OOM -> ERR_CUDA_OOM, ...).
ErrorInfo describeCurrentException();

// Builds `new AdvtrainError(message, code)` with the class registered by lib/binding.ts.
Napi::Error makeError(Napi::Env env, const ErrorInfo& info);

// Runs fn on the JS thread and rethrows any C++ exception as an AdvtrainError.
template <typename Fn>
auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeError(env, describeCurrentException());
  }
}

}  // namespace advtrain
