// YOPO-m-n, "You Only Propagate Once" (Zhang et al., NeurIPS 2019), as ported to NLP in the FreeLB
// repository (fairseq tasks/sentence_prediction.py, yopo_train_step): `outer` = 1 + K full
// forward/backward passes on E + delta, each backpropagating loss / (1 + K) into the parameters (the
// port's scaling); between two passes (K times, none after the last) the previous pass's backward gives
// p = dL/dh1, the gradient at the first layer's output, and `inner` steps maximise sum(h1(E + delta) * p)
// recomputing only the embeddings and the first layer, each a normalised ascent step and projection.
// Every pass, full and inner, uses the first pass's dropout masks (the port's init_dp=False). The reported
// perturbation is the one the last full pass trained on. With Compute::packTokens the layers run on the
// real tokens (h1 and p are then [T, H]): p is zero at padding in the padded computation (padding keys are
// masked), so the Hamiltonian is the same.
#include <optional>

#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class Yopo : public Method {
 public:
  explicit Yopo(const MethodOptions& o) : o_(o), norm_(normOf(o.norm)) {}

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const Encoder& enc = model.encoder();
    const at::Tensor mask = tokenMask(b);
    const at::Tensor bias = enc.layerMask(b, ctx.compute.dtype);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(model.device()), ctx.draws.start);
    std::unique_ptr<RngReplay> rng;
    if (ctx.compute.training) rng = std::make_unique<RngReplay>(model.device());
    const double scale = 1.0 / static_cast<double>(o_.outer);
    std::optional<TokenPacking> pack;
    // Not for extractive QA, whose head reads padding positions (as TransformerModel::forward decides).
    if (ctx.compute.packTokens && b.packable && model.config().task != Task::QuestionAnswering) pack = TokenPacking{realPositions(b), b.rows(), b.seqLen()};
    const TokenPacking* pk = pack ? &*pack : nullptr;
    // Layer 0 on the embedding output: [N, L, H], or [T, H] packed.
    auto first = [&](const at::Tensor& words) {
      at::Tensor e = enc.embed(b, words, {}, ctx.compute, nullptr);
      return enc.layers(pk ? pk->pack(e) : e, bias, 0, 1, ctx.compute, nullptr, pk);
    };
    at::Tensor total = at::zeros({}, at::TensorOptions().device(model.device()));
    at::Tensor last, p;
    for (int64_t j = 0; j < o_.outer; ++j) {
      if (j > 0) {
        const at::Tensor words = enc.wordEmbeddings(b.inputIds).detach();
        for (int64_t i = 0; i < o_.inner; ++i) {
          if (rng) rng->replay();
          delta = delta.detach().requires_grad_(true);
          at::Tensor h = first(words + delta);
          at::Tensor hamiltonian = (h.to(at::kFloat) * p.to(at::kFloat)).sum();
          delta = ascendProject(delta, gradWrt(hamiltonian, delta), mask, o_.stepSize, o_.epsilon, norm_);
        }
        if (rng) rng->replay();
      }
      delta = delta.detach();
      at::Tensor h1 = first(enc.wordEmbeddings(b.inputIds) + delta);
      h1.retain_grad();
      at::Tensor seq = enc.layers(h1, bias, 1, enc.numLayers(), ctx.compute, nullptr, pk);
      if (pk) seq = pk->unpack(seq);
      at::Tensor loss = model.loss(model.head().forward(seq, b, ctx.compute, true), b);
      (loss * (ctx.lossScale * scale)).backward();
      total = total + loss.detach() * scale;
      last = loss;
      p = h1.grad().detach();
    }
    return attackMetrics(total, last, delta, norm_);
  }

 private:
  MethodOptions o_;
  Norm norm_;
};

}  // namespace

std::unique_ptr<Method> makeYopo(const MethodOptions& o, TransformerModel&) { return std::make_unique<Yopo>(o); }

}  // namespace advtrain
