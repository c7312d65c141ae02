// Copies between JS typed arrays and tensors. Inputs are copied on the JS thread before a worker
// starts; outputs are copied into new typed arrays when the worker has finished.
#pragma once
#include <napi.h>

#include <ATen/ATen.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/batch.h"

namespace advtrain {

// Throws ERR_INVALID_ARG "Expected <expected> for <field> but received <value>" (lib/validate.ts's wording).
[[noreturn]] void badArg(const std::string& field, const std::string& expected, const Napi::Value& received);

// Int32Array of exactly `rows * cols` elements -> int64 CPU tensor [rows, cols] (cols = 0: 1-D);
// anything else (another type, another length) is ERR_INVALID_ARG naming `field`.
at::Tensor int64FromInt32Array(const Napi::Value& v, const std::string& field, int64_t rows, int64_t cols = 0);
at::Tensor floatFromFloat32Array(const Napi::Value& v, const std::string& field, int64_t n);

// A required integer property in [min, 2^31).
int64_t requiredInt(const Napi::Object& o, const char* key, const std::string& field, int64_t min);

// The batch object lib/model/batch.ts builds. TS validates values; sizes and types are checked again
// here (cheap), since every typed array is read as raw memory of the length the sizes imply.
Batch batchFromJs(const Napi::Value& o, const std::string& name = "batch");

// { file, key, dtype, shape, begin, end } as lib/model/safetensors.ts validated it; types checked again.
TensorSource tensorSourceFromJs(const Napi::Value& e, const std::string& name);
std::string requiredString(const Napi::Object& o, const char* key, const std::string& field);

// A float32 contiguous CPU tensor into a new Float32Array.
Napi::Float32Array toFloat32Array(Napi::Env env, const at::Tensor& t);
Napi::Array shapeToJs(Napi::Env env, at::IntArrayRef shape);
std::vector<int64_t> shapeFromJs(const Napi::Array& a);

// Reads an optional property: default when absent or undefined.
bool optBool(const Napi::Object& o, const char* key, bool fallback);
double optNumber(const Napi::Object& o, const char* key, double fallback);
std::string optString(const Napi::Object& o, const char* key, const std::string& fallback);
// An optional string that must be one of `allowed` (ERR_INVALID_ARG naming `field` otherwise).
std::string optEnum(const Napi::Object& o, const char* key, const std::string& fallback, std::initializer_list<const char*> allowed, const std::string& field);

}  // namespace advtrain
