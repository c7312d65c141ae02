// Copies between JS typed arrays and tensors. Inputs are copied on the JS thread before a worker
// starts; outputs are copied into new typed arrays when the worker has finished.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/batch.h"

namespace advtrain {

// Int32Array of `rows * cols` elements -> int64 CPU tensor [rows, cols] (cols = 0: 1-D).
at::Tensor int64FromInt32Array(const Napi::Value& v, int64_t rows, int64_t cols = 0);
at::Tensor floatFromFloat32Array(const Napi::Value& v, int64_t n);

// The batch object lib/model/batch.ts builds (already validated): typed arrays plus sizes.
Batch batchFromJs(const Napi::Object& o);

// { file, key, dtype, shape, begin, end } as lib/model/safetensors.ts validated it.
TensorSource tensorSourceFromJs(const Napi::Object& e);

// A float32 contiguous CPU tensor into a new Float32Array.
Napi::Float32Array toFloat32Array(Napi::Env env, const at::Tensor& t);
Napi::Array shapeToJs(Napi::Env env, at::IntArrayRef shape);
std::vector<int64_t> shapeFromJs(const Napi::Array& a);

// Reads an optional property: default when absent or undefined.
bool optBool(const Napi::Object& o, const char* key, bool fallback);
double optNumber(const Napi::Object& o, const char* key, double fallback);
std::string optString(const Napi::Object& o, const char* key, const std::string& fallback);

}  // namespace advtrain
