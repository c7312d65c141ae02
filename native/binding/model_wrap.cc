#include "binding/model_wrap.h"

#include <ATen/ATen.h>

#include "binding/addon_data.h"
#include "binding/attack_check.h"
#include "binding/convert.h"
#include "common/device.h"
#include "io/safetensors.h"
#include "robustness/attack.h"

namespace advtrain {

namespace {

Activation activationOf(const std::string& s) {
  if (s == "gelu") return Activation::Gelu;
  if (s == "gelu_new" || s == "gelu_pytorch_tanh" || s == "gelu_fast") return Activation::GeluTanh;
  if (s == "relu") return Activation::Relu;
  if (s == "silu" || s == "swish") return Activation::Silu;
  if (s == "tanh") return Activation::Tanh;
  if (s == "quick_gelu") return Activation::QuickGelu;
  fail(kErrInvalidArg, "unsupported activation " + s);
}

Task taskOf(const std::string& s) {
  if (s == "base") return Task::Base;
  if (s == "sequence-classification") return Task::SequenceClassification;
  if (s == "regression") return Task::Regression;
  if (s == "multiple-choice") return Task::MultipleChoice;
  if (s == "token-classification") return Task::TokenClassification;
  if (s == "question-answering") return Task::QuestionAnswering;
  if (s == "masked-lm") return Task::MaskedLM;
  fail(kErrInvalidArg, "unknown task " + s);
}


struct ForwardOut {
  at::Tensor logits, sequence, loss, perExampleLoss;
  std::vector<int64_t> sequenceShape;
  std::vector<at::Tensor> hidden, attentions;
};

at::Tensor hostFloat(const at::Tensor& t) { return t.detach().to(at::kCPU, at::kFloat).contiguous(); }

// An array of non-negative integers (TS validated the values; types and range re-checked here).
std::vector<int64_t> intList(const Napi::Value& v, const std::string& field) {
  if (!v.IsArray()) badArg(field, "an array of integers", v);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int64_t> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value x = a.Get(i);
    if (!x.IsNumber()) badArg(field + "[" + std::to_string(i) + "]", "an integer", x);
    const double d = x.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < 2147483648.0) || d != static_cast<double>(static_cast<int64_t>(d))) badArg(field + "[" + std::to_string(i) + "]", "a non-negative integer", x);
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

std::vector<std::vector<int64_t>> intLists(const Napi::Value& v, const std::string& field) {
  if (!v.IsArray()) badArg(field, "an array per layer", v);
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::vector<int64_t>> out;
  for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(intList(a.Get(i), field + "[" + std::to_string(i) + "]"));
  return out;
}

struct Coefficients {
  std::vector<at::Tensor> heads, ffn;
};

}  // namespace

