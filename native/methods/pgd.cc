// PGD-K adversarial training (Madry et al., ICLR 2018, "Towards Deep Learning Models Resistant to
// Adversarial Attacks"), in the word-embedding space as FreeLB's baselines and CreAT's "AT" use it.
// The K attack passes take gradients wrt delta only (no parameter gradients), then one full pass
// trains on cleanWeight * L(x) + (1 - cleanWeight) * L(x + delta*). cleanWeight 0 is Madry's
// objective; 0.5 is the "AT" of the CreAT paper.
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class Pgd : public Method {
 public:
  explicit Pgd(const MethodOptions& o) : o_(o), norm_(normOf(o.norm)) {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    // The clean pass comes first and keeps its graph, as CreAT's loop does: with tau 0 CreAT is this
    // method with cleanWeight 0.5, pass for pass and random draw for random draw.
    at::Tensor clean;
    if (o_.cleanWeight > 0.0) clean = model.loss(model.forward(b, Perturbation{}, ctx.compute, nullptr, true).logits, b);
    const at::Tensor mask = tokenMask(b);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(model.device()), ctx.draws.start);
    for (int64_t k = 0; k < o_.steps; ++k) {
      at::Tensor attack = model.loss(model.forward(b, Perturbation{delta, {}}, ctx.compute, nullptr, true).logits, b);
      delta = ascendProject(delta, gradWrt(attack, delta), mask, o_.stepSize, o_.epsilon, norm_).requires_grad_(true);
    }
    delta = delta.detach();
    at::Tensor adv = model.loss(model.forward(b, Perturbation{delta, {}}, ctx.compute, nullptr, true).logits, b);
    at::Tensor total = adv * (1.0 - o_.cleanWeight);
    if (clean.defined()) total = clean * o_.cleanWeight + total;
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, adv, delta, norm_);
    if (clean.defined()) m.set("cleanLoss", clean);
    return m;
  }

 private:
  MethodOptions o_;
  Norm norm_;
};

}  // namespace

std::unique_ptr<Method> makePgd(const MethodOptions& o, TransformerModel&) { return std::make_unique<Pgd>(o); }

}  // namespace advtrain
