// FreeAT, "free" adversarial training (Shafahi et al., NeurIPS 2019, "Adversarial Training for
// Free!"), as ported to NLP in the FreeLB repository (fairseq trainer.freeat_train_step): each step is
// replayed `replays` = m times; every replay runs each micro-batch once on E + delta_i (one delta per
// micro-batch), backpropagates loss / (1 + m) (the port's scaling) into the parameters, takes one
// normalised ascent step and projection on delta_i with the same backward's delta-gradient, and ends with
// a full optimizer update. As in the NLP port, the deltas restart for each step (the image version carries
// them across minibatches). One trainer.step() is therefore `replays` optimizer updates and schedule steps.
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

class FreeAt : public Method {
 public:
  explicit FreeAt(const MethodOptions& o) : o_(o), norm_(normOf(o.norm)) {}

  bool updatesItself() const override { return true; }
  int64_t updatesPerStep() const override { return o_.replays; }

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override { return updateAll({b}, ctx); }

  StepMetrics updateAll(const std::vector<Batch>& bs, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const double m = static_cast<double>(o_.replays);
    std::vector<at::Tensor> deltas, masks, totals, lasts;
    for (const Batch& b : bs) {
      masks.push_back(tokenMask(b));
      deltas.push_back(initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(model.device()), ctx.draws.start));
      totals.push_back(at::zeros({}, at::TensorOptions().device(model.device())));
      lasts.emplace_back();
    }
    for (int64_t r = 0; r < o_.replays; ++r) {
      at::Tensor replayLoss = at::zeros({}, at::TensorOptions().device(model.device()));
      for (size_t i = 0; i < bs.size(); ++i) {
        at::Tensor loss = model.loss(model.forward(bs[i], Perturbation{deltas[i], {}}, ctx.compute, nullptr, true).logits, bs[i]);
        (loss * (ctx.lossScale / (1.0 + m))).backward();
        at::Tensor g = deltas[i].grad().detach();
        totals[i] = totals[i] + loss.detach() / m;
        lasts[i] = loss;
        replayLoss = replayLoss + loss.detach();
        deltas[i] = ascendProject(deltas[i], g, masks[i], o_.stepSize, o_.epsilon, norm_).requires_grad_(true);
      }
      // A skipped replay ends the step; the trainer rolls the earlier replays' updates back.
      if (!ctx.applyUpdate(replayLoss)) break;
    }
    // Figures summed over micro-batches (the trainer averages them); loss = mean over replays of the
    // unscaled loss, advLoss = the last replay's.
    std::map<std::string, at::Tensor> sums;
    for (size_t i = 0; i < bs.size(); ++i) {
      StepMetrics mi = attackMetrics(totals[i], lasts[i], deltas[i], norm_);
      for (const auto& [k, v] : mi.values()) sums[k] = sums.count(k) ? sums[k] + v : v;
    }
    StepMetrics out;
    for (const auto& [k, v] : sums) out.set(k, v);
    return out;
  }

 private:
  MethodOptions o_;
  Norm norm_;
};

}  // namespace

std::unique_ptr<Method> makeFreeAt(const MethodOptions& o, TransformerModel&) { return std::make_unique<FreeAt>(o); }

}  // namespace advtrain