ModelConfig modelConfigFromJs(const Napi::Object& o) {
  ModelConfig c;
  if (!o.Get("modelType").IsString()) badArg("config.modelType", "one of 'bert', 'roberta', 'electra', 'albert', 'deberta-v2'", o.Get("modelType"));
  const std::string family = optEnum(o, "modelType", "", {"bert", "roberta", "electra", "albert", "deberta-v2"}, "config.modelType");
  c.family = family == "roberta"      ? Family::Roberta
             : family == "electra"    ? Family::Electra
             : family == "albert"     ? Family::Albert
             : family == "deberta-v2" ? Family::DebertaV2
                                      : Family::Bert;
  if (!o.Get("task").IsString()) badArg("config.task", "a task name", o.Get("task"));
  c.task = taskOf(o.Get("task").As<Napi::String>());
  auto i64 = [&](const char* k) { return o.Get(k).As<Napi::Number>().Int64Value(); };
  auto f64 = [&](const char* k) { return o.Get(k).As<Napi::Number>().DoubleValue(); };
  c.vocabSize = i64("vocabSize");
  c.hiddenSize = i64("hiddenSize");
  c.embeddingSize = i64("embeddingSize");
  c.numLayers = i64("numLayers");
  c.numHiddenGroups = i64("numHiddenGroups");
  c.innerGroupNum = i64("innerGroupNum");
  c.numHeads = i64("numHeads");
  c.intermediateSize = i64("intermediateSize");
  c.maxPositions = i64("maxPositions");
  c.typeVocabSize = i64("typeVocabSize");
  c.padTokenId = i64("padTokenId");
  c.numLabels = i64("numLabels");
  c.hiddenAct = activationOf(o.Get("hiddenAct").As<Napi::String>());
  c.hiddenDropout = f64("hiddenDropout");
  c.attentionDropout = f64("attentionDropout");
  c.classifierDropout = f64("classifierDropout");
  c.layerNormEps = f64("layerNormEps");
  c.initializerRange = f64("initializerRange");
  c.summaryActivation = activationOf(optString(o, "summaryActivation", "gelu"));
  c.summaryLastDropout = optNumber(o, "summaryLastDropout", 0.1);
  // Pruned layers (lib/model/config.ts: pruned_heads, advtrain_intermediate_sizes), one entry per layer.
  if (!o.Get("layerHeads").IsUndefined()) {
    c.layerHeads = intList(o.Get("layerHeads"), "config.layerHeads");
    c.layerIntermediate = intList(o.Get("layerIntermediate"), "config.layerIntermediate");
    if (static_cast<int64_t>(c.layerHeads.size()) != c.numLayers || static_cast<int64_t>(c.layerIntermediate.size()) != c.numLayers) {
      badArg("config.layerHeads", "one head count and one FFN width per layer", o.Get("layerHeads"));
    }
    for (int64_t h : c.layerHeads) {
      if (h < 1 || h > c.numHeads) badArg("config.layerHeads", "counts in [1, numHeads]", o.Get("layerHeads"));
    }
  }
  if (c.family == Family::DebertaV2) {
    if (!o.Get("deberta").IsObject()) badArg("config.deberta", "an object", o.Get("deberta"));
    const Napi::Object d = o.Get("deberta").As<Napi::Object>();
    DebertaConfig& x = c.deberta;
    auto b = [&](const char* k) { return d.Get(k).ToBoolean().Value(); };
    auto n = [&](const char* k) { return d.Get(k).As<Napi::Number>().Int64Value(); };
    x.relativeAttention = b("relativeAttention");
    x.c2p = b("c2p");
    x.p2c = b("p2c");
    x.positionBuckets = n("positionBuckets");
    x.maxRelativePositions = n("maxRelativePositions");
    x.shareAttKey = b("shareAttKey");
    x.normRelEmbedding = b("normRelEmbedding");
    x.positionBiasedInput = b("positionBiasedInput");
    x.convKernelSize = n("convKernelSize");
    x.convGroups = n("convGroups");
    x.convAct = activationOf(d.Get("convAct").As<Napi::String>());
    x.poolerAct = activationOf(d.Get("poolerAct").As<Napi::String>());
    x.poolerDropout = d.Get("poolerDropout").As<Napi::Number>().DoubleValue();
    // What the tensors' shapes need (lib/model/config.ts refuses these with field names first).
    if (x.relativeAttention && (x.positionBuckets > 0 ? x.positionBuckets : x.maxRelativePositions) < 1) badArg("config.deberta", "a positive relative span", d);
    if (x.convKernelSize > 0 && (x.convGroups < 1 || c.hiddenSize % x.convGroups != 0)) badArg("config.deberta.convGroups", "a divisor of hiddenSize", d.Get("convGroups"));
  }
  return c;
}

void ModelWrap::init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeModel",
                                   {
                                       InstanceMethod<&ModelWrap::Parameters>("parameters"),
                                       InstanceMethod<&ModelWrap::Aliases>("aliases"),
                                       InstanceMethod<&ModelWrap::NumParameters>("numParameters"),
                                       InstanceMethod<&ModelWrap::LoadTensors>("loadTensors"),
                                       InstanceMethod<&ModelWrap::Forward>("forward"),
                                       InstanceMethod<&ModelWrap::Attack>("attack"),
                                       InstanceMethod<&ModelWrap::WordEmbeddings>("wordEmbeddings"),
                                       InstanceMethod<&ModelWrap::Save>("save"),
                                       InstanceMethod<&ModelWrap::EnableSlimming>("enableSlimming"),
                                       InstanceMethod<&ModelWrap::SlimmingCoefficients>("slimmingCoefficients"),
                                       InstanceMethod<&ModelWrap::SetSlimmingCoefficients>("setSlimmingCoefficients"),
                                       InstanceMethod<&ModelWrap::Prune>("prune"),
                                       InstanceMethod<&ModelWrap::Dispose>("dispose"),
                                       InstanceAccessor<&ModelWrap::Disposed>("disposed"),
                                   });
  addonData(env).modelClass = Napi::Persistent(cls);
  exports.Set("NativeModel", cls);
  exports.Set("createModel", Napi::Function::New(env, &ModelWrap::Create, "createModel"));
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw makeError(info.Env(), {kErrInvalidArg, "NativeModel cannot be constructed directly; use createModel() or loadModel()"});
  }
  handle_ = *info[0].As<Napi::External<std::shared_ptr<ModelHandle>>>().Data();
}

