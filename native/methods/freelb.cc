// FreeLB (Zhu et al., ICLR 2020, "FreeLB: Enhanced Adversarial Training for Natural Language
// Understanding"; official code zhuchen03/FreeLB). K passes on E + delta_t; each pass backpropagates
// loss / K into the parameters (gradients accumulate, "free" adversarial training) and its gradient
// wrt delta drives the next normalised ascent step and projection.
// Departures (options, off by default except syncDropout): syncDropout replays the same dropout masks in
// every pass, as the fairseq version does (the Hugging Face version does not); cleanLoss adds a clean
// pass weighted by cleanWeight (FreeLB issue #10); advBeginStep trains plainly before that step.
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class FreeLb : public Method {
 public:
  explicit FreeLb(const MethodOptions& o) : o_(o), norm_(normOf(o.norm)) {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const bool attack = ctx.globalStep >= o_.advBeginStep;
    const int64_t passes = attack ? o_.steps : 1;
    const at::Tensor mask = tokenMask(b);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, attack ? o_.initMag : 0.0, norm_, at::TensorOptions().device(model.device()),
                                 attack ? ctx.draws.start : at::Tensor());
    std::unique_ptr<RngReplay> rng;
    if (o_.syncDropout && ctx.compute.training) rng = std::make_unique<RngReplay>(model.device());
    const double cleanWeight = o_.cleanLoss && attack ? o_.cleanWeight : 0.0;
    at::Tensor total = at::zeros({}, at::TensorOptions().device(model.device()));
    at::Tensor clean;
    if (cleanWeight > 0.0) {
      clean = model.loss(model.forward(b, Perturbation{}, ctx.compute, nullptr, true).logits, b);
      (clean * (cleanWeight * ctx.lossScale)).backward();
      total = total + clean.detach() * cleanWeight;
      if (rng) rng->replay();
    }
    const double advWeight = (1.0 - cleanWeight) / static_cast<double>(passes);
    at::Tensor last;
    for (int64_t t = 0; t < passes; ++t) {
      if (rng && t > 0) rng->replay();
      at::Tensor loss = model.loss(model.forward(b, Perturbation{delta, {}}, ctx.compute, nullptr, true).logits, b);
      (loss * (advWeight * ctx.lossScale)).backward();
      total = total + loss.detach() * advWeight;
      last = loss;
      if (t == passes - 1) break;
      delta = ascendProject(delta, delta.grad(), mask, o_.stepSize, o_.epsilon, norm_).requires_grad_(true);
    }
    StepMetrics m = attackMetrics(total, last, delta, norm_);
    if (clean.defined()) m.set("cleanLoss", clean);
    return m;
  }

 private:
  MethodOptions o_;
  Norm norm_;
};

}  // namespace

std::unique_ptr<Method> makeFreeLb(const MethodOptions& o, TransformerModel&) { return std::make_unique<FreeLb>(o); }

}  // namespace advtrain
