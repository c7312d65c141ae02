// TextAT, token-aware virtual adversarial training (Li & Qiu, AAAI 2021, "Token-Aware Virtual
// Adversarial Training in Natural Language Understanding"; code LinyangLee/Token-Aware-VAT).
// A global table T [vocab, E] = U(-1, 1) * initMag / sqrt(E) persists across batches (and checkpoints).
// Per batch: a per-sentence delta_s (FreeLB's masked l2 start) and a token-aware delta_t = T[ids],
// normalised by its Frobenius norm over the batch's real tokens. K passes as FreeLB; between passes
//   delta_s += stepSize * g_s / ||g_s||_F (per example), delta_t += stepSize * g_t / ||g_t||_2 (per token),
//   delta_t,i *= ||delta_t,i|| / max_j ||delta_t,j|| (token-level normalisation within each sentence),
//   both scaled by min(1, epsilon / ||delta_s + delta_t||_F) (joint projection);
// after the last pass delta_t is added back into T's rows.
// Departures from the official code: each pass backpropagates loss / K as FreeLB does (the official
// loop backpropagates the full loss K times); padding carries no perturbation and the write-back
// touches only the rows of real tokens (the official code also writes the padding rows).
// Data parallel: the table's norm is over all ranks' rows, and every rank adds all ranks' rows to its
// table, as one process with their batches would.
#include "common/error.h"
#include "kernels/token_aware_step.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

#include <cmath>

namespace advtrain {

namespace {

class TextAt : public Method {
 public:
  TextAt(const MethodOptions& o, TransformerModel& model) : o_(o) {
    const int64_t V = model.config().vocabSize, E = model.config().embeddingSize;
    // Drawn from the trainer-seeded CPU generator: the same seed gives the same table on every device.
    table_ = scaledTable(at::empty({V, E}).uniform_(-1.0, 1.0, generatorFor(at::kCPU))).to(model.device());
  }

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const int64_t E = model.config().embeddingSize;
    if (ctx.draws.table.defined()) pending_.push_back({at::Tensor(), table_});  // the whole table, replaced
    if (ctx.draws.table.defined()) table_ = scaledTable(checkedDraw(ctx.draws.table, table_.sizes(), "TextAT table", model.device()));
    const at::Tensor mask = tokenMask(b);
    at::Tensor ds = initDelta(b, E, o_.initMag, Norm::L2, at::TensorOptions().device(model.device()), ctx.draws.start);
    at::Tensor dt;
    {
      at::NoGradGuard noGrad;
      dt = table_.index_select(0, b.inputIds.flatten()).view({b.rows(), b.seqLen(), E}) * mask;
      at::Tensor squares = dt.pow(2).sum();
      if (ctx.group) {
        // The norm is over the whole batch: every rank's rows of it.
        std::vector<at::Tensor> sum{squares.reshape({1}).to(ctx.group->commDevice())};
        ctx.group->allReduceSum(sum, "TextAT's table norm");
        squares = sum[0].to(dt.device()).reshape({});
      }
      dt = dt / squares.sqrt().clamp_min(1e-12);
    }
    dt.requires_grad_(true);
    at::Tensor total = at::zeros({}, at::TensorOptions().device(model.device()));
    at::Tensor last;
    const int64_t K = o_.steps;
    for (int64_t t = 0; t < K; ++t) {
      at::Tensor loss = model.loss(model.forward(b, Perturbation{ds + dt, {}}, ctx.compute, nullptr, true).logits, b);
      (loss * (ctx.lossScale / static_cast<double>(K))).backward();
      total = total + loss.detach() / static_cast<double>(K);
      last = loss;
      if (t == K - 1) break;
      TokenAwareDeltas next = tokenAwareStep(ds, ds.grad(), dt, dt.grad(), mask, o_.stepSize, o_.epsilon);
      ds = next.sentence.requires_grad_(true);
      dt = next.token.requires_grad_(true);
    }
    {
      at::NoGradGuard noGrad;
      const at::Tensor real = realPositions(b);
      at::Tensor ids = b.inputIds.flatten().index_select(0, real);
      at::Tensor rows = dt.detach().flatten(0, 1).index_select(0, real);
      if (ctx.group) {
        // The table is global: every rank adds every rank's rows (in rank order), so it stays equal.
        std::vector<at::Tensor> allIds = ctx.group->allGatherRows(ids, "TextAT's table update (token ids)");
        std::vector<at::Tensor> allRows = ctx.group->allGatherRows(rows, "TextAT's table update (rows)");
        ids = at::cat(allIds);
        rows = at::cat(allRows);
      }
      // Rows as they were before this step first touched them, for discardStep (a repeated id saves
      // the same row twice).
      pending_.push_back({ids, table_.index_select(0, ids)});
      table_.index_put_({ids}, rows, /*accumulate=*/true);
    }
    return attackMetrics(total, last, (ds + dt).detach(), Norm::L2);
  }

  void afterUpdate(TransformerModel&, int64_t) override { pending_.clear(); }

  void discardStep() override {
    at::NoGradGuard noGrad;
    // Newest first, so rows touched by several micro-batches end as the step found them.
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      if (it->rows.defined()) {
        table_.index_copy_(0, it->rows, it->values);
      } else {
        table_ = it->values;
      }
    }
    pending_.clear();
  }

  std::vector<std::pair<std::string, at::Tensor>> state() const override { return {{"table", table_}}; }

  void loadState(const std::map<std::string, at::Tensor>& state) override {
    auto it = state.find("table");
    if (it == state.end()) fail(kErrCheckpoint, "TextAT state has no 'table'");
    if (it->second.sizes() != table_.sizes()) fail(kErrCheckpoint, "TextAT table has the wrong shape");
    table_.copy_(it->second);
  }

 private:
  // T = U(-1, 1) * initMag / sqrt(E), from the U(-1, 1) draw `u`.
  at::Tensor scaledTable(const at::Tensor& u) const { return u * (o_.initMag / std::sqrt(static_cast<double>(u.size(1)))); }

  struct Saved {
    at::Tensor rows;    // undefined: `values` is the whole table
    at::Tensor values;
  };
  MethodOptions o_;
  at::Tensor table_;
  std::vector<Saved> pending_;  // what this step changed in table_, until its update is applied
};

}  // namespace

std::unique_ptr<Method> makeTextAt(const MethodOptions& o, TransformerModel& model) { return std::make_unique<TextAt>(o, model); }

}  // namespace advtrain
