// SiFT, scale-invariant fine-tuning (He et al., ICLR 2021, "DeBERTa: Decoding-enhanced BERT with
// Disentangled Attention", section 3.3; code: microsoft/DeBERTa DeBERTa/sift/sift.py, used by
// DeBERTa/apps/run.py's adv_loss_fn). sift.py hooks a PerturbationLayer before `embeddings.LayerNorm`:
//   v = LN0(x), LN0 affine-free with eps 1e-7, x = words + positions + types (the LayerNorm's input);
//   clean pass: logits_c = f(v) (the model's own LayerNorm then normalises v again), L = task loss;
//   delta = clamp(N(0, init), -2 init, 2 init) on the real tokens;
//   attack pass, parameters frozen: A = loss_fn(f(sg v + delta), sg logits_c) summed over rows;
//   delta += lr * g / (1e-6 + max_d |g|) per token (kept when g is not finite, as update_delta);
//   R = mean over rows of CE(sg p_c, p_f) + CE(sg p_f, p_c) on f(sg v + delta) (sift.py's symmetric_kl: the
//   two cross-entropies with detached probabilities; its gradient is the symmetric KL's with each target
//   stopped, its value exceeds it by the two entropies); loss = L + lambda * R (run.py's vat_lambda).
// loss_fn ('symmetric-kl', 'kl', 'mse') is the attack's only (vat_loss_fn); R is always symmetric_kl, so
// with one output (regression) R is 0: lib/train/methods.ts refuses SiFT for regression.
// Departures: padding carries no perturbation (sift.py perturbs every position; padding cannot reach the
// outputs, only deltaNorm would see it); rows are the task's distribution rows (token classification: real
// tokens only, sift.py takes every position); LN0 runs only in SiFT's training passes: evaluation and saved models compute the
// plain model, LN(x) where training computed LN(LN0(x)) = (x - m) / sqrt(v + eps (v + 1e-7)), a relative
// change of about eps / 2 (1e-12 for BERT) against LN(x) (DeBERTa's own evaluation keeps the hook).
#include "methods/divergence.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

// sift.py's PerturbationLayer LayerNorm eps.
constexpr double kSiftNormEps = 1e-7;

class Sift : public Method {
 public:
  explicit Sift(const MethodOptions& o) : o_(o) {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const Task task = model.config().task;
    Perturbation cleanP;
    cleanP.siftNormEps = kSiftNormEps;
    ForwardResult clean = model.forward(b, cleanP, ctx.compute, nullptr, true);
    at::Tensor loss = model.loss(clean.logits, b);
    const at::Device device = model.device();
    // The embedding LayerNorm's width: E (BERT, ELECTRA, ALBERT) or H (DeBERTa, after embed_proj).
    const int64_t E = model.encoder().perturbationWidth(0);
    const at::Tensor z = ctx.draws.start.defined()
                             ? checkedDraw(ctx.draws.start, {b.rows(), b.seqLen(), E}, "random start", device)
                             : at::randn({b.rows(), b.seqLen(), E}, generatorFor(device), at::TensorOptions().device(device));
    const at::Tensor mask = tokenMask(b);
    at::Tensor delta = (at::clamp(z * o_.siftInit, -2.0 * o_.siftInit, 2.0 * o_.siftInit) * mask).requires_grad_(true);
    const at::Tensor cleanRows = distributionRows(clean.logits, b, task).to(at::kFloat);
    const at::Tensor target = cleanRows.detach();
    {
      Perturbation p = cleanP;
      p.siftDelta = delta;
      at::Tensor adv = distributionRows(model.forward(b, p, ctx.compute, nullptr, true).logits, b, task).to(at::kFloat);
      at::Tensor attack;
      if (o_.siftLoss == "mse") {
        attack = at::mse_loss(adv.reshape(-1), target.reshape(-1));
      } else {
        // symmetric-kl and kl: the backward cross-entropy has no gradient here (both sides detached).
        at::Tensor ce = -(at::softmax(target, -1) * at::log_softmax(adv, -1)).sum(-1);
        if (o_.siftLoss == "symmetric-kl") ce = ce - (at::softmax(adv, -1).detach() * at::log_softmax(target, -1)).sum(-1);
        attack = ce.sum();
      }
      const at::Tensor g = gradWrt(attack, delta);
      const at::Tensor step = o_.siftLr * g / (1e-6 + g.abs().amax(-1, true)) * mask;
      // update_delta keeps the old delta when the gradient's norm is not finite (no host sync here).
      delta = at::where(g.isfinite().all(), delta.detach() + step, delta.detach());
    }
    Perturbation p = cleanP;
    p.siftDelta = delta;
    const at::Tensor adv = distributionRows(model.forward(b, p, ctx.compute, nullptr, true).logits, b, task).to(at::kFloat);
    const at::Tensor logS = at::log_softmax(adv, -1), logT = at::log_softmax(cleanRows, -1);
    const at::Tensor reg = (-(logT.exp().detach() * logS).sum(-1) - (logS.exp().detach() * logT).sum(-1)).mean();
    const at::Tensor total = loss + o_.siftLambda * reg;
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, reg, delta, Norm::L2);
    m.set("cleanLoss", loss);
    return m;
  }

 private:
  MethodOptions o_;
};

}  // namespace

std::unique_ptr<Method> makeSift(const MethodOptions& o, TransformerModel& model) { return std::make_unique<Sift>(o); }

}  // namespace advtrain
