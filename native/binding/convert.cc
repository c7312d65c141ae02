#include "binding/convert.h"

#include <cstring>

namespace advtrain {

at::Tensor int64FromInt32Array(const Napi::Value& v, int64_t rows, int64_t cols) {
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  at::Tensor t = at::from_blob(a.Data(), {static_cast<int64_t>(a.ElementLength())}, at::kInt).to(at::kLong);
  return cols > 0 ? t.view({rows, cols}) : t;
}

at::Tensor floatFromFloat32Array(const Napi::Value& v, int64_t n) {
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return at::from_blob(a.Data(), {n}, at::kFloat).clone();
}

Batch batchFromJs(const Napi::Object& o) {
  Batch b;
  const int64_t batchSize = o.Get("batchSize").As<Napi::Number>().Int64Value();
  const int64_t seqLen = o.Get("seqLen").As<Napi::Number>().Int64Value();
  b.numChoices = o.Has("numChoices") && o.Get("numChoices").IsNumber() ? o.Get("numChoices").As<Napi::Number>().Int64Value() : 0;
  const int64_t rows = batchSize * (b.numChoices > 0 ? b.numChoices : 1);
  b.inputIds = int64FromInt32Array(o.Get("inputIds"), rows, seqLen);
  b.attentionMask = int64FromInt32Array(o.Get("attentionMask"), rows, seqLen);
  b.tokenTypeIds = int64FromInt32Array(o.Get("tokenTypeIds"), rows, seqLen);
  Napi::Value labels = o.Get("labels");
  if (labels.IsTypedArray()) {
    if (labels.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array) {
      b.labels = floatFromFloat32Array(labels, batchSize);
    } else {
      // Token tasks (token classification, masked LM) label every position: [N, L].
      b.labels = optBool(o, "tokenLabels", false) ? int64FromInt32Array(labels, rows, seqLen) : int64FromInt32Array(labels, batchSize);
    }
  }
  if (o.Get("startPositions").IsTypedArray()) {
    b.startPositions = int64FromInt32Array(o.Get("startPositions"), rows);
    b.endPositions = int64FromInt32Array(o.Get("endPositions"), rows);
  }
  return b;
}

TensorSource tensorSourceFromJs(const Napi::Object& e) {
  TensorSource s;
  s.file = e.Get("file").As<Napi::String>();
  s.name = e.Get("key").As<Napi::String>();
  s.dtype = e.Get("dtype").As<Napi::String>();
  s.shape = shapeFromJs(e.Get("shape").As<Napi::Array>());
  s.begin = e.Get("begin").As<Napi::Number>().Int64Value();
  s.end = e.Get("end").As<Napi::Number>().Int64Value();
  return s;
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

bool optBool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

double optNumber(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

std::string optString(const Napi::Object& o, const char* key, const std::string& fallback) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}

}  // namespace advtrain
