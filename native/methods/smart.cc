// SMART (Jiang et al., ACL 2020, "SMART: Robust and Efficient Fine-Tuning for Pre-trained Natural
// Language Models through Principled Regularized Optimization"; code: namisan/mt-dnn
// mt_dnn/perturbation.py). Smoothness-inducing adversarial regularisation on the embedding output after
// LayerNorm (mt-dnn's original semantics, without the 2021 change that adds position embeddings twice):
//   xi = N(0, 1) * noiseStd; K times: A = stable_kl(f(x + xi), sg(f(x))) summed over rows (mt-dnn's
//   attack and its surrogate gradient; MSE summed for regression); g = dA/dxi;
//   xi = normalise(xi + stepSize * g) (per-token l-inf by default: no epsilon-ball, normEps guards 0);
//   loss = L(f(x)) + lambdaS * [KL(sg(p_adv) || p) + KL(sg(p) || p_adv)]  (MSE for regression).
// attackLoss "symmetric-kl" attacks the batch mean of the symmetric KL instead (advtrain's earlier
// objective: its gradient is ~1/rows of mt-dnn's, so the same stepSize is a much weaker attack).
// A non-finite attack gradient drops the adversarial term for the batch, as mt-dnn does.
// Departure: padding tokens get no noise (it cannot reach the outputs; only deltaNorm would see it).
// The Bregman proximal point term (paper only, no public code) uses a momentum teacher kept in float32:
// theta~ <- beta * theta~ + (1 - beta) * theta after every update (beta -> bregmanBetaLate after update
// bregmanSwitchStep: the paper's .99 then .999 after 10% of the updates), and
// mu * [KL(p~ || p) + KL(p || p~)] added to the loss with the gradient of both directions reaching theta;
// the teacher runs in eval mode (no dropout) and is saved in checkpoints.
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
      teacher_ = std::make_unique<TransformerModel>(model.config(), model.device(), at::kFloat, 0);
      if (model.slimming()) teacher_->enableSlimming();  // the same parameter list, coefficients included
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
    at::Tensor xi = gaussianStart(b, model.encoder().perturbationWidth(0), o_.noiseStd, model.device(), ctx.draws.start);
    xi.requires_grad_(true);
    at::Tensor ok = at::ones({}, at::TensorOptions().device(model.device()));
    for (int64_t k = 0; k < o_.steps; ++k) {
      at::Tensor adv = model.forward(b, Perturbation{{}, xi}, ctx.compute, nullptr, true).logits;
      at::Tensor attack;
      if (o_.attackLoss == "symmetric-kl") {
        attack = divergence(adv, cleanLogits, b, task, Detach::None);  // cleanLogits has no gradient
      } else if (task == Task::Regression) {
        attack = at::pow(adv.to(at::kFloat) - cleanLogits.to(at::kFloat), 2).sum();
      } else {
        attack = stableKl(distributionRows(adv, b, task), distributionRows(cleanLogits, b, task));
      }
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
        eval.dtype = at::kFloat;
        teacherLogits = teacher_->forward(b, Perturbation{}, eval, nullptr, true).logits;
      }
      // The teacher has no gradient, so both KL directions differentiate the student's side.
      breg = divergence(clean.logits, teacherLogits, b, task, Detach::None);
      total = total + o_.bregmanMu * breg;
    }
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, reg, xi, Norm::L2);
    m.set("cleanLoss", loss);
    if (breg.defined()) m.set("bregman", breg);
    return m;
  }

  void afterUpdate(TransformerModel& model, int64_t updates) override {
    if (!teacher_) return;
    const double beta = o_.bregmanSwitchStep > 0 && updates > o_.bregmanSwitchStep ? o_.bregmanBetaLate : o_.bregmanBeta;
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> t, p;
    for (size_t i = 0; i < model.params().size(); ++i) {
      t.push_back(teacher_->params()[i].tensor);
      p.push_back(model.params()[i].tensor.to(at::kFloat));
    }
    at::_foreach_mul_(t, beta);
    at::_foreach_add_(t, p, 1.0 - beta);
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
