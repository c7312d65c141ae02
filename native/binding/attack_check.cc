#include "binding/attack_check.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/worker.h"
#include "common/device.h"
#include "common/error.h"

namespace advtrain {

AttackOptions attackOptionsFromJs(const Napi::Object& opts) {
  AttackOptions o;
  o.epsilon = optNumber(opts, "epsilon", o.epsilon);
  o.norm = optEnum(opts, "norm", o.norm, {"l2", "linf"}, "options.norm");
  o.step = optEnum(opts, "step", o.step, {"normalized", "sign"}, "options.step");
  o.start = optEnum(opts, "start", o.start, {"zero", "uniform"}, "options.start");
  o.stepSize = optNumber(opts, "stepSize", o.stepSize);
  o.steps = static_cast<int64_t>(optNumber(opts, "steps", static_cast<double>(o.steps)));
  o.patience = static_cast<int64_t>(optNumber(opts, "patience", 0));
  o.tol = optNumber(opts, "tol", o.tol);
  o.stopAbove = optNumber(opts, "stopAbove", o.stopAbove);
  o.seed = static_cast<int64_t>(optNumber(opts, "seed", -1));
  o.keepDelta = optBool(opts, "keepDelta", false);
  o.skipPadding = optBool(opts, "skipPadding", false);
  return o;
}

void attackResultToHost(AttackResult& r) {
  for (at::Tensor* t : {&r.cleanLoss, &r.maxLoss, &r.finalLoss, &r.cleanLogits, &r.advLogits, &r.iterations, &r.deltaNorm, &r.succeeded, &r.delta}) {
    if (t->defined()) *t = t->detach().to(at::kCPU, at::kFloat).contiguous();
  }
}

Napi::Object attackResultToJs(Napi::Env env, const AttackResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("cleanLoss", toFloat32Array(env, r.cleanLoss));
  o.Set("maxLoss", toFloat32Array(env, r.maxLoss));
  o.Set("finalLoss", toFloat32Array(env, r.finalLoss));
  if (r.cleanLogits.defined()) {
    o.Set("cleanLogits", toFloat32Array(env, r.cleanLogits));
    o.Set("advLogits", toFloat32Array(env, r.advLogits));
    o.Set("logitsShape", shapeToJs(env, r.cleanLogits.sizes()));
  }
  o.Set("iterations", toFloat32Array(env, r.iterations));
  o.Set("deltaNorm", toFloat32Array(env, r.deltaNorm));
  o.Set("succeeded", toFloat32Array(env, r.succeeded));
  if (r.delta.defined()) o.Set("delta", toFloat32Array(env, r.delta));
  return o;
}

namespace {

// A Float32Array / Int32Array of exactly n elements (ERR_INVALID_ARG naming spec.<key> otherwise).
at::Tensor floats(const Napi::Object& spec, const char* key, int64_t n) {
  return floatFromFloat32Array(spec.Get(key), std::string("spec.") + key, n).to(at::kDouble);
}

at::Tensor ints(const Napi::Object& spec, const char* key, int64_t n) { return int64FromInt32Array(spec.Get(key), std::string("spec.") + key, n); }

int64_t lengthOf(const Napi::Object& spec, const char* key) {
  Napi::Value v = spec.Get(key);
  return v.IsTypedArray() ? static_cast<int64_t>(v.As<Napi::TypedArray>().ElementLength()) : 0;
}

struct Toy {
  std::string objective;
  int64_t l = 0, d = 0;
  at::Tensor lengths, weights, clean, labels;
  double wrongAbove = std::numeric_limits<double>::infinity();
  AttackOptions options;
};

// Objectives in float64 (the loop's own float32 arithmetic is what is measured), per example b:
//   linear:    logits = clean[b] + sum_{l,d} delta[b,l,d] W[c,l,d], loss = cross-entropy(logits, label)
//   quadratic: loss = clean[b] + sum_{l,d} A[l,d] delta[b,l,d]^2, "misclassified" when loss > wrongAbove
AttackResult runToy(const Toy& t) {
  const int64_t n = t.lengths.size(0);
  const at::Tensor mask = (at::arange(t.l, at::kLong).unsqueeze(0) < t.lengths.unsqueeze(1)).to(at::kFloat).unsqueeze(-1);
  AttackObjective f;
  if (t.objective == "linear") {
    const int64_t c = t.clean.numel() / n;
    const at::Tensor w = t.weights.view({c, t.l, t.d});
    const at::Tensor clean = t.clean.view({n, c});
    f = [=](const at::Tensor& delta) {
      AttackPoint p;
      p.logits = clean + at::einsum("bld,cld->bc", {delta.to(at::kDouble) * mask, w});
      p.loss = at::cross_entropy_loss(p.logits, t.labels, {}, at::Reduction::None);
      p.wrong = p.logits.detach().argmax(1).ne(t.labels);
      return p;
    };
  } else if (t.objective == "quadratic") {
    const at::Tensor a = t.weights.view({1, t.l, t.d});
    f = [=](const at::Tensor& delta) {
      AttackPoint p;
      p.loss = t.clean + (a * (delta.to(at::kDouble) * mask).pow(2)).sum({1, 2});
      if (std::isfinite(t.wrongAbove)) p.wrong = p.loss.detach().gt(t.wrongAbove);
      return p;
    };
  } else {
    fail(kErrInvalidArg, "attackCheck: spec.objective must be 'linear' or 'quadratic', got '" + t.objective + "'");
  }
  return attackLoop(f, mask, {n, t.l, t.d}, 1, t.options);
}

}  // namespace

Napi::Value AttackCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) badArg("spec", "an object", info[0]);
    const Napi::Object spec = info[0].As<Napi::Object>();
    Toy t;
    t.objective = optEnum(spec, "objective", "", {"linear", "quadratic"}, "spec.objective");
    t.l = requiredInt(spec, "l", "spec.l", 1);
    t.d = requiredInt(spec, "d", "spec.d", 1);
    const int64_t n = std::max<int64_t>(1, lengthOf(spec, "lengths"));
    t.lengths = ints(spec, "lengths", n);
    if (t.objective == "linear") {
      // clean [n, C] fixes C; weights must then be [C, l, d].
      const int64_t c = std::max<int64_t>(1, lengthOf(spec, "clean") / n);
      t.clean = floats(spec, "clean", n * c);
      t.weights = floats(spec, "weights", c * t.l * t.d);
      t.labels = ints(spec, "labels", n);
    } else {
      t.clean = floats(spec, "clean", n);
      t.weights = floats(spec, "weights", t.l * t.d);
    }
    t.wrongAbove = optNumber(spec, "wrongAbove", t.wrongAbove);
    if (!spec.Get("options").IsObject()) badArg("spec.options", "an object", spec.Get("options"));
    t.options = attackOptionsFromJs(spec.Get("options").As<Napi::Object>());
    return PromiseWorker<AttackResult>::start(
        env,
        [t]() {
          AttackResult r = runToy(t);
          attackResultToHost(r);
          return r;
        },
        [](Napi::Env env, AttackResult& r) -> Napi::Value { return attackResultToJs(env, r); });
  });
}

}  // namespace advtrain
