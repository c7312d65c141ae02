#include "robustness/attack.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "kernels/ascent_step.h"
#include "methods/perturbation.h"

namespace advtrain {

namespace {

// Examples own rows: one row each, or numChoices rows for multiple choice.
at::Tensor rowsOf(const at::Tensor& perExample, int64_t rowsPerExample) {
  return rowsPerExample > 1 ? perExample.repeat_interleave(rowsPerExample) : perExample;
}

at::Tensor uniformStart(const at::Tensor& mask, at::IntArrayRef shape, Norm norm, double epsilon, int64_t seed) {
  at::Tensor u = at::empty(shape, at::kFloat);
  if (seed >= 0) {
    u.uniform_(-1.0, 1.0, at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed)));
  } else {
    u.uniform_(-1.0, 1.0);
  }
  u = u.to(mask.device()) * mask;
  if (norm == Norm::Linf) return u * epsilon;
  // get_highest_loss.py: epsilon / sqrt(src_lengths * D), so E||delta|| ~ epsilon / sqrt(3).
  at::Tensor n = mask.sum({1, 2}).clamp_min(1.0);
  return u * (epsilon / at::sqrt(n * static_cast<double>(shape[2]))).view({-1, 1, 1});
}

// Madry's step: delta + stepSize * sign(g) on real tokens, projected to the ball.
at::Tensor signStep(const at::Tensor& delta, const at::Tensor& g, const at::Tensor& mask, double stepSize, double epsilon, Norm norm) {
  at::Tensor u = delta + stepSize * at::sign(g.to(delta.scalar_type())) * mask;
  if (epsilon > 0) {
    if (norm == Norm::Linf) {
      u = u.clamp(-epsilon, epsilon);
    } else {
      at::Tensor n = u.flatten(1).norm(2, {1}).view({-1, 1, 1});
      u = u * at::where(n > epsilon, epsilon / n, at::ones_like(n));
    }
  }
  return u * mask;
}

at::Tensor perExampleMax(const at::Tensor& rows, int64_t rowsPerExample) {
  return rowsPerExample > 1 ? rows.view({-1, rowsPerExample}).amax(1) : rows;
}

}  // namespace

