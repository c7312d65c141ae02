// CreAT, contrastive adversarial training (Wu & Zhao, ICLR 2023, "Toward Adversarial Training on
// Contextualized Language Representation"; official code gingasan/CreAT). The attack maximises the
// task loss while pushing the perturbed encoder output away from the clean one:
//   delta* = argmax_{||delta|| <= eps} L(x + delta) - tau * S[h(x), h(x + delta)],
// S the cosine similarity of the final encoder output; training uses
//   cleanWeight * L(x) + (1 - cleanWeight) * L(x + delta*).
// `steps` counts ascent updates (the paper's k; the official K = 2 is steps 1). representation
// 'tokens' (default) averages each example's cosine over its real tokens, then over the batch (the
// paper's lower bound over tokens and the first official version); 'cls' uses the first token as the
// current official code does, which sums over the batch where we average: our tau = official tau x
// batch size. The official start N(0, 1) * 1e-2 is mostly random at eps .1; we use FreeLB's masked
// l2 start scaled by initMag. From a zero start without dropout the cosine has no gradient at the first
// ascent (it is at its maximum), so steps 1 from zero equals AT; with dropout on, the clean and perturbed
// passes draw different masks, S < 1 and the cosine does steer the first ascent. creatMinus: the ablation
// maximising -tau * S only (lib/train refuses it with tau 0, which would leave no objective).
#include "kernels/representation_cosine.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class Creat : public Method {
 public:
  explicit Creat(const MethodOptions& o) : o_(o), norm_(normOf(o.norm)), cls_(o.representation == "cls") {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    // The clean pass keeps its graph for the final loss; its representation is the attack's anchor.
    ForwardResult clean = model.forward(b, Perturbation{}, ctx.compute, nullptr, true);
    at::Tensor cleanLoss = model.loss(clean.logits, b);
    const at::Tensor anchor = clean.sequence.detach();
    const at::Tensor mask = tokenMask(b);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(model.device()), ctx.draws.start);
    for (int64_t k = 0; k < o_.steps; ++k) {
      ForwardResult a = model.forward(b, Perturbation{delta, {}}, ctx.compute, nullptr, true);
      at::Tensor similarity = representationCosine(anchor, a.sequence, mask, cls_);
      at::Tensor objective = -o_.tau * similarity;
      if (!o_.creatMinus) objective = model.loss(a.logits, b) + objective;
      delta = ascendProject(delta, gradWrt(objective, delta), mask, o_.stepSize, o_.epsilon, norm_).requires_grad_(true);
    }
    delta = delta.detach();
    ForwardResult adv = model.forward(b, Perturbation{delta, {}}, ctx.compute, nullptr, true);
    at::Tensor advLoss = model.loss(adv.logits, b);
    at::Tensor total = cleanLoss * o_.cleanWeight + advLoss * (1.0 - o_.cleanWeight);
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, advLoss, delta, norm_);
    m.set("cleanLoss", cleanLoss);
    m.set("repCos", representationCosine(anchor, adv.sequence.detach(), mask, cls_));
    return m;
  }

 private:
  MethodOptions o_;
  Norm norm_;
  bool cls_;
};

}  // namespace

std::unique_ptr<Method> makeCreat(const MethodOptions& o, TransformerModel&) { return std::make_unique<Creat>(o); }

}  // namespace advtrain
