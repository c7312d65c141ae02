// FreeAT, "free" adversarial training (Shafahi et al., NeurIPS 2019, "Adversarial Training for
// Free!"), as ported to NLP in the FreeLB repository: each minibatch is replayed `replays` times;
// every replay is a forward on E + delta, a backward giving both the parameter gradient (applied at
// once as a full optimizer step) and the gradient wrt delta (one normalised ascent step and projection).
// As in the NLP port, delta restarts for each minibatch (the image version carries it across batches).
// One trainer.step() is therefore `replays` optimizer updates and schedule steps.
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class FreeAt : public Method {
 public:
  explicit FreeAt(const MethodOptions& o) : o_(o), norm_(normOf(o.norm)) {}

  bool updatesItself() const override { return true; }

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const at::Tensor mask = tokenMask(b);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(model.device()), ctx.draws.start);
    at::Tensor total = at::zeros({}, at::TensorOptions().device(model.device()));
    at::Tensor last;
    for (int64_t r = 0; r < o_.replays; ++r) {
      at::Tensor loss = model.loss(model.forward(b, Perturbation{delta, {}}, ctx.compute, nullptr, true).logits, b);
      (loss * ctx.lossScale).backward();
      at::Tensor g = delta.grad().detach();
      ctx.applyUpdate();
      total = total + loss.detach() / static_cast<double>(o_.replays);
      last = loss;
      delta = ascendProject(delta, g, mask, o_.stepSize, o_.epsilon, norm_).requires_grad_(true);
    }
    return attackMetrics(total, last, delta, norm_);
  }

 private:
  MethodOptions o_;
  Norm norm_;
};

}  // namespace

std::unique_ptr<Method> makeFreeAt(const MethodOptions& o, TransformerModel&) { return std::make_unique<FreeAt>(o); }

}  // namespace advtrain