std::shared_ptr<ModelHandle> ModelWrap::live(const char* op) const {
  if (!handle_) fail(kErrDisposed, std::string("Model has been disposed; cannot call ") + op + "()");
  return handle_;
}

ModelWrap* ModelWrap::unwrap(const Napi::Value& v) {
  Napi::Env env = v.Env();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(addonData(env).modelClass.Value())) {
    throw makeError(env, {kErrInvalidArg, "expected a NativeModel"});
  }
  return Napi::ObjectWrap<ModelWrap>::Unwrap(v.As<Napi::Object>());
}

// createModel(config, { device, dtype, seed }) -> Promise<NativeModel>
Napi::Value ModelWrap::Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) badArg("config", "an object", info[0]);
    ModelConfig cfg = modelConfigFromJs(info[0].As<Napi::Object>());
    Napi::Object opts = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    const std::string device = optString(opts, "device", "cpu");
    const at::ScalarType dtype = optEnum(opts, "dtype", "float32", {"float32", "bfloat16"}, "options.dtype") == "bfloat16" ? at::kBFloat16 : at::kFloat;
    const uint64_t seed = static_cast<uint64_t>(optNumber(opts, "seed", 0));
    using Ptr = std::shared_ptr<ModelHandle>;
    return PromiseWorker<Ptr>::start(
        env,
        [=] {
          auto h = std::make_shared<ModelHandle>();
          h->model = std::make_unique<TransformerModel>(cfg, parseDevice(device), dtype, seed);
          return h;
        },
        [](Napi::Env env, Ptr& h) -> Napi::Value {
          auto* holder = new Ptr(h);
          auto ext = Napi::External<Ptr>::New(env, holder, [](Napi::Env, Ptr* p) { delete p; });
          Napi::Object wrap = addonData(env).modelClass.New({ext});
          // The wrap holds its own reference now; the External is finalised only when V8 collects it
          // (maybe much later), and must not keep a disposed model's memory alive until then.
          holder->reset();
          return wrap;
        });
  });
}

Napi::Value ModelWrap::Parameters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("parameters");
    const auto& params = h->model->params();
    Napi::Array out = Napi::Array::New(env, params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      Napi::Object p = Napi::Object::New(env);
      p.Set("name", params[i].name);
      p.Set("shape", shapeToJs(env, params[i].tensor.sizes()));
      p.Set("decay", params[i].decay);
      out.Set(static_cast<uint32_t>(i), p);
    }
    return out;
  });
}

Napi::Value ModelWrap::Aliases(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const auto& aliases = live("aliases")->model->head().aliases();
    Napi::Array out = Napi::Array::New(env, aliases.size());
    for (size_t i = 0; i < aliases.size(); ++i) {
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, aliases[i].first);
      pair.Set(1u, aliases[i].second);
      out.Set(static_cast<uint32_t>(i), pair);
    }
    return out;
  });
}

Napi::Value ModelWrap::NumParameters(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), static_cast<double>(live("numParameters")->model->numParameters())); });
}

