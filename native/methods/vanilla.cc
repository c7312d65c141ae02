// Plain fine-tuning: one forward and one backward on the clean batch.
#include "methods/registry.h"

namespace advtrain {

namespace {

class Vanilla : public Method {
 public:
  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    ForwardResult r = ctx.model.forward(b, Perturbation{}, ctx.compute, nullptr, /*labeledOnly=*/true);
    at::Tensor loss = ctx.model.loss(r.logits, b);
    (loss * ctx.lossScale).backward();
    StepMetrics m;
    m.set("loss", loss);
    return m;
  }
};

}  // namespace

std::unique_ptr<Method> makeVanilla(const MethodOptions&, TransformerModel&) { return std::make_unique<Vanilla>(); }

}  // namespace advtrain
