// Random perturbation training, R3F (Aghajanyan et al., ICLR 2021, "Better Fine-Tuning by Reducing
// Representational Collapse"): noise ~ N(0, noiseStd) on the word embeddings of real tokens;
// loss = L(f(x)) + tau * symKL(f(x + noise), f(x)) with gradients through both sides, as the fairseq
// R3F criterion (MSE between the two outputs for regression).
#include "methods/divergence.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class Rpt : public Method {
 public:
  explicit Rpt(const MethodOptions& o) : o_(o) {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    ForwardResult clean = model.forward(b, Perturbation{}, ctx.compute, nullptr, true);
    at::Tensor loss = model.loss(clean.logits, b);
    at::Tensor noise = gaussianStart(b, model.config().embeddingSize, o_.noiseStd, model.device(), ctx.draws.start);
    ForwardResult noised = model.forward(b, Perturbation{noise, {}}, ctx.compute, nullptr, true);
    at::Tensor reg = divergence(noised.logits, clean.logits, b, model.config().task, Detach::None);
    at::Tensor total = loss + o_.tau * reg;
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, reg, noise, Norm::L2);
    m.set("cleanLoss", loss);
    return m;
  }

 private:
  MethodOptions o_;
};

}  // namespace

std::unique_ptr<Method> makeRpt(const MethodOptions& o, TransformerModel&) { return std::make_unique<Rpt>(o); }

}  // namespace advtrain