// loadTensors([{ param, file, key, dtype, shape, begin, end }]) -> Promise<void>
Napi::Value ModelWrap::LoadTensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("loadTensors");
    if (!info[0].IsArray()) badArg("entries", "an array of tensor sources", info[0]);
    Napi::Array entries = info[0].As<Napi::Array>();
    std::vector<std::pair<std::string, TensorSource>> jobs;
    for (uint32_t i = 0; i < entries.Length(); ++i) {
      const std::string name = "entries[" + std::to_string(i) + "]";
      TensorSource src = tensorSourceFromJs(entries.Get(i), name);
      jobs.emplace_back(requiredString(entries.Get(i).As<Napi::Object>(), "param", name + ".param"), src);
    }
    auto lease = h->busy.acquire("loadTensors");
    return PromiseWorker<int>::start(
        env,
        [h, jobs]() {
          at::NoGradGuard noGrad;
          for (const auto& [param, src] : jobs) {
            const NamedParam* p = h->model->find(param);
            if (!p) fail(kErrCheckpoint, src.file + ": no parameter '" + param + "' for tensor '" + src.name + "'");
            at::Tensor t = readTensor(src);
            if (t.sizes() != p->tensor.sizes()) {
              fail(kErrCheckpoint, src.file + ": tensor '" + src.name + "' has shape " + c10::str(t.sizes()) + " but " + param + " needs " + c10::str(p->tensor.sizes()));
            }
            p->tensor.copy_(t);
          }
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, std::shared_ptr<void>(lease));
  });
}

// forward(batch, { outputHiddenStates, outputAttentions, outputLastHiddenState, precision, attention, perExampleLoss,
//                  perturbation, skipPadding, labeledOnly }) -> Promise<result>
Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("forward");
    Batch batch = batchFromJs(info[0]);
    Napi::Object opts = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
    const bool wantHidden = optBool(opts, "outputHiddenStates", false);
    const bool wantAttn = optBool(opts, "outputAttentions", false);
    const bool wantPerExample = optBool(opts, "perExampleLoss", false);
    // Callers that read only logits and loss skip copying [N, L, H] to the host and into JS.
    const bool wantSequence = optBool(opts, "outputLastHiddenState", true);
    Compute compute;
    compute.dtype = optEnum(opts, "precision", "fp32", {"fp32", "bf16"}, "options.precision") == "bf16" ? at::kBFloat16 : h->model->dtype();
    if (compute.dtype == at::kBFloat16) checkBf16Device(h->model->device(), "options.precision");
    compute.allowSdpa = optEnum(opts, "attention", "auto", {"auto", "math"}, "options.attention") != "math";
    compute.packTokens = optBool(opts, "skipPadding", false);
    // Masked LM: logits [M, V] at the M labelled positions only (the vocabulary projection is most of the work).
    const bool labeledOnly = optBool(opts, "labeledOnly", false);
    if (labeledOnly && (h->model->config().task != Task::MaskedLM || !batch.hasLabels())) {
      fail(kErrInvalidArg, "options.labeledOnly needs a masked-LM model and a batch with labels");
    }
    at::Tensor wordDelta;
    if (opts.Get("perturbation").IsTypedArray()) {
      const int64_t E = h->model->config().embeddingSize;
      wordDelta = floatFromFloat32Array(opts.Get("perturbation"), "options.perturbation", batch.rows() * batch.seqLen() * E).view({batch.rows(), batch.seqLen(), E});
    }
    auto lease = h->busy.acquire("forward");
    return PromiseWorker<ForwardOut>::start(
        env,
        [h, batch, compute, wantHidden, wantAttn, wantPerExample, wantSequence, wordDelta, labeledOnly]() {
          at::NoGradGuard noGrad;
          const TransformerModel& m = *h->model;
          Batch b = batch.to(m.device());
          EncoderTrace trace;
          trace.hidden = wantHidden;
          trace.attentions = wantAttn;
          // No trace unless asked for: a traced pass keeps every position (Encoder::forward).
          ForwardResult r = m.forward(b, Perturbation{wordDelta.defined() ? wordDelta.to(m.device()) : at::Tensor(), {}}, compute,
                                      wantHidden || wantAttn ? &trace : nullptr, labeledOnly);
          ForwardOut out;
          out.logits = r.logits.defined() ? hostFloat(r.logits) : at::Tensor();
          out.sequenceShape = r.sequence.sizes().vec();
          if (wantSequence) out.sequence = hostFloat(r.sequence);
          for (auto& t : trace.hiddenStates) out.hidden.push_back(hostFloat(t));
          for (auto& t : trace.attentionProbs) out.attentions.push_back(hostFloat(t));
          if (b.hasLabels() && m.config().task != Task::Base) {
            out.loss = hostFloat(m.loss(r.logits, b));
            if (wantPerExample) out.perExampleLoss = hostFloat(m.loss(r.logits, b, true));
          }
          return out;
        },
        [wantHidden, wantAttn](Napi::Env env, ForwardOut& r) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          if (r.logits.defined()) {
            o.Set("logits", toFloat32Array(env, r.logits));
            o.Set("logitsShape", shapeToJs(env, r.logits.sizes()));
          }
          if (r.sequence.defined()) o.Set("lastHiddenState", toFloat32Array(env, r.sequence));
          o.Set("hiddenShape", shapeToJs(env, r.sequenceShape));
          auto list = [&](const std::vector<at::Tensor>& ts) {
            Napi::Array a = Napi::Array::New(env, ts.size());
            for (size_t i = 0; i < ts.size(); ++i) a.Set(static_cast<uint32_t>(i), toFloat32Array(env, ts[i]));
            return a;
          };
          if (wantHidden) o.Set("hiddenStates", list(r.hidden));
          if (wantAttn) {
            o.Set("attentions", list(r.attentions));
            if (!r.attentions.empty()) o.Set("attentionShape", shapeToJs(env, r.attentions[0].sizes()));
          }
          if (r.loss.defined()) o.Set("loss", r.loss.item<double>());
          if (r.perExampleLoss.defined()) o.Set("perExampleLoss", toFloat32Array(env, r.perExampleLoss));
          return o;
        },
        std::shared_ptr<void>(lease));
  });
}

