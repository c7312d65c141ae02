// The kernel checks. Inputs are drawn on the CPU from the check's seed (the same values on every
// device), rounded to the kernel's dtype; the reference runs in float64 on those same values, so the
// errors measure the kernel alone. Every batch has a full-length example, a one-token example, an
// all-padding example and (from 4 examples) an example whose gradient is zero; gradients are nonzero
// on padding, which the kernels must ignore.
#include "binding/kernel_check.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/worker.h"
#include "common/device.h"
#include "kernels/ascent_step.h"
#include "kernels/reference.h"
#include "kernels/representation_cosine.h"
#include "kernels/symmetric_kl.h"
#include "kernels/token_aware_step.h"
#include "kernels/token_normalize.h"

namespace advtrain {

namespace {

struct CheckOptions {
  std::string name;
  int64_t n = 4, l = 8, d = 16;
  at::ScalarType dtype = at::kFloat;
  std::string device = "cpu";
  uint64_t seed = 0;
  Norm norm = Norm::L2;
  std::optional<double> stepSize, epsilon;
  bool cls = false;
  Detach detach = Detach::None;
  double spread = 1.0;
  bool nonFinite = false;
};

struct CheckResult {
  double absError = 0.0, relError = 0.0;
  std::optional<double> gradAbsError, gradRelError, builtinError, finite, referenceFinite;
  int64_t nonFinite = 0, outputs = 0;
};

// Kernel outputs against float64 references, row by row (a row: the last dimension; a scalar is one
// row): the max abs difference, and the max over rows of the row's max abs difference over the row's
// max abs reference value (floored at 1e-6 of the output's, so rows that must be exactly 0 count too).
struct Errors {
  double abs = 0.0, rel = 0.0;
  int64_t nonFinite = 0, count = 0;

  void add(const at::Tensor& kernel, const at::Tensor& reference) {
    const at::Tensor k = kernel.detach().to(at::kCPU, at::kDouble), r = reference.detach().to(at::kCPU, at::kDouble);
    TORCH_CHECK(k.sizes() == r.sizes(), "kernel output ", k.sizes(), " vs reference ", r.sizes());
    nonFinite += (~at::isfinite(k)).sum().item<int64_t>();
    count += k.numel();
    if (k.numel() == 0) return;
    const at::Tensor diff = (k - r).abs().reshape({-1, k.dim() == 0 ? 1 : k.size(-1)});
    const at::Tensor scale = r.abs().reshape(diff.sizes()).amax(1);
    const double floor = std::max(scale.max().item<double>() * 1e-6, 1e-30);
    abs = std::max(abs, diff.max().item<double>());
    rel = std::max(rel, (diff.amax(1) / scale.clamp_min(floor)).max().item<double>());
  }
};

class Inputs {
 public:
  explicit Inputs(const CheckOptions& o) : o_(o), gen_(at::make_generator<at::CPUGeneratorImpl>(o.seed)), device_(parseDevice(o.device)) {
    // Lengths: full, one token, all padding, then random in [1, L].
    at::Tensor lengths = at::randint(1, o.l + 1, {o.n}, gen_, at::kLong);
    if (o.n > 0) lengths[0] = o.l;
    if (o.n > 1) lengths[1] = 1;
    if (o.n > 2) lengths[2] = 0;
    mask_ = (at::arange(o.l, at::kLong).unsqueeze(0) < lengths.unsqueeze(1)).to(at::kDouble).unsqueeze(-1);  // [N, L, 1]
    counts_ = lengths.to(at::kDouble);
  }

  // Random normal [N, L, D] (CPU float32) times `scale`.
  at::Tensor normal(double scale = 1.0) { return at::randn({o_.n, o_.l, o_.d}, gen_) * scale; }
  at::Tensor uniform(at::IntArrayRef shape, double lo, double hi) { return at::empty(shape).uniform_(lo, hi, gen_); }
  // A gradient: zero for example 3 and for the first example's second token, nonzero on padding.
  at::Tensor gradient(double scale = 1.0) {
    at::Tensor g = normal(scale);
    if (o_.n > 3) g[3].zero_();
    if (o_.l > 1) g[0][1].zero_();
    return g;
  }
  const at::Tensor& mask() const { return mask_; }      // float64 [N, L, 1]
  const at::Tensor& lengths() const { return counts_; }  // float64 [N]

