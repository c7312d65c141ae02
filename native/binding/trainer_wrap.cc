#include "binding/trainer_wrap.h"

#include "binding/addon_data.h"
#include "binding/convert.h"
#include "io/safetensors.h"

namespace advtrain {

namespace {

double requiredNumber(const Napi::Object& o, const char* key, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) badArg(field, "a number", v);
  return v.As<Napi::Number>().DoubleValue();
}

MethodOptions methodOptionsFromJs(const Napi::Object& o) {
  MethodOptions m;
  m.name = optEnum(o, "name", m.name, {"vanilla", "pgd", "freelb", "freeat", "yopo", "rpt", "smart", "alum", "textat", "creat", "sift", "infobert"}, "method.name");
  m.steps = static_cast<int64_t>(optNumber(o, "steps", static_cast<double>(m.steps)));
  m.stepSize = optNumber(o, "stepSize", m.stepSize);
  m.epsilon = optNumber(o, "epsilon", m.epsilon);
  m.initMag = optNumber(o, "initMag", m.initMag);
  m.norm = optEnum(o, "norm", m.norm, {"l2", "linf"}, "method.norm");
  m.cleanWeight = optNumber(o, "cleanWeight", m.cleanWeight);
  m.syncDropout = optBool(o, "syncDropout", m.syncDropout);
  m.cleanLoss = optBool(o, "cleanLoss", m.cleanLoss);
  m.advBeginStep = static_cast<int64_t>(optNumber(o, "advBeginStep", static_cast<double>(m.advBeginStep)));
  m.replays = static_cast<int64_t>(optNumber(o, "replays", static_cast<double>(m.replays)));
  m.outer = static_cast<int64_t>(optNumber(o, "outer", static_cast<double>(m.outer)));
  m.inner = static_cast<int64_t>(optNumber(o, "inner", static_cast<double>(m.inner)));
  m.noiseStd = optNumber(o, "noiseStd", m.noiseStd);
  m.noiseType = optEnum(o, "noiseType", m.noiseType, {"uniform", "normal"}, "method.noiseType");
  // SiFT's attackLoss has its own values (read below).
  if (m.name != "sift") m.attackLoss = optEnum(o, "attackLoss", m.attackLoss, {"stable-kl", "symmetric-kl"}, "method.attackLoss");
  m.perturbLayer = static_cast<int64_t>(optNumber(o, "perturbLayer", static_cast<double>(m.perturbLayer)));
  m.tau = optNumber(o, "tau", m.tau);
  if (m.name == "rpt") {
    // Resolved in TypeScript (lib/train/methods.ts): always present for rpt, never defaulted here.
    Napi::Value sn = o.Get("spectralNorm");
    if (!sn.IsBoolean()) badArg("method.spectralNorm", "a boolean", sn);
    m.spectralNorm = sn.As<Napi::Boolean>().Value();
  }
  m.lambdaS = optNumber(o, "lambdaS", m.lambdaS);
  m.normEps = optNumber(o, "normEps", m.normEps);
  m.normalize = optEnum(o, "normalize", m.normalize, {"inf-token", "l2-token", "inf-example", "l2-example", "l1"}, "method.normalize");
  Napi::Value breg = o.Get("bregman");
  if (breg.IsObject()) {
    m.bregman = true;
    m.bregmanMu = optNumber(breg.As<Napi::Object>(), "mu", m.bregmanMu);
    m.bregmanBeta = optNumber(breg.As<Napi::Object>(), "beta", m.bregmanBeta);
    m.bregmanBetaLate = optNumber(breg.As<Napi::Object>(), "betaLate", m.bregmanBeta);
    m.bregmanSwitchStep = static_cast<int64_t>(optNumber(breg.As<Napi::Object>(), "switchStep", 0.0));
  }
  m.alpha = optNumber(o, "alpha", m.alpha);
  m.representation = optEnum(o, "representation", m.representation, {"tokens", "cls"}, "method.representation");
  m.creatMinus = optBool(o, "creatMinus", m.creatMinus);
  if (m.name == "sift") {
    // Resolved in TypeScript (lib/train/methods.ts): every field present, none defaulted here.
    m.siftLambda = requiredNumber(o, "lambda", "method.lambda");
    m.siftLr = requiredNumber(o, "stepSize", "method.stepSize");
    m.siftInit = requiredNumber(o, "initPerturbation", "method.initPerturbation");
    if (!o.Get("attackLoss").IsString()) badArg("method.attackLoss", "'symmetric-kl', 'kl' or 'mse'", o.Get("attackLoss"));
    m.siftLoss = optEnum(o, "attackLoss", "", {"symmetric-kl", "kl", "mse"}, "method.attackLoss");
  }
  if (m.name == "infobert") {
    m.ibBeta = requiredNumber(o, "beta", "method.beta");
    m.lrAlpha = requiredNumber(o, "alpha", "method.alpha");
    m.anchorLow = requiredNumber(o, "anchorLow", "method.anchorLow");
    m.anchorHigh = requiredNumber(o, "anchorHigh", "method.anchorHigh");
    m.anchorBatch = static_cast<int64_t>(requiredNumber(o, "anchorBatch", "method.anchorBatch"));
    m.anchorSeed = static_cast<int64_t>(requiredNumber(o, "anchorSeed", "method.anchorSeed"));
    // What indexing needs: anchor ranks inside the sentence and a positive chunk size.
    if (!(m.anchorLow >= 0.0 && m.anchorLow <= m.anchorHigh && m.anchorHigh <= 1.0)) badArg("method.anchorHigh", "0 <= anchorLow <= anchorHigh <= 1", o.Get("anchorHigh"));
    if (m.anchorBatch < 1) badArg("method.anchorBatch", "an integer >= 1", o.Get("anchorBatch"));
  }
  return m;
}

Napi::Value outcomeToJs(Napi::Env env, const StepOutcome& r) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Object metrics = Napi::Object::New(env);
  for (const auto& [k, v] : r.metrics) metrics.Set(k, v);
  o.Set("metrics", metrics);
  o.Set("skipped", r.skipped);
  o.Set("step", static_cast<double>(r.step));
  return o;
}

}  // namespace

