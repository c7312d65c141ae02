// ALUM, adversarial training for large neural language models (Liu et al. 2020, "Adversarial Training
// for Large Neural Language Models"; code: namisan/mt-dnn v0.2, alum/adv_masked_lm.py). Virtual
// adversarial training on the embedding output after LayerNorm (or the output of layer perturbLayer, ALUM's
// prob_n_layer): xi = N(0, 1) * noiseStd on real tokens; `steps` times A = KL(sg(p_clean) || p_adv)
// (batch mean over the rows, as adv_masked_lm), xi = normalise(xi + stepSize * dA/dxi) (per-token l-inf by
// default); loss = L(f(x)) + alpha * [KL(sg(p_adv) || p) + KL(sg(p) || p_adv)]. alpha 10 for pre-training,
// 1 for fine-tuning (the paper's settings; lib/train fills the default per task). For masked-LM
// pre-training the divergences are over the masked positions' vocabulary distributions, the positions the
// MLM loss scores. Departure: padding gets no noise (it cannot reach the outputs).
// SMART (smart.cc) differs in its attack objective (mt-dnn's stable_kl summed over rows) and Bregman teacher.
#include "common/error.h"
#include "methods/divergence.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class Alum : public Method {
 public:
  explicit Alum(const MethodOptions& o) : o_(o) {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const Task task = model.config().task;
    ForwardResult clean = model.forward(b, Perturbation{}, ctx.compute, nullptr, true);
    at::Tensor loss = model.loss(clean.logits, b);
    const at::Tensor mask = tokenMask(b);
    const at::Tensor cleanRows = distributionRows(clean.logits.detach(), b, task);
    at::Tensor xi = gaussianStart(b, model.encoder().perturbationWidth(o_.perturbLayer), o_.noiseStd, model.device(), ctx.draws.start);
    xi.requires_grad_(true);
    at::Tensor ok = at::ones({}, at::TensorOptions().device(model.device()));
    for (int64_t k = 0; k < o_.steps; ++k) {
      at::Tensor adv = model.forward(b, perturb(xi), ctx.compute, nullptr, true).logits;
      at::Tensor attack = task == Task::Regression ? at::pow(adv - clean.logits.detach(), 2).mean()
                                                   : klDivergence(distributionRows(adv, b, task), cleanRows);
      at::Tensor g = gradWrt(attack, xi);
      NormalizedStep next = noiseStep(xi, g, mask, o_.normalize, o_.stepSize, o_.normEps);
      ok = ok * next.finite;  // a non-finite attack drops the term, without a host sync
      xi = next.xi.requires_grad_(true);
    }
    xi = xi.detach();
    at::Tensor reg = divergence(clean.logits, model.forward(b, perturb(xi), ctx.compute, nullptr, true).logits, b, task, Detach::Each) * ok;
    at::Tensor total = loss + o_.alpha * reg;
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, reg, xi, Norm::L2);
    m.set("cleanLoss", loss);
    return m;
  }

 private:
  Perturbation perturb(const at::Tensor& xi) const {
    Perturbation p{{}, xi};
    p.deltaLayer = o_.perturbLayer;
    return p;
  }

  MethodOptions o_;
};

}  // namespace

std::unique_ptr<Method> makeAlum(const MethodOptions& o, TransformerModel& model) {
  if (o.perturbLayer < 0 || o.perturbLayer > model.encoder().numLayers()) {
    fail(kErrInvalidArg, c10::str("alum.perturbLayer must be between 0 and the model's ", model.encoder().numLayers(), " layers, got ", o.perturbLayer));
  }
  return std::make_unique<Alum>(o);
}

}  // namespace advtrain
