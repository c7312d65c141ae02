// Random perturbation training, R3F (Aghajanyan et al., ICLR 2021, "Better Fine-Tuning by Reducing
// Representational Collapse"; fairseq examples/rxf, sentence_prediction_r3f): noise on the word embeddings
// of real tokens, U(-noiseStd, noiseStd) (noiseType "uniform", fairseq's default) or N(0, noiseStd)
// ("normal"); the noised pass runs on the detached word embeddings (fairseq's token_embeddings.detach()),
// so the embedding table learns from the clean pass only;
// loss = L(f(x)) + tau * symKL(f(x + noise), f(x)) with gradients through both sides, as fairseq's criterion.
// Extension: regression uses the MSE between the two outputs (fairseq's R3F is for classification).
// Departure: padding gets no noise (it cannot reach the outputs).
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

 private:
  MethodOptions o_;
};

}  // namespace

std::unique_ptr<Method> makeRpt(const MethodOptions& o, TransformerModel&) { return std::make_unique<Rpt>(o); }

}  // namespace advtrain