  // The kernel's input (dtype, device) and the float64 CPU copy of the same values.
  struct Pair {
    at::Tensor kernel, exact;
  };
  Pair pair(const at::Tensor& cpuFloat) const {
    at::Tensor rounded = cpuFloat.to(o_.dtype);
    return {rounded.to(device_), rounded.to(at::kDouble)};
  }
  at::Tensor kernelMask() const { return mask_.to(device_, at::kFloat); }
  at::Tensor scalar(double v) const { return at::full({}, v, at::TensorOptions().device(device_)); }

 private:
  const CheckOptions& o_;
  at::Generator gen_;
  at::Device device_;
  at::Tensor mask_, counts_;
};

// Gradients of `out` wrt `inputs` for the upstream gradient w (a scalar).
std::vector<at::Tensor> gradients(const at::Tensor& out, const std::vector<at::Tensor>& inputs, const at::Tensor& w) {
  return torch::autograd::grad({out}, inputs, {w.to(out.options())});
}

void checkAscendProject(const CheckOptions& o, CheckResult& r) {
  Inputs in(o);
  const double step = o.stepSize.value_or(0.1), eps = o.epsilon.value_or(0.2);
  // Start inside and outside the ball: per-example l2 norm eps * U(0.3, 1.5); linf entries ~ 0.6 eps.
  at::Tensor scale = o.norm == Norm::L2
                         ? in.uniform({o.n}, 0.3, 1.5) * (eps > 0 ? eps : 0.2) / at::sqrt(in.lengths().clamp_min(1.0) * static_cast<double>(o.d)).to(at::kFloat)
                         : at::full({o.n}, 0.6 * (eps > 0 ? eps : 0.2));
  auto delta = in.pair(in.normal() * scale.view({-1, 1, 1}) * in.mask().to(at::kFloat));
  auto grad = in.pair(in.gradient());
  at::Tensor kernel = ascendProject(delta.kernel, grad.kernel, in.kernelMask(), step, eps, o.norm);
  at::Tensor reference = reference::project(reference::ascend(delta.exact, grad.exact, in.mask(), step, o.norm), eps, o.norm);
  Errors e;
  e.add(kernel, reference);
  r.absError = e.abs, r.relError = e.rel, r.nonFinite = e.nonFinite, r.outputs = e.count;
}

void checkTokenAwareStep(const CheckOptions& o, CheckResult& r) {
  Inputs in(o);
  const double step = o.stepSize.value_or(0.1), eps = o.epsilon.value_or(0.2);
  at::Tensor scale = in.uniform({o.n}, 0.3, 1.5) * 0.2 / at::sqrt(in.lengths().clamp_min(1.0) * static_cast<double>(o.d)).to(at::kFloat);
  const at::Tensor mask = in.mask().to(at::kFloat);
  auto s = in.pair(in.normal() * scale.view({-1, 1, 1}) * mask);
  auto gs = in.pair(in.gradient());
  auto t = in.pair(in.normal(0.05) * mask);
  auto gt = in.pair(in.gradient());
  TokenAwareDeltas kernel = tokenAwareStep(s.kernel, gs.kernel, t.kernel, gt.kernel, in.kernelMask(), step, eps);
  auto reference = reference::tokenAwareStep(s.exact, gs.exact, t.exact, gt.exact, in.mask(), step, eps);
  Errors e;
  e.add(kernel.sentence, reference.first);
  e.add(kernel.token, reference.second);
  r.absError = e.abs, r.relError = e.rel, r.nonFinite = e.nonFinite, r.outputs = e.count;
}

void checkRepresentationCosine(const CheckOptions& o, CheckResult& r) {
  Inputs in(o);
  at::Tensor x = in.normal(), y = x + in.normal(0.5);
  // Clamped norms (1e-10 per entry: below 1e-8 for any d here) on either side, and all-zero tokens.
  if (o.n > 1) x[1][0].mul_(1e-10);
  if (o.l > 2) y[0][o.l - 1].mul_(1e-10);
  if (o.n > 2) x[2][0].zero_(), y[2][0].zero_();
  if (o.l > 3) x[0][o.l / 2].zero_(), y[0][o.l / 2].zero_();
  auto anchor = in.pair(x), perturbed = in.pair(y);
  const double w = 0.7;

  at::Tensor yk = perturbed.kernel.clone().requires_grad_(true);
  at::Tensor kernel = representationCosine(anchor.kernel, yk, in.kernelMask(), o.cls);
  at::Tensor kernelGrad = gradients(kernel, {yk}, in.scalar(w))[0];

  at::Tensor yr = perturbed.exact.clone().requires_grad_(true);
  at::Tensor reference = reference::representationCosine(anchor.exact, yr, in.mask(), o.cls);
  at::Tensor referenceGrad = gradients(reference, {yr}, at::full({}, w, at::kDouble))[0];

  Errors e, g;
  e.add(kernel, reference);
  g.add(kernelGrad, referenceGrad);
  r.absError = e.abs, r.relError = e.rel, r.gradAbsError = g.abs, r.gradRelError = g.rel;
  r.nonFinite = e.nonFinite + g.nonFinite, r.outputs = e.count + g.count;

  // The written-out formula against at::cosine_similarity itself (values and gradients).
  at::Tensor yb = perturbed.exact.clone().requires_grad_(true);
  at::Tensor builtin = reference::representationCosineBuiltin(anchor.exact, yb, in.mask(), o.cls);
  Errors b;
  b.add(builtin, reference);
  b.add(gradients(builtin, {yb}, at::full({}, w, at::kDouble))[0], referenceGrad);
  r.builtinError = b.rel;
}

void checkTokenNormalize(const CheckOptions& o, CheckResult& r) {
  Inputs in(o);
  const double step = o.stepSize.value_or(1e-3), eps = o.epsilon.value_or(1e-6);
  at::Tensor x = in.normal() * in.mask().to(at::kFloat);
  if (o.n > 3) x[3].zero_();  // with its zero gradient: v = 0, out 0 / eps = 0
  at::Tensor g = in.gradient(1.0 / step);
  if (o.nonFinite) g[0][0][0] = std::numeric_limits<float>::infinity();
  auto xi = in.pair(x), grad = in.pair(g);
  NormalizedStep kernel = tokenNormalize(xi.kernel, grad.kernel, in.kernelMask(), step, eps, o.norm);
  auto reference = reference::tokenNormalize(xi.exact, grad.exact, in.mask(), step, eps, o.norm);
  Errors e;
  e.add(kernel.xi, reference.first);
  r.absError = e.abs, r.relError = e.rel, r.nonFinite = e.nonFinite, r.outputs = e.count;
  r.finite = kernel.finite.item<double>();
  r.referenceFinite = reference.second.item<double>();
}

void checkSymmetricKl(const CheckOptions& o, CheckResult& r) {
  Inputs in(o);
  // Rows: n * l, classes: d; b = a + spread * noise, the first row b = a (no divergence, no gradient).
  at::Tensor a = in.normal(2.0).view({o.n * o.l, o.d});
  at::Tensor b = a + in.normal(o.spread).view({o.n * o.l, o.d});
  if (a.size(0) > 0) b[0].copy_(a[0]);
  auto pa = in.pair(a), pb = in.pair(b);
  const double w = 0.7;

  at::Tensor ak = pa.kernel.clone().requires_grad_(true), bk = pb.kernel.clone().requires_grad_(true);
  at::Tensor kernel = symmetricKl(ak, bk, o.detach);
  auto kernelGrads = gradients(kernel, {ak, bk}, in.scalar(w));

  at::Tensor ar = pa.exact.clone().requires_grad_(true), br = pb.exact.clone().requires_grad_(true);
  at::Tensor reference = reference::symmetricKl(ar, br, o.detach);
  auto referenceGrads = gradients(reference, {ar, br}, at::full({}, w, at::kDouble));

  Errors e, g;
  e.add(kernel, reference);
  g.add(kernelGrads[0], referenceGrads[0]);
  g.add(kernelGrads[1], referenceGrads[1]);
  r.absError = e.abs, r.relError = e.rel, r.gradAbsError = g.abs, r.gradRelError = g.rel;
  r.nonFinite = e.nonFinite + g.nonFinite, r.outputs = e.count + g.count;
}

CheckResult runCheck(const CheckOptions& o) {
  TORCH_CHECK_VALUE(o.n >= 1 && o.l >= 1 && o.d >= 1, "kernelCheck: n, l and d must be at least 1");
  CheckResult r;
  if (o.name == "ascendProject") {
    checkAscendProject(o, r);
  } else if (o.name == "tokenAwareStep") {
    checkTokenAwareStep(o, r);
  } else if (o.name == "representationCosine") {
    checkRepresentationCosine(o, r);
  } else if (o.name == "tokenNormalize") {
    checkTokenNormalize(o, r);
  } else if (o.name == "symmetricKl") {
    checkSymmetricKl(o, r);
  } else {
    TORCH_CHECK_VALUE(false, "kernelCheck: no kernel named '", o.name, "'");
  }
  return r;
}

std::optional<double> optional(const Napi::Object& o, const char* key) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return std::nullopt;
  return o.Get(key).As<Napi::Number>().DoubleValue();
}

}  // namespace

