// SMART (Jiang et al., ACL 2020, "SMART: Robust and Efficient Fine-Tuning for Pre-trained Natural
// Language Models through Principled Regularized Optimization"; code: namisan/mt-dnn).
// Smoothness-inducing adversarial regularisation on the embedding output after LayerNorm (mt-dnn's
// original semantics, without the 2021 change that adds position embeddings twice):
//   xi = N(0, 1) * noiseStd; K times: A = symKL(f(x + xi), sg(f(x))); g = dA/dxi;
//   xi = normalise(xi + stepSize * g) (per-token l-inf by default: no epsilon-ball, normEps guards 0);
//   loss = L(f(x)) + lambdaS * [KL(sg(p_adv) || p) + KL(sg(p) || p_adv)]  (MSE for regression).
// A non-finite attack gradient drops the adversarial term for the batch, as mt-dnn does.
// Departures: the attack objective is the symmetric KL (algorithms.md's l_s) where mt-dnn uses its
// stable_kl surrogate; padding tokens get no noise. The Bregman proximal point term (paper only, no
// public code) is implemented with a momentum teacher: theta~ <- beta * theta~ + (1 - beta) * theta
// after every update, and mu * symKL(f(x; theta), sg(f(x; theta~))) added to the loss; the teacher
// runs in eval mode (no dropout) and is saved in checkpoints.
#include "common/error.h"
#include "methods/divergence.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class Smart : public Method {
 public:
  Smart(const MethodOptions& o, TransformerModel& model) : o_(o) {
    if (o_.bregman) {
      teacher_ = std::make_unique<TransformerModel>(model.config(), model.device(), model.dtype(), 0);
      at::NoGradGuard noGrad;
      for (size_t i = 0; i < model.params().size(); ++i) {
        teacher_->params()[i].tensor.copy_(model.params()[i].tensor);
        teacher_->params()[i].tensor.set_requires_grad(false);
      }
    }
  }

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const Task task = model.config().task;
    ForwardResult clean = model.forward(b, Perturbation{}, ctx.compute, nullptr, true);
    at::Tensor loss = model.loss(clean.logits, b);
    const at::Tensor mask = tokenMask(b);
    const at::Tensor cleanLogits = clean.logits.detach();
    at::Tensor xi = gaussianStart(b, model.config().embeddingSize, o_.noiseStd, model.device(), ctx.draws.start);
    xi.requires_grad_(true);
    at::Tensor ok = at::ones({}, at::TensorOptions().device(model.device()));
    for (int64_t k = 0; k < o_.steps; ++k) {
      // cleanLogits is detached: the gradient flows through the perturbed side of both KL directions.
      at::Tensor attack = divergence(model.forward(b, Perturbation{{}, xi}, ctx.compute, nullptr, true).logits, cleanLogits, b, task, Detach::None);
      at::Tensor g = gradWrt(attack, xi);
      // No host sync: a non-finite gradient zeroes `ok`, which removes the term below.
      NormalizedStep next = noiseStep(xi, g, mask, o_.normalize, o_.stepSize, o_.normEps);
      ok = ok * next.finite;
      xi = next.xi.requires_grad_(true);
    }
    xi = xi.detach();
    at::Tensor reg = divergence(clean.logits, model.forward(b, Perturbation{{}, xi}, ctx.compute, nullptr, true).logits, b, task, Detach::Each) * ok;
    at::Tensor total = loss + o_.lambdaS * reg;
    at::Tensor breg;
    if (teacher_) {
      at::Tensor teacherLogits;
      {
        at::NoGradGuard noGrad;
        Compute eval = ctx.compute;
        eval.training = false;
        teacherLogits = teacher_->forward(b, Perturbation{}, eval, nullptr, true).logits;
      }
      breg = divergence(clean.logits, teacherLogits, b, task, Detach::Each);
      total = total + o_.bregmanMu * breg;
    }
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, reg, xi, Norm::L2);
    m.set("cleanLoss", loss);
    if (breg.defined()) m.set("bregman", breg);
    return m;
  }

  void afterUpdate(TransformerModel& model) override {
    if (!teacher_) return;
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> t, p;
    for (size_t i = 0; i < model.params().size(); ++i) {
      t.push_back(teacher_->params()[i].tensor);
      p.push_back(model.params()[i].tensor);
    }
    at::_foreach_mul_(t, o_.bregmanBeta);
    at::_foreach_add_(t, p, 1.0 - o_.bregmanBeta);
  }

  std::vector<std::pair<std::string, at::Tensor>> state() const override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    if (teacher_) {
      for (const auto& p : teacher_->params()) out.emplace_back("teacher." + p.name, p.tensor);
    }
    return out;
  }

  void loadState(const std::map<std::string, at::Tensor>& state) override {
    if (!teacher_) return;
    at::NoGradGuard noGrad;
    for (auto& p : teacher_->params()) {
      auto it = state.find("teacher." + p.name);
      if (it == state.end()) fail(kErrCheckpoint, "SMART state has no teacher weight 'teacher." + p.name + "'");
      p.tensor.copy_(it->second);
    }
  }

 private:
  MethodOptions o_;
  std::unique_ptr<TransformerModel> teacher_;
};

}  // namespace

std::unique_ptr<Method> makeSmart(const MethodOptions& o, TransformerModel& model) { return std::make_unique<Smart>(o, model); }

}  // namespace advtrain