TrainerConfig trainerConfigFromJs(const Napi::Object& o) {
  TrainerConfig c;
  for (const char* key : {"optimizer", "scheduler", "method"}) {
    if (!o.Get(key).IsObject()) badArg(std::string("config.") + key, "an object", o.Get(key));
  }
  Napi::Object opt = o.Get("optimizer").As<Napi::Object>();
  c.optimizer.name = optEnum(opt, "name", "adamw", {"adamw", "sgd"}, "optimizer.name");
  c.optimizer.lr = optNumber(opt, "lr", c.optimizer.lr);
  c.optimizer.weightDecay = optNumber(opt, "weightDecay", 0.0);
  c.optimizer.beta1 = optNumber(opt, "beta1", 0.9);
  c.optimizer.beta2 = optNumber(opt, "beta2", 0.999);
  c.optimizer.eps = optNumber(opt, "eps", 1e-8);
  c.optimizer.momentum = optNumber(opt, "momentum", 0.0);
  c.optimizer.nesterov = optBool(opt, "nesterov", false);
  Napi::Object sch = o.Get("scheduler").As<Napi::Object>();
  c.schedule.name = optEnum(sch, "name", "constant", {"constant", "linear", "cosine"}, "scheduler.name");
  c.schedule.warmupSteps = static_cast<int64_t>(optNumber(sch, "warmupSteps", 0));
  c.schedule.totalSteps = static_cast<int64_t>(optNumber(sch, "totalSteps", 0));
  c.method = methodOptionsFromJs(o.Get("method").As<Napi::Object>());
  c.maxGradNorm = optNumber(o, "maxGradNorm", 0.0);
  c.seed = static_cast<uint64_t>(optNumber(o, "seed", 0));
  c.bf16 = optEnum(o, "precision", "fp32", {"fp32", "bf16"}, "precision") == "bf16";
  if (o.Get("slimmingL1").IsObject()) {
    Napi::Object l1 = o.Get("slimmingL1").As<Napi::Object>();
    c.slimmingL1Heads = optNumber(l1, "heads", 0.0);
    c.slimmingL1Ffn = optNumber(l1, "ffn", 0.0);
  }
  Napi::Value skip = o.Get("skipPadding");
  if (!skip.IsBoolean()) badArg("config.skipPadding", "a boolean", skip);
  c.packTokens = skip.As<Napi::Boolean>().Value();
  Napi::Value atomic = o.Get("atomicSteps");
  if (!atomic.IsBoolean()) badArg("config.atomicSteps", "a boolean", atomic);
  c.atomicSteps = atomic.As<Napi::Boolean>().Value();
  Napi::Value dist = o.Get("distributed");
  if (!dist.IsBoolean()) badArg("config.distributed", "a boolean", dist);
  c.distributed = dist.As<Napi::Boolean>().Value();
  if (c.distributed) c.bucketBytes = requiredInt(o, "bucketBytes", "config.bucketBytes", 1);
  return c;
}

