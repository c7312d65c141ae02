// InfoBERT (Wang et al., ICLR 2021, "InfoBERT: Improving Robustness of Language Models from an Information
// Theoretic Perspective"; code: AI-secure/InfoBERT ANLI/local_robust_trainer.py _adv_training_step with
// run_anli.py's estimator version 6, the published recipe). FreeLB's K passes on E + delta (the same
// dropout masks in every pass, as the official DropoutModel's kept masks), and in every pass t:
//   h0 = the encoder's input (hidden_states[0]), hL = the last hidden state, y = h0 at the real tokens;
//   information bottleneck (CLUBv2, version 3, parameter-free): UB = beta * mean_j ||y_j - y_r(j)||^2 / 2,
//     r(j) = randint(n) with replacement; (L_t / K + UB / K).backward() (parameters and delta);
//   anchored features: per example, the real tokens ranked by ||dL/d delta|| ascending, ranks
//     [ceil(n cl), ceil(n ch)); pairs (h0[i, anchor], hL[i, 0]) in sklearn.utils.shuffle(random_state=seed)'s
//     order (numpy's RandomState(seed).shuffle), cut into chunks of `anchorBatch` (the official
//     train_batch_size); per chunk the InfoNCE bound of MI_estimators.InfoNCE (critic F = Linear(2H, 300),
//     ReLU, Linear(300, 1), Softplus on [h0, hL]):
//       I = mean_i F(x_i, y_i) - (mean_i logsumexp_j F(x_j, y_i) - log s);
//     LB = -alpha / K * mean over chunks of I; LB.backward() (parameters and critic);
//   then FreeLB's ascent and projection, except after the last pass.
// The critic is trained by the model's optimizer (run: its AdamW, weight decay on all of its weights, the
// same schedule, not clipped); here the trainer's optimizer settings and learning rate, unclipped, its
// state checkpointed beside the critic's weights (see Method::trainableParams).
// As the official code, the task loss is divided by the number of micro-batches and the two bounds are not.
// Departures: a step whose batch has no anchor (very short sequences) skips LB (the official code fails);
// alpha 0 skips LB and the critic, beta 0 skips UB; InfoNCE's unused randint draw is not made; sequences are
// assumed right-padded (the official get_seq_len takes the first n positions, as here).
#include <cmath>
#include <numeric>
#include <random>

#include "common/error.h"
#include "methods/perturbation.h"
#include "methods/registry.h"

namespace advtrain {

namespace {

constexpr int64_t kCriticHidden = 300;  // MI_estimators.InfoNCE.lower_size
constexpr int64_t kGridElements = int64_t{1} << 24;  // floats in one group's pair grids (64 MB)

// numpy's legacy RandomState(seed).shuffle(arange(n)) (what sklearn.utils.shuffle does): MT19937 seeded by
// init_genrand (as std::mt19937), Fisher-Yates from the end with random_interval's masked rejection.
std::vector<int64_t> numpyShuffle(int64_t n, uint32_t seed) {
  std::mt19937 mt(seed);
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  for (int64_t i = n - 1; i >= 1; --i) {
    uint64_t mask = static_cast<uint64_t>(i);
    for (int s : {1, 2, 4, 8, 16, 32}) mask |= mask >> s;
    uint64_t v;
    do {
      v = static_cast<uint64_t>(mt()) & mask;
    } while (v > static_cast<uint64_t>(i));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(v)]);
  }
  return idx;
}

