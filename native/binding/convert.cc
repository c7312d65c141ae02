#include "binding/convert.h"

#include <c10/util/StringUtil.h>

#include <cmath>
#include <cstring>

#include "common/error.h"

namespace advtrain {

namespace {

// "'x' of type string", "Int32Array of length 3", ... for messages in the style of lib/validate.ts.
std::string describe(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    const napi_typedarray_type t = v.As<Napi::TypedArray>().TypedArrayType();
    const char* kind = t == napi_int32_array ? "Int32Array" : t == napi_float32_array ? "Float32Array" : "typed array";
    return std::string(kind) + " of length " + std::to_string(v.As<Napi::TypedArray>().ElementLength());
  }
  if (v.IsString()) return "'" + v.As<Napi::String>().Utf8Value() + "' of type string";
  if (v.IsNumber()) return c10::str(v.As<Napi::Number>().DoubleValue()) + " of type number";
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsArray()) return "an array";
  return "an object";
}

void checkTyped(const Napi::Value& v, napi_typedarray_type type, const char* kind, const std::string& field, int64_t n) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type || static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()) != n) {
    badArg(field, std::string("an ") + kind + " of length " + std::to_string(n), v);
  }
}

}  // namespace

void badArg(const std::string& field, const std::string& expected, const Napi::Value& received) {
  fail(kErrInvalidArg, "Expected " + expected + " for " + field + " but received " + describe(received));
}

at::Tensor int64FromInt32Array(const Napi::Value& v, const std::string& field, int64_t rows, int64_t cols) {
  const int64_t n = rows * (cols > 0 ? cols : 1);
  checkTyped(v, napi_int32_array, "Int32Array", field, n);
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  at::Tensor t = at::from_blob(a.Data(), {n}, at::kInt).to(at::kLong);
  return cols > 0 ? t.view({rows, cols}) : t;
}

at::Tensor floatFromFloat32Array(const Napi::Value& v, const std::string& field, int64_t n) {
  checkTyped(v, napi_float32_array, "Float32Array", field, n);
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return at::from_blob(a.Data(), {n}, at::kFloat).clone();
}

int64_t requiredInt(const Napi::Object& o, const char* key, const std::string& field, int64_t min) {
  Napi::Value v = o.Get(key);
  // Below 2^31 so that products of sizes cannot overflow int64.
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() != std::floor(v.As<Napi::Number>().DoubleValue()) || v.As<Napi::Number>().DoubleValue() < min ||
      v.As<Napi::Number>().DoubleValue() > 2147483647.0) {
    badArg(field, "an integer >= " + std::to_string(min), v);
  }
  return v.As<Napi::Number>().Int64Value();
}

Batch batchFromJs(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject()) badArg(name, "a batch object", value);
  const Napi::Object o = value.As<Napi::Object>();
  Batch b;
  const int64_t batchSize = requiredInt(o, "batchSize", name + ".batchSize", 1);
  const int64_t seqLen = requiredInt(o, "seqLen", name + ".seqLen", 1);
  Napi::Value choices = o.Get("numChoices");
  b.numChoices = choices.IsUndefined() || choices.IsNull() ? 0 : requiredInt(o, "numChoices", name + ".numChoices", 1);
  const int64_t rows = batchSize * (b.numChoices > 0 ? b.numChoices : 1);
  b.inputIds = int64FromInt32Array(o.Get("inputIds"), name + ".inputIds", rows, seqLen);
  b.attentionMask = int64FromInt32Array(o.Get("attentionMask"), name + ".attentionMask", rows, seqLen);
  b.tokenTypeIds = int64FromInt32Array(o.Get("tokenTypeIds"), name + ".tokenTypeIds", rows, seqLen);
  Napi::Value labels = o.Get("labels");
  if (labels.IsTypedArray() && labels.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
    b.labels = floatFromFloat32Array(labels, name + ".labels", batchSize);
  } else if (!labels.IsUndefined() && !labels.IsNull()) {
    // Token tasks (token classification, masked LM) label every position: [N, L].
    b.labels = optBool(o, "tokenLabels", false) ? int64FromInt32Array(labels, name + ".labels", rows, seqLen) : int64FromInt32Array(labels, name + ".labels", batchSize);
  }
  Napi::Value start = o.Get("startPositions");
  if (!start.IsUndefined() && !start.IsNull()) {
    b.startPositions = int64FromInt32Array(start, name + ".startPositions", rows);
    b.endPositions = int64FromInt32Array(o.Get("endPositions"), name + ".endPositions", rows);
  }
  return b;
}

TensorSource tensorSourceFromJs(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject()) badArg(name, "a tensor source object", value);
  const Napi::Object e = value.As<Napi::Object>();
  TensorSource s;
  s.file = requiredString(e, "file", name + ".file");
  s.name = requiredString(e, "key", name + ".key");
  s.dtype = requiredString(e, "dtype", name + ".dtype");
  if (!e.Get("shape").IsArray()) badArg(name + ".shape", "an array of sizes", e.Get("shape"));
  const Napi::Array shape = e.Get("shape").As<Napi::Array>();
  for (uint32_t i = 0; i < shape.Length(); ++i) s.shape.push_back(requiredInt(shape, std::to_string(i).c_str(), name + ".shape[" + std::to_string(i) + "]", 0));
  // Byte offsets may pass 2^31 in large files: checked as non-negative integers of a double.
  for (const char* key : {"begin", "end"}) {
    Napi::Value v = e.Get(key);
    if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() < 0 || v.As<Napi::Number>().DoubleValue() != std::floor(v.As<Napi::Number>().DoubleValue())) {
      badArg(name + "." + key, "a byte offset (an integer >= 0)", v);
    }
  }
  s.begin = e.Get("begin").As<Napi::Number>().Int64Value();
  s.end = e.Get("end").As<Napi::Number>().Int64Value();
  return s;
}

std::string requiredString(const Napi::Object& o, const char* key, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) badArg(field, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}

Napi::Float32Array toFloat32Array(Napi::Env env, const at::Tensor& t) {
  Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(t.numel()));
  if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<float>(), t.numel() * sizeof(float));
  return out;
}

Napi::Array shapeToJs(Napi::Env env, at::IntArrayRef shape) {
  Napi::Array a = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return a;
}

std::vector<int64_t> shapeFromJs(const Napi::Array& a) {
  std::vector<int64_t> s(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) s[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return s;
}

// Absent (undefined or null) takes the fallback; a value of another type is refused, never ignored.
bool optBool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsBoolean()) badArg(key, "a boolean", v);
  return v.As<Napi::Boolean>().Value();
}

double optNumber(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) badArg(key, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

std::string optString(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) badArg(key, "a string", v);
  return v.As<Napi::String>().Utf8Value();
}

std::string optEnum(const Napi::Object& o, const char* key, const std::string& fallback, std::initializer_list<const char*> allowed, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  std::string expected;
  for (const char* a : allowed) {
    if (v.IsString() && v.As<Napi::String>().Utf8Value() == a) return a;
    expected += (expected.empty() ? "one of '" : ", '") + std::string(a) + "'";
  }
  badArg(field, expected, v);
}

}  // namespace advtrain