void TrainerWrap::init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NativeTrainer",
                                   {
                                       InstanceMethod<&TrainerWrap::Step>("step"),
                                       InstanceMethod<&TrainerWrap::SaveState>("saveState"),
                                       InstanceMethod<&TrainerWrap::LoadState>("loadState"),
                                       InstanceMethod<&TrainerWrap::Dispose>("dispose"),
                                       InstanceMethod<&TrainerWrap::LastPerturbation>("lastPerturbation"),
                                       InstanceMethod<&TrainerWrap::SetNextRandomDraws>("setNextRandomDraws"),
                                       InstanceAccessor<&TrainerWrap::Lr>("lr"),
                                       InstanceAccessor<&TrainerWrap::StepCount>("stepCount"),
                                   });
  addonData(env).trainerClass = Napi::Persistent(cls);
  exports.Set("NativeTrainer", cls);
}

// new NativeTrainer(model, config)
TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, [&] {
    auto model = ModelWrap::unwrap(info[0])->live("Trainer");
    if (model->busy.busy()) fail(kErrBusy, "Model is busy running " + model->busy.running() + "; await it before creating a Trainer");
    if (!info[1].IsObject()) badArg("config", "an object", info[1]);
    auto st = std::make_shared<State>();
    st->model = model;
    st->trainer = std::make_unique<Trainer>(*model->model, trainerConfigFromJs(info[1].As<Napi::Object>()));
    state_ = st;
    return 0;
  });
}

std::shared_ptr<TrainerWrap::State> TrainerWrap::live(const char* op) const {
  if (!state_) fail(kErrDisposed, std::string("Trainer has been disposed; cannot call ") + op + "()");
  if (state_->model->disposed.load()) fail(kErrDisposed, std::string("the Trainer's model has been disposed; cannot call ") + op + "()");
  return state_;
}

// step([batch, ...]) -> Promise<{ metrics, skipped, step }>: one optimizer step over the micro-batches.
Napi::Value TrainerWrap::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto st = live("step");
    if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0) badArg("batches", "a non-empty array of batches", info[0]);
    Napi::Array arr = info[0].As<Napi::Array>();
    std::vector<Batch> batches;
    for (uint32_t i = 0; i < arr.Length(); ++i) batches.push_back(batchFromJs(arr.Get(i), "batches[" + std::to_string(i) + "]"));
    auto lease = st->model->busy.acquire("step");
    RandomDraws draws = std::move(st->nextDraws);
    st->nextDraws = RandomDraws{};
    return PromiseWorker<StepOutcome>::start(
        env, [st, batches, draws]() { return st->trainer->step(batches, draws); },
        [](Napi::Env env, StepOutcome& r) { return outcomeToJs(env, r); }, std::shared_ptr<void>(lease));
  });
}