Napi::Value KernelCheck(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
  CheckOptions o;
  if (!info[0].IsString()) badArg("name", "a kernel name", info[0]);
  o.name = info[0].As<Napi::String>();
  if (!info[1].IsObject()) badArg("options", "an object", info[1]);
  const Napi::Object js = info[1].As<Napi::Object>();
  auto size = [&](const char* key, int64_t fallback) { return js.Get(key).IsUndefined() ? fallback : requiredInt(js, key, std::string("options.") + key, 1); };
  o.n = size("n", 4);
  o.l = size("l", 8);
  o.d = size("d", 16);
  o.dtype = optEnum(js, "dtype", "float32", {"float32", "bfloat16"}, "options.dtype") == "bfloat16" ? at::kBFloat16 : at::kFloat;
  o.device = optString(js, "device", "cpu");
  o.seed = static_cast<uint64_t>(optNumber(js, "seed", 0));
  o.norm = optEnum(js, "norm", "l2", {"l2", "linf"}, "options.norm") == "linf" ? Norm::Linf : Norm::L2;
  o.stepSize = optional(js, "stepSize");
  o.epsilon = optional(js, "epsilon");
  o.cls = optBool(js, "cls", false);
  o.detach = optEnum(js, "detach", "none", {"none", "each"}, "options.detach") == "each" ? Detach::Each : Detach::None;
  o.spread = optNumber(js, "spread", 1.0);
  o.nonFinite = optBool(js, "nonFinite", false);
  return PromiseWorker<CheckResult>::start(
      info.Env(), [o] { return runCheck(o); },
      [](Napi::Env env, CheckResult& r) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("absError", r.absError);
        out.Set("relError", r.relError);
        out.Set("nonFinite", static_cast<double>(r.nonFinite));
        out.Set("outputs", static_cast<double>(r.outputs));
        auto setOptional = [&](const char* key, const std::optional<double>& v) {
          if (v) out.Set(key, *v);
        };
        setOptional("gradAbsError", r.gradAbsError);
        setOptional("gradRelError", r.gradRelError);
        setOptional("builtinError", r.builtinError);
        setOptional("finite", r.finite);
        setOptional("referenceFinite", r.referenceFinite);
        return out;
      });
  });
}

}  // namespace advtrain