// attack(batch, { epsilon, norm, step, start, stepSize, steps, patience, tol, stopAbove, seed, keepDelta })
// -> Promise<per-example figures> (binding/attack_check.cc)
Napi::Value ModelWrap::Attack(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("attack");
    Batch batch = batchFromJs(info[0]);
    if (!info[1].IsObject()) badArg("options", "an object", info[1]);
    const AttackOptions o = attackOptionsFromJs(info[1].As<Napi::Object>());
    auto lease = h->busy.acquire("attack");
    return PromiseWorker<AttackResult>::start(
        env,
        [h, batch, o]() {
          AttackResult r = embeddingAttack(*h->model, batch.to(h->model->device()), o);
          attackResultToHost(r);
          return r;
        },
        [](Napi::Env env, AttackResult& r) -> Napi::Value { return attackResultToJs(env, r); },
        std::shared_ptr<void>(lease));
  });
}

// wordEmbeddings() -> Promise<Float32Array> [vocab, E]: the input embedding matrix (nearest-neighbour
// substitutes of word-level attacks).
Napi::Value ModelWrap::WordEmbeddings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("wordEmbeddings");
    auto lease = h->busy.acquire("wordEmbeddings");
    return PromiseWorker<at::Tensor>::start(
        env, [h]() { return hostFloat(h->model->encoder().wordEmbeddingWeight()); },
        [](Napi::Env env, at::Tensor& t) -> Napi::Value { return toFloat32Array(env, t); }, std::shared_ptr<void>(lease));
  });
}

// save(path, metadata: [key, value][]) -> Promise<void>; writes model.safetensors atomically.
Napi::Value ModelWrap::Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("save");
    if (!info[0].IsString()) badArg("path", "a file path", info[0]);
    const std::string path = info[0].As<Napi::String>();
    std::vector<std::pair<std::string, std::string>> meta{{"format", "pt"}};
    if (info[1].IsArray()) {
      Napi::Array a = info[1].As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        if (!a.Get(i).IsArray()) badArg("metadata[" + std::to_string(i) + "]", "a [key, value] pair of strings", a.Get(i));
        Napi::Object kv = a.Get(i).As<Napi::Object>();
        meta.emplace_back(requiredString(kv, "0", "metadata[" + std::to_string(i) + "][0]"), requiredString(kv, "1", "metadata[" + std::to_string(i) + "][1]"));
      }
    }
    const bool padded = info[2].IsObject() && optBool(info[2].As<Napi::Object>(), "padded", false);
    auto lease = h->busy.acquire("save");
    return PromiseWorker<int>::start(
        env,
        [h, path, meta, padded]() {
          writeSafetensorsAtomic(path, h->model->savedTensors(padded), meta);
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, std::shared_ptr<void>(lease));
  });
}