// setNextRandomDraws({ start?, table?, spectralU?, spectralV?, estimator?, indices? }), each { data: Float32Array, shape: number[] }: a test hook
// (lib/train/trainer.ts setNextRandomDraws) giving the next step's base random draws (RandomDraws);
// the method checks each shape against what it draws.
Napi::Value TrainerWrap::SetNextRandomDraws(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto st = live("setNextRandomDraws");
    Napi::Object o = info[0].As<Napi::Object>();
    auto read = [&](const char* key) -> at::Tensor {
      if (!o.Get(key).IsObject()) return {};
      Napi::Object d = o.Get(key).As<Napi::Object>();
      Napi::Array dims = d.Get("shape").As<Napi::Array>();
      std::vector<int64_t> shape;
      int64_t n = 1;
      for (uint32_t i = 0; i < dims.Length(); ++i) {
        shape.push_back(dims.Get(i).As<Napi::Number>().Int64Value());
        n *= shape.back();
      }
      return floatFromFloat32Array(d.Get("data"), std::string("draws.") + key + ".data", n).view(shape);
    };
    st->nextDraws = RandomDraws{read("start"), read("table"), read("spectralU"), read("spectralV"), read("estimator"), read("indices")};
    return env.Undefined();
  });
}

// saveState(path | null) -> Promise<void>: optimizer, schedule, method and RNG state as safetensors, atomically.
Napi::Value TrainerWrap::SaveState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto st = live("saveState");
    if (!info[0].IsString() && !info[0].IsNull()) badArg("path", "a file path or null", info[0]);
    // null: a rank other than 0 of a data-parallel trainer, which gathers its state to the writer.
    const std::string path = info[0].IsNull() ? std::string() : std::string(info[0].As<Napi::String>());
    auto lease = st->model->busy.acquire("saveState");
    return PromiseWorker<int>::start(
        env,
        [st, path]() {
          auto state = st->trainer->state();
          if (!path.empty()) writeSafetensorsAtomic(path, state, {{"format", "pt"}, {"advtrain", "trainer-state"}});
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, std::shared_ptr<void>(lease));
  });
}

// loadState([{ key, file, dtype, shape, begin, end }]) -> Promise<void>
Napi::Value TrainerWrap::LoadState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto st = live("loadState");
    if (!info[0].IsArray()) badArg("entries", "an array of tensor sources", info[0]);
    Napi::Array entries = info[0].As<Napi::Array>();
    std::vector<TensorSource> sources;
    for (uint32_t i = 0; i < entries.Length(); ++i) sources.push_back(tensorSourceFromJs(entries.Get(i), "entries[" + std::to_string(i) + "]"));
    auto lease = st->model->busy.acquire("loadState");
    return PromiseWorker<int>::start(
        env,
        [st, sources]() {
          std::map<std::string, at::Tensor> state;
          for (const auto& s : sources) state[s.name] = readTensor(s);
          st->trainer->loadState(state);
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, std::shared_ptr<void>(lease));
  });
}

Napi::Value TrainerWrap::Lr(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), live("lr")->trainer->currentLr()); });
}

// lastPerturbation() -> { data: Float32Array, shape } | null: the last step's final perturbation.
// Synchronous: a copy of one [N, L, E] tensor, for diagnostics between steps.
Napi::Value TrainerWrap::LastPerturbation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto st = live("lastPerturbation");
    if (st->model->busy.busy()) fail(kErrBusy, "Trainer is busy running " + st->model->busy.running() + "; await it before calling lastPerturbation()");
    const at::Tensor& d = st->trainer->lastPerturbation();
    if (!d.defined()) return env.Null();
    at::Tensor host = d.to(at::kCPU, at::kFloat).contiguous();
    Napi::Object o = Napi::Object::New(env);
    o.Set("data", toFloat32Array(env, host));
    o.Set("shape", shapeToJs(env, host.sizes()));
    return o;
  });
}

Napi::Value TrainerWrap::StepCount(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::Number::New(info.Env(), static_cast<double>(live("stepCount")->trainer->stepCount())); });
}

Napi::Value TrainerWrap::Dispose(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (state_) {
      if (state_->model->busy.busy()) fail(kErrBusy, "Trainer is busy running " + state_->model->busy.running() + "; await it before calling dispose()");
      state_.reset();
    }
    return info.Env().Undefined();
  });
}

}  // namespace advtrain