class InfoBert : public Method {
 public:
  InfoBert(const MethodOptions& o, TransformerModel& model) : o_(o), norm_(normOf(o.norm)), H_(model.config().hiddenSize) {
    if (o_.lrAlpha <= 0.0) return;
    // nn.Linear's init, U(-1, 1) / sqrt(fan_in), from the trainer-seeded CPU generator.
    at::Tensor u = at::empty({criticSize()}).uniform_(-1.0, 1.0, generatorFor(at::kCPU));
    const at::TensorOptions opt = at::TensorOptions().device(model.device()).dtype(at::kFloat);
    const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
        {"F_func.0.weight", {kCriticHidden, 2 * H_}}, {"F_func.0.bias", {kCriticHidden}}, {"F_func.2.weight", {1, kCriticHidden}}, {"F_func.2.bias", {1}}};
    for (const auto& [name, shape] : shapes) critic_.push_back({name, at::zeros(shape, opt).requires_grad_(true), true});
    setCritic(u);
  }

  std::vector<NamedParam>* trainableParams() override { return critic_.empty() ? nullptr : &critic_; }

  StepMetrics accumulate(const Batch& b, StepContext& ctx) override {
    TransformerModel& model = ctx.model;
    const at::Device device = model.device();
    if (ctx.draws.estimator.defined() && !critic_.empty()) setCritic(checkedDraw(ctx.draws.estimator, {criticSize()}, "InfoNCE critic", at::kCPU));
    const int64_t N = b.rows(), L = b.seqLen(), K = o_.steps;
    const at::Tensor mask = tokenMask(b);
    at::Tensor delta = initDelta(b, model.config().embeddingSize, o_.initMag, norm_, at::TensorOptions().device(device), ctx.draws.start);
    std::unique_ptr<RngReplay> rng;
    if (ctx.compute.training) rng = std::make_unique<RngReplay>(device);
    // Real positions, the first n of each row (get_seq_len).
    const at::Tensor lengths = b.attentionMask.sum(1).to(at::kLong).cpu();
    std::vector<int64_t> len(static_cast<size_t>(N)), real;
    for (int64_t i = 0; i < N; ++i) {
      len[static_cast<size_t>(i)] = lengths[i].item<int64_t>();
      for (int64_t p = 0; p < len[static_cast<size_t>(i)]; ++p) real.push_back(i * L + p);
    }
    const int64_t n = static_cast<int64_t>(real.size());
    // Whether some row has anchors (ranks [ceil(n cl), ceil(n ch)) not empty): known from the lengths alone.
    bool anyAnchor = false;
    for (const int64_t li : len) {
      const double ln = static_cast<double>(li);
      anyAnchor = anyAnchor || std::ceil(ln * o_.anchorHigh) > std::ceil(ln * o_.anchorLow);
    }
    const at::Tensor realIdx = at::tensor(real, at::kLong).to(device);
    at::Tensor indexDraws;
    if (ctx.draws.indices.defined()) indexDraws = checkedDraw(ctx.draws.indices, {K, N * L}, "CLUB index", at::kCPU).to(at::kDouble);
    const double invK = 1.0 / static_cast<double>(K);
    at::Tensor taskSum = at::zeros({}, at::TensorOptions().device(device));
    at::Tensor upperSum = taskSum.clone(), lowerSum = taskSum.clone();
    at::Tensor last;
    int64_t anchorCount = 0;
    for (int64_t t = 0; t < K; ++t) {
      if (rng && t > 0) rng->replay();
      // Only the encoder's input is traced, so the layers may skip padding (the last hidden state is the
      // pass's own output; its first row is all LB reads).
      EncoderTrace trace;
      trace.input = true;
      ForwardResult r = model.forward(b, Perturbation{delta, {}}, ctx.compute, &trace, true);
      const at::Tensor h0 = trace.hiddenStates.front().to(at::kFloat).reshape({N * L, -1});
      const at::Tensor cls = r.sequence.to(at::kFloat).select(1, 0);
      const at::Tensor task = model.loss(r.logits, b);
      at::Tensor objective = task * (ctx.lossScale * invK);
      taskSum = taskSum + task.detach() * invK;
      last = task;
      if (o_.ibBeta > 0.0 && n > 0) {
        const at::Tensor y = h0.index_select(0, realIdx);
        const at::Tensor neg = indexDraws.defined() ? at::floor(indexDraws[t].narrow(0, 0, n) * static_cast<double>(n)).clamp_max(n - 1).to(at::kLong).to(device)
                                                    : at::randint(n, {n}, generatorFor(device), at::TensorOptions().device(device).dtype(at::kLong));
        const at::Tensor ub = o_.ibBeta * (at::pow(y - y.index_select(0, neg), 2).sum(-1) / 2.0).mean() * invK;
        objective = objective + ub;
        upperSum = upperSum + ub.detach();
      }
      at::Tensor g;
      if (critic_.empty() || !anyAnchor) {
        objective.backward();
        g = delta.grad().detach().clone();
      } else {
        // The official code runs objective.backward() and then LB.backward(), two full backward passes. LB
        // needs dObjective/ddelta first (its anchors), so here that comes from a delta-only pass and one
        // backward of objective + LB gives the parameters (and the critic) the same sum of gradients.
        g = gradWrt(objective, delta, /*retainGraph=*/true).detach();
        const at::Tensor scaled = lowerBound(h0, cls, g, len, L, device, &anchorCount) * (o_.lrAlpha * invK);
        (objective + scaled).backward();
        lowerSum = lowerSum + scaled.detach();
      }
      if (t == K - 1) break;
      delta = ascendProject(delta, g, mask, o_.stepSize, o_.epsilon, norm_).requires_grad_(true);
    }
    StepMetrics m = attackMetrics(taskSum + upperSum + lowerSum, last, delta, norm_);
    m.set("taskLoss", taskSum);
    m.set("upperBound", upperSum);
    m.set("lowerBound", lowerSum);
    m.set("anchors", at::scalar_tensor(static_cast<double>(anchorCount)));
    return m;
  }

  std::vector<std::pair<std::string, at::Tensor>> state() const override {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& p : critic_) out.emplace_back("estimator." + p.name, p.tensor.detach());
    return out;
  }

  void loadState(const std::map<std::string, at::Tensor>& state) override {
    at::NoGradGuard noGrad;
    for (auto& p : critic_) {
      auto it = state.find("estimator." + p.name);
      if (it == state.end()) fail(kErrCheckpoint, "InfoBERT state has no critic weight 'estimator." + p.name + "'");
      if (it->second.sizes() != p.tensor.sizes()) fail(kErrCheckpoint, "InfoBERT critic weight 'estimator." + p.name + "' has the wrong shape");
      p.tensor.copy_(it->second);
    }
  }

 private:
  int64_t criticSize() const { return kCriticHidden * 2 * H_ + kCriticHidden + kCriticHidden + 1; }

  // Weights from a U(-1, 1) vector laid out W1, b1, W2, b2 (row-major), each times 1 / sqrt(fan_in).
  void setCritic(const at::Tensor& u) {
    at::NoGradGuard noGrad;
    int64_t off = 0;
    for (auto& p : critic_) {
      const int64_t fanIn = p.name.rfind("F_func.0", 0) == 0 ? 2 * H_ : kCriticHidden;
      const int64_t k = p.tensor.numel();
      p.tensor.copy_(u.narrow(0, off, k).view(p.tensor.sizes()) / std::sqrt(static_cast<double>(fanIn)));
      off += k;
    }
  }

  // InfoNCE's bound for each of G chunks of s pairs: a, c [G, s, 300] are x W1x^T and y W1y^T + b1 (the first
  // layer split over [x, y]); T1[g, i, j] = F(x_j, y_i) = softplus(relu(c_i + a_j) w2 + b2) -> [G].
  at::Tensor chunkBounds(const at::Tensor& a, const at::Tensor& c) const {
    const int64_t s = a.size(1);
    const at::Tensor pre = at::relu(c.unsqueeze(2) + a.unsqueeze(1));  // [G, s_y, s_x, 300]
    const at::Tensor t1 = at::softplus(at::matmul(pre, critic_[2].tensor.t()).squeeze(-1) + critic_[3].tensor);
    const at::Tensor t0 = t1.diagonal(0, 1, 2);
    return t0.mean(-1) - (at::logsumexp(t1, {2}).mean(-1) - std::log(static_cast<double>(s)));
  }

  // -mean over chunks of the InfoNCE bound on the anchors picked from `grad`; undefined when there are none.
  at::Tensor lowerBound(const at::Tensor& h0, const at::Tensor& cls, const at::Tensor& grad, const std::vector<int64_t>& len, int64_t L,
                        const at::Device& device, int64_t* count) const {
    const at::Tensor norms = grad.to(at::kFloat).norm(2, {-1}).cpu();  // [N, L]
    std::vector<int64_t> local, global;
    for (size_t i = 0; i < len.size(); ++i) {
      const int64_t n = len[i];
      if (n == 0) continue;
      const int64_t lo = static_cast<int64_t>(std::ceil(static_cast<double>(n) * o_.anchorLow));
      const int64_t hi = static_cast<int64_t>(std::ceil(static_cast<double>(n) * o_.anchorHigh));
      const at::Tensor order = std::get<1>(at::sort(norms[static_cast<int64_t>(i)].narrow(0, 0, n))).contiguous();
      const int64_t* rank = order.data_ptr<int64_t>();
      for (int64_t k = lo; k < hi; ++k) {
        local.push_back(static_cast<int64_t>(i) * L + rank[k]);
        global.push_back(static_cast<int64_t>(i));
      }
    }
    const int64_t total = static_cast<int64_t>(local.size());
    *count += total;
    if (total == 0) return {};
    const std::vector<int64_t> perm = numpyShuffle(total, static_cast<uint32_t>(o_.anchorSeed));
    std::vector<int64_t> pl(local.size()), pg(global.size());
    for (size_t k = 0; k < perm.size(); ++k) {
      pl[k] = local[static_cast<size_t>(perm[k])];
      pg[k] = global[static_cast<size_t>(perm[k])];
    }
    const at::Tensor x = h0.index_select(0, at::tensor(pl, at::kLong).to(device));
    const at::Tensor y = cls.index_select(0, at::tensor(pg, at::kLong).to(device));
    // The first layer once for all anchors, then the chunks' [s, s, 300] pair grids in groups of at most
    // kGridElements (the official code runs the chunks one by one; the bounds are the same).
    const at::Tensor& w1 = critic_[0].tensor;
    const at::Tensor a = at::matmul(x, w1.narrow(1, 0, H_).t());
    const at::Tensor c = at::matmul(y, w1.narrow(1, H_, H_).t()) + critic_[1].tensor;
    const int64_t S = o_.anchorBatch, full = total / S, rest = total % S;
    const int64_t perGroup = std::max<int64_t>(1, kGridElements / (S * S * kCriticHidden));
    std::vector<at::Tensor> bounds;
    for (int64_t g0 = 0; g0 < full; g0 += perGroup) {
      const int64_t G = std::min(perGroup, full - g0);
      bounds.push_back(chunkBounds(a.narrow(0, g0 * S, G * S).view({G, S, kCriticHidden}), c.narrow(0, g0 * S, G * S).view({G, S, kCriticHidden})));
    }
    if (rest > 0) bounds.push_back(chunkBounds(a.narrow(0, full * S, rest).unsqueeze(0), c.narrow(0, full * S, rest).unsqueeze(0)));
    return -at::cat(bounds).mean();
  }

  MethodOptions o_;
  Norm norm_;
  int64_t H_;
  std::vector<NamedParam> critic_;
};

}  // namespace

std::unique_ptr<Method> makeInfoBert(const MethodOptions& o, TransformerModel& model) { return std::make_unique<InfoBert>(o, model); }

}  // namespace advtrain
