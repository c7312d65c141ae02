#include "robustness/attack.h"

#include "kernels/ascent_step.h"
#include "methods/perturbation.h"

namespace advtrain {

namespace {

// Examples own rows: one row each, or numChoices rows for multiple choice.
at::Tensor rowsOf(const at::Tensor& perExample, const Batch& b) {
  return b.numChoices > 0 ? perExample.repeat_interleave(b.numChoices) : perExample;
}

}  // namespace

AttackResult embeddingAttack(const TransformerModel& model, const Batch& b, const AttackOptions& o) {
  const Norm norm = normOf(o.norm);
  Compute c;  // eval mode: no dropout, so every iteration sees the same function
  c.dtype = model.dtype();
  const at::Tensor mask = tokenMask(b);
  at::Tensor delta = at::zeros({b.rows(), b.seqLen(), model.config().embeddingSize}, at::TensorOptions().device(model.device()));
  AttackResult r;
  {
    at::NoGradGuard noGrad;
    ForwardResult clean = model.forward(b, Perturbation{}, c);
    r.cleanLogits = clean.logits;
    r.cleanLoss = model.loss(clean.logits, b, true);
  }
  r.maxLoss = r.cleanLoss.clone();
  at::Tensor lastGain = at::zeros_like(r.cleanLoss, at::kLong);
  at::Tensor active = at::ones_like(r.cleanLoss, at::kBool);
  r.iterations = at::zeros_like(r.cleanLoss, at::kLong);
  for (int64_t it = 1; it <= o.steps; ++it) {
    delta.requires_grad_(true);
    at::Tensor loss = model.loss(model.forward(b, Perturbation{delta, {}}, c).logits, b, true);
    // Examples are independent: the gradient of the sum is each example's own gradient.
    at::Tensor g = gradWrt(loss.sum(), delta);
    at::NoGradGuard noGrad;
    loss = loss.detach();
    if (it > 1) {
      // `loss` is the loss at the delta of iteration it - 1.
      at::Tensor gained = (loss > r.maxLoss) & active;
      r.maxLoss = at::where(gained, loss, r.maxLoss);
      lastGain = at::where(gained, at::full_like(lastGain, it - 1), lastGain);
      if (o.patience > 0) active = active & ((it - 1 - lastGain) < o.patience);
    }
    r.iterations = r.iterations + active.to(at::kLong);
    at::Tensor next = ascendProject(delta.detach(), g, mask, o.stepSize, o.epsilon, norm);
    delta = at::where(rowsOf(active, b).view({-1, 1, 1}), next, delta.detach());
    if (o.patience > 0 && it % 16 == 0 && !active.any().item<bool>()) break;  // a rare host sync
  }
  at::NoGradGuard noGrad;
  ForwardResult adv = model.forward(b, Perturbation{delta, {}}, c);
  r.advLogits = adv.logits;
  r.finalLoss = model.loss(adv.logits, b, true);
  r.maxLoss = at::maximum(r.maxLoss, r.finalLoss);
  r.deltaNorm = exampleNorm(delta, norm);
  if (o.keepDelta) r.delta = delta;
  return r;
}

}  // namespace advtrain
