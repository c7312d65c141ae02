#include "binding/errors.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <new>

#include "binding/addon_data.h"
#include "common/error.h"

namespace advtrain {

namespace {

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

ErrorInfo fromC10(const c10::Error& e, const char* code) {
  std::string msg = e.what_without_backtrace();
  // libtorch < 2.0 raises CUDA OOM as a plain c10::Error; CPU allocation failures say "can't allocate".
  if (contains(msg, "CUDA out of memory")) return {kErrCudaOom, msg};
  if (contains(msg, "DefaultCPUAllocator: can't allocate memory") || contains(msg, "not enough memory")) return {kErrOom, msg};
  return {code, msg};
}

}  // namespace

ErrorInfo describeCurrentException() {
  try {
    throw;
  } catch (const Error& e) {
    return {e.code(), e.what()};
  } catch (const c10::OutOfMemoryError& e) {
    return {kErrCudaOom, e.what_without_backtrace()};
  } catch (const c10::IndexError& e) {
    return fromC10(e, kErrInvalidArg);
  } catch (const c10::ValueError& e) {
    return fromC10(e, kErrInvalidArg);
  } catch (const c10::TypeError& e) {
    return fromC10(e, kErrInvalidArg);
  } catch (const c10::Error& e) {
    return fromC10(e, kErrNative);
  } catch (const std::bad_alloc&) {
    return {kErrOom, "out of host memory (std::bad_alloc)"};
  } catch (const std::exception& e) {
    return {kErrNative, e.what()};
  } catch (...) {
    return {kErrNative, "unknown native exception"};
  }
}

Napi::Error makeError(Napi::Env env, const ErrorInfo& info) {
  AddonData& data = addonData(env);
  if (data.errorClass.IsEmpty()) {
    Napi::Error err = Napi::Error::New(env, info.message);
    err.Set("code", Napi::String::New(env, info.code));
    return err;
  }
  Napi::Object obj = data.errorClass.New({Napi::String::New(env, info.message), Napi::String::New(env, info.code)});
  return Napi::Error(env, obj);
}

}  // namespace advtrain
