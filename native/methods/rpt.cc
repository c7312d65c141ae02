// Random perturbation training, R3F (Aghajanyan et al., ICLR 2021, "Better Fine-Tuning by Reducing
// Representational Collapse"; fairseq examples/rxf, sentence_prediction_r3f): noise on the word embeddings
// of real tokens, U(-noiseStd, noiseStd) (noiseType "uniform", fairseq's default) or N(0, noiseStd)
// ("normal"); the noised pass runs on the detached word embeddings (fairseq's token_embeddings.detach()),
// so the embedding table learns from the clean pass only;
// loss = L(f(x)) + tau * symKL(f(x + noise), f(x)) with gradients through both sides, as fairseq's criterion.
// Extension: regression uses the MSE between the two outputs (fairseq's R3F is for classification).
// Departure: padding gets no noise (it cannot reach the outputs).
// R4F (spectralNorm, the same paper; fairseq's --spectral-norm-classification-head): the classification
// head's output projection is torch.nn.utils.spectral_norm(out_proj) (Head::outWeight): W = W_orig / sigma,
// one power iteration per training forward (two per step here, as in fairseq: the clean and the noised pass),
// u and v drawn N(0, 1) and normalised as torch does, from the trainer-seeded CPU generator (u first).
// Checkpoints: the saved model folder holds W_orig / sigma (what transformers loads); W_orig, u and v go
// into the trainer state as method.<out>.weight_orig/_u/_v (beside the optimizer's moments of W_orig), and a
// resume copies them back after the folder's weights are loaded, so it continues bit for bit.
#include "common/error.h"
#include "methods/divergence.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

// F.normalize(x, dim=0, eps=1e-12): spectral_norm's start vectors.
at::Tensor unit(const at::Tensor& x) { return x / x.norm().clamp_min(1e-12); }

class Rpt : public Method {
 public:
  Rpt(const MethodOptions& o, TransformerModel& model) : o_(o), model_(model) {
    if (!o_.spectralNorm) return;
    const Task task = model.config().task;
    if (task != Task::SequenceClassification && task != Task::Regression) {
      fail(kErrInvalidArg, "method.spectralNorm (R4F) normalises the classification head's output projection: it needs a sequence-classification or regression model");
    }
    // A model already normalised (by an earlier trainer) keeps its u and v, as torch's module would.
    if (model.head().spectralNorm()) return;
    const at::Generator gen = generatorFor(at::kCPU);  // the trainer's (made within its scope)
    const at::Tensor zu = at::empty({model.config().numLabels}).normal_(0.0, 1.0, gen);  // u before v, as torch
    const at::Tensor zv = at::empty({model.config().hiddenSize}).normal_(0.0, 1.0, gen);
    model.head().enableSpectralNorm(unit(zu), unit(zv));
  }

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    if (o_.spectralNorm && !savedUv_[0].defined()) {
      // Every training forward moves u and v (the power iteration): kept for discardStep.
      const auto state = model.head().spectralState();
      savedUv_[0] = state[1].second.clone();
      savedUv_[1] = state[2].second.clone();
    }
    if (o_.spectralNorm && (ctx.draws.spectralU.defined() || ctx.draws.spectralV.defined())) {
      if (!ctx.draws.spectralU.defined() || !ctx.draws.spectralV.defined()) fail(kErrInvalidArg, "R4F's u and v draws are supplied together");
      const auto state = model.head().spectralState();
      at::NoGradGuard noGrad;
      state[1].second.copy_(unit(checkedDraw(ctx.draws.spectralU, state[1].second.sizes(), "R4F u", model.device())));
      state[2].second.copy_(unit(checkedDraw(ctx.draws.spectralV, state[2].second.sizes(), "R4F v", model.device())));
    }
    ForwardResult clean = model.forward(b, Perturbation{}, ctx.compute, nullptr, true);
    at::Tensor loss = model.loss(clean.logits, b);
    const int64_t dim = model.config().embeddingSize;
    at::Tensor noise;
    if (o_.noiseType == "normal") {
      noise = gaussianStart(b, dim, o_.noiseStd, model.device(), ctx.draws.start);
    } else {
      const at::Tensor u = ctx.draws.start.defined()
                               ? checkedDraw(ctx.draws.start, {b.rows(), b.seqLen(), dim}, "noise", model.device())
                               : at::empty({b.rows(), b.seqLen(), dim}, at::TensorOptions().device(model.device())).uniform_(-1.0, 1.0, generatorFor(model.device()));
      noise = u * o_.noiseStd * tokenMask(b).to(model.device());
    }
    Perturbation p{noise, {}};
    p.detachWords = true;
    ForwardResult noised = model.forward(b, p, ctx.compute, nullptr, true);
    at::Tensor reg = divergence(noised.logits, clean.logits, b, model.config().task, Detach::None);
    at::Tensor total = loss + o_.tau * reg;
    (total * ctx.lossScale).backward();
    StepMetrics m = attackMetrics(total, reg, noise, Norm::L2);
    m.set("cleanLoss", loss);
    return m;
  }

  void afterUpdate(TransformerModel&, int64_t) override { savedUv_[0] = savedUv_[1] = at::Tensor(); }

  void discardStep() override {
    if (!savedUv_[0].defined()) return;
    const auto state = model_.head().spectralState();
    at::NoGradGuard noGrad;
    state[1].second.copy_(savedUv_[0]);
    state[2].second.copy_(savedUv_[1]);
    savedUv_[0] = savedUv_[1] = at::Tensor();
  }

 private:
  std::vector<std::pair<std::string, at::Tensor>> state() const override {
    if (!o_.spectralNorm) return {};
    return model_.head().spectralState();
  }

  void loadState(const std::map<std::string, at::Tensor>& state) override {
    if (!o_.spectralNorm) return;
    at::NoGradGuard noGrad;
    for (auto& [name, tensor] : model_.head().spectralState()) {
      auto it = state.find(name);
      if (it == state.end()) fail(kErrCheckpoint, "R4F state has no '" + name + "'");
      if (it->second.sizes() != tensor.sizes()) fail(kErrCheckpoint, "R4F state '" + name + "' has the wrong shape");
      tensor.copy_(it->second);
    }
  }

 private:
  MethodOptions o_;
  TransformerModel& model_;
  at::Tensor savedUv_[2];  // u and v as this step found them (undefined: none saved yet)
};

}  // namespace

std::unique_ptr<Method> makeRpt(const MethodOptions& o, TransformerModel& model) { return std::make_unique<Rpt>(o, model); }

}  // namespace advtrain
