// testing.kernelCheck(name, options): runs one fused kernel and its pure-ATen reference on fresh
// random inputs and resolves with their largest differences (test/native/kernels.test.ts).
#pragma once
#include <napi.h>

namespace advtrain {

Napi::Value KernelCheck(const Napi::CallbackInfo& info);

}  // namespace advtrain
