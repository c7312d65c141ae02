// YOPO-m-n, "You Only Propagate Once" (Zhang et al., NeurIPS 2019), as ported to NLP in the FreeLB
// repository: each of the m outer steps is one full forward/backward on E + delta, whose backward also
// yields p = dL/dh1, the gradient at the first layer's output; then n inner steps maximise
// sum(h1(E + delta) * p) recomputing only the embeddings and the first layer, each a normalised ascent
// step and projection. Parameter gradients accumulate over the m outer passes; we scale each by 1/m
// (as FreeLB's loss / K) so learning rates transfer between methods.
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
    const at::Tensor bias = attentionBias(b.attentionMask, ctx.compute.dtype);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(model.device()), ctx.draws.start);
    at::Tensor total = at::zeros({}, at::TensorOptions().device(model.device()));
    at::Tensor last;
    for (int64_t j = 0; j < o_.outer; ++j) {
      delta = delta.detach();
      at::Tensor h1 = enc.layer(0, enc.embed(b, enc.wordEmbeddings(b.inputIds) + delta, {}, ctx.compute, nullptr), bias, ctx.compute, nullptr);
      h1.retain_grad();
      at::Tensor seq = enc.layers(h1, bias, 1, enc.numLayers(), ctx.compute, nullptr);
      at::Tensor loss = model.loss(model.head().forward(seq, b, ctx.compute, true), b);
      (loss * (ctx.lossScale / static_cast<double>(o_.outer))).backward();
      total = total + loss.detach() / static_cast<double>(o_.outer);
      last = loss;
      const at::Tensor p = h1.grad().detach();
      const at::Tensor words = enc.wordEmbeddings(b.inputIds).detach();
      for (int64_t i = 0; i < o_.inner; ++i) {
        delta.requires_grad_(true);
        at::Tensor h = enc.layer(0, enc.embed(b, words + delta, {}, ctx.compute, nullptr), bias, ctx.compute, nullptr);
        at::Tensor hamiltonian = (h.to(at::kFloat) * p.to(at::kFloat)).sum();
        delta = ascendProject(delta, gradWrt(hamiltonian, delta), mask, o_.stepSize, o_.epsilon, norm_);
      }
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