AttackResult attackLoop(const AttackObjective& f, const at::Tensor& mask, at::IntArrayRef shape, int64_t rowsPerExample,
                        const AttackOptions& o) {
  const Norm norm = normOf(o.norm);
  if (o.step != "normalized" && o.step != "sign") fail(kErrInvalidArg, c10::str("attack step must be 'normalized' or 'sign', got '", o.step, "'"));
  if (o.start != "zero" && o.start != "uniform") fail(kErrInvalidArg, c10::str("attack start must be 'zero' or 'uniform', got '", o.start, "'"));
  const bool sign = o.step == "sign";
  const at::Tensor m = mask.to(at::kFloat);
  at::Tensor delta = o.start == "uniform" ? uniformStart(m, shape, norm, o.epsilon, o.seed) : at::zeros(shape, m.options());
  AttackResult r;
  {
    at::NoGradGuard noGrad;
    AttackPoint clean = f(at::zeros(shape, m.options()));
    r.cleanLogits = clean.logits;
    r.cleanLoss = clean.loss.detach().to(at::kFloat);
  }
  const at::TensorOptions lossOpts = r.cleanLoss.options();
  const int64_t examples = r.cleanLoss.size(0);
  r.maxLoss = at::full({examples}, -std::numeric_limits<float>::infinity(), lossOpts);
  at::Tensor runMax = at::full({examples}, -1.0, lossOpts);  // get_highest_loss.py's max_loss starts at -1
  at::Tensor history = at::full({examples, 1}, -1.0, lossOpts);  // its running_history starts as [-1]
  constexpr int64_t kHistory = 25;                                 // hist_len // 2
  at::Tensor satisfied = at::zeros({examples}, lossOpts.dtype(at::kLong));
  at::Tensor active = at::ones({examples}, lossOpts.dtype(at::kBool));
  at::Tensor wrongAny = at::zeros({examples}, lossOpts.dtype(at::kBool));
  r.iterations = at::zeros({examples}, lossOpts.dtype(at::kLong));
  for (int64_t it = 1; it <= o.steps; ++it) {
    delta.requires_grad_(true);
    AttackPoint p = f(delta);
    // Examples are independent: the gradient of the sum is each example's own gradient.
    at::Tensor g = gradWrt(p.loss.sum(), delta);
    at::NoGradGuard noGrad;
    const at::Tensor loss = p.loss.detach().to(at::kFloat);
    delta = delta.detach();
    r.maxLoss = at::where(active, at::maximum(r.maxLoss, loss), r.maxLoss);
    if (p.wrong.defined()) wrongAny = wrongAny | (p.wrong & active);
    r.iterations = r.iterations + active.to(at::kLong);
    at::Tensor next = sign ? signStep(delta, g, m, o.stepSize, o.epsilon, norm) : ascendProject(delta, g, m, o.stepSize, o.epsilon, norm);
    at::Tensor stop = at::zeros_like(active);
    if (o.patience > 0) {
      const at::Tensor norms = perExampleMax(exampleNorm(next, norm), rowsPerExample);
      const at::Tensor change = (loss - runMax).abs() / loss;
      const at::Tensor spread = history.std(1, /*unbiased=*/false) / loss;
      const at::Tensor ok = (change.lt(o.tol) | spread.lt(o.tol)) & norms.ge(0.999 * o.epsilon);
      satisfied = at::where(ok, satisfied + 1, at::zeros_like(satisfied));
      history = history.size(1) < kHistory ? at::cat({history, loss.unsqueeze(1)}, 1)
                                           : at::cat({history.slice(1, 1), loss.unsqueeze(1)}, 1);
      stop = stop | satisfied.ge(o.patience);
    }
    runMax = at::where(active, at::maximum(runMax, loss), runMax);
    if (std::isfinite(o.stopAbove)) stop = stop | runMax.gt(o.stopAbove);
    delta = at::where(rowsOf(active, rowsPerExample).view({-1, 1, 1}), next, delta);
    active = active & ~stop;
    if ((o.patience > 0 || std::isfinite(o.stopAbove)) && !active.any().item<bool>()) break;
  }
  at::NoGradGuard noGrad;
  AttackPoint last = f(delta);
  r.advLogits = last.logits;
  r.finalLoss = last.loss.detach().to(at::kFloat);
  if (o.patience == 0 && !std::isfinite(o.stopAbove)) r.maxLoss = at::maximum(r.maxLoss, r.finalLoss);
  if (last.wrong.defined()) wrongAny = wrongAny | last.wrong;
  r.succeeded = wrongAny.to(at::kFloat);
  r.deltaNorm = exampleNorm(delta, norm);
  if (o.keepDelta) r.delta = delta;
  return r;
}

AttackResult embeddingAttack(const TransformerModel& model, const Batch& b, const AttackOptions& o) {
  Compute c;  // eval mode: no dropout, so every iteration sees the same function
  c.dtype = model.dtype();
  // Padding's outputs only feed logits whose labels are ignored (Batch::packable): skipping it changes the
  // per-example losses by rounding only.
  c.packTokens = o.skipPadding;
  const int64_t perExample = b.numChoices > 0 ? b.numChoices : 1;
  const AttackObjective f = [&](const at::Tensor& delta) {
    AttackPoint p;
    p.logits = model.forward(b, Perturbation{delta, {}}, c).logits;
    p.loss = model.loss(p.logits, b, true);
    const int64_t n = p.loss.size(0);
    // Class predictions (classification, multiple choice): misclassified when argmax != label.
    if (b.labels.defined() && b.labels.dim() == 1 && b.labels.scalar_type() == at::kLong && b.labels.size(0) == n && p.logits.numel() > n) {
      p.wrong = p.logits.detach().reshape({n, -1}).argmax(1).ne(b.labels);
    }
    return p;
  };
  const at::Tensor mask = tokenMask(b).to(model.device());
  return attackLoop(f, mask, {b.rows(), b.seqLen(), model.config().embeddingSize}, perExample, o);
}

}  // namespace advtrain