// enableSlimming() -> Promise<void>
Napi::Value ModelWrap::EnableSlimming(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("enableSlimming");
    auto lease = h->busy.acquire("enableSlimming");
    return PromiseWorker<int>::start(
        env, [h]() { h->model->enableSlimming(); return 0; }, [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); },
        std::shared_ptr<void>(lease));
  });
}

// slimmingCoefficients() -> Promise<{ heads: Float32Array[], ffn: Float32Array[] }> (empty lists when off)
Napi::Value ModelWrap::SlimmingCoefficients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("slimmingCoefficients");
    auto lease = h->busy.acquire("slimmingCoefficients");
    return PromiseWorker<Coefficients>::start(
        env,
        [h]() {
          Coefficients c;
          for (const auto& [heads, ffn] : h->model->slimmingCoefficients()) {
            c.heads.push_back(hostFloat(heads));
            c.ffn.push_back(hostFloat(ffn));
          }
          return c;
        },
        [](Napi::Env env, Coefficients& c) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          for (const char* k : {"heads", "ffn"}) {
            const auto& list = std::string(k) == "heads" ? c.heads : c.ffn;
            Napi::Array a = Napi::Array::New(env, list.size());
            for (size_t i = 0; i < list.size(); ++i) a.Set(static_cast<uint32_t>(i), toFloat32Array(env, list[i]));
            o.Set(k, a);
          }
          return o;
        },
        std::shared_ptr<void>(lease));
  });
}

// setSlimmingCoefficients({ heads: Float32Array[], ffn: Float32Array[] }) -> Promise<void>
Napi::Value ModelWrap::SetSlimmingCoefficients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("setSlimmingCoefficients");
    if (!info[0].IsObject()) badArg("coefficients", "an object", info[0]);
    Napi::Object o = info[0].As<Napi::Object>();
    const auto current = h->model->slimmingCoefficients();
    if (current.empty()) fail(kErrInvalidArg, "setSlimmingCoefficients: slimming is not enabled on this model");
    Coefficients c;
    for (const char* k : {"heads", "ffn"}) {
      if (!o.Get(k).IsArray() || o.Get(k).As<Napi::Array>().Length() != current.size()) badArg(std::string("coefficients.") + k, "one Float32Array per layer", o.Get(k));
      Napi::Array a = o.Get(k).As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        const at::Tensor& t = std::string(k) == "heads" ? current[i].first : current[i].second;
        at::Tensor v = floatFromFloat32Array(a.Get(i), std::string("coefficients.") + k + "[" + std::to_string(i) + "]", t.numel());
        (std::string(k) == "heads" ? c.heads : c.ffn).push_back(v);
      }
    }
    auto lease = h->busy.acquire("setSlimmingCoefficients");
    return PromiseWorker<int>::start(
        env,
        [h, c]() {
          at::NoGradGuard noGrad;
          const auto current = h->model->slimmingCoefficients();
          for (size_t i = 0; i < current.size(); ++i) {
            current[i].first.copy_(c.heads[i]);
            current[i].second.copy_(c.ffn[i]);
          }
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, std::shared_ptr<void>(lease));
  });
}

// prune(heads: number[][], ffn: number[][]) -> Promise<void>; indices to remove, per layer.
Napi::Value ModelWrap::Prune(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto h = live("prune");
    auto heads = intLists(info[0], "heads");
    auto ffn = intLists(info[1], "ffn");
    auto lease = h->busy.acquire("prune");
    return PromiseWorker<int>::start(
        env, [h, heads, ffn]() { h->model->prune(heads, ffn); return 0; }, [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); },
        std::shared_ptr<void>(lease));
  });
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (handle_) {
      if (handle_->busy.busy()) fail(kErrBusy, "Model is busy running " + handle_->busy.running() + "; await it before calling dispose()");
      const bool cuda = handle_->model->device().is_cuda();
      handle_->disposed.store(true);
      handle_.reset();  // trainers holding the handle keep it alive until they are disposed too
      if (cuda) releaseCachedMemory();
    }
    return info.Env().Undefined();
  });
}

Napi::Value ModelWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !handle_); }

}  // namespace advtrain
