// Embedding-space attacks for robustness evaluation (eval mode, no parameter gradients): projected
// gradient ascent on the word embeddings, per example, with two step rules (FreeLB's normalised
// step, Madry's sign step), a zero or uniform start, a fixed number of steps (PGD accuracy under
// attack) or the stopping rule of FreeLB's scripts/get_highest_loss.py (max loss increase, radii).
// The loop runs on any per-example objective (attackLoop), so toy losses with a known optimum test
// the very loop the model uses (binding/attack_check.cc).
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <limits>
#include <string>

#include "model/batch.h"
#include "model/transformer.h"

namespace advtrain {

struct AttackOptions {
  double epsilon = 0.0;   // ball radius (per-example l2 over real tokens, or linf); 0 = unbounded
  std::string norm = "l2";
  // "normalized": delta + stepSize * g / ||g|| (||.||: l2, or max abs for linf; FreeLB, training);
  // "sign": delta + stepSize * sign(g) (Madry et al.'s l-inf PGD).
  std::string step = "normalized";
  // "zero", or "uniform": U(-1, 1) on real tokens times epsilon / sqrt(n_b * D) for l2 (FreeLB's
  // get_highest_loss.py), times epsilon for linf (Madry's random start).
  std::string start = "zero";
  double stepSize = 5e-3;
  int64_t steps = 10;      // iterations at most
  // get_highest_loss.py's stopping rule: stop an example after `patience` consecutive iterations whose
  // loss l satisfies (|l - max loss so far| / l < tol or std(previous 25 losses) / l < tol) with
  // ||delta|| >= 0.999 epsilon after the step. 0: run all steps.
  int64_t patience = 0;
  double tol = 1e-5;
  double stopAbove = std::numeric_limits<double>::infinity();  // stop an example once its max loss exceeds this
  int64_t seed = -1;       // the uniform start's draw: this seed, or (-1) the default generator
  bool keepDelta = false;  // return the final perturbation
  bool skipPadding = false;  // Compute::packTokens for every pass (the JS option, default true there)
};

struct AttackResult {
  at::Tensor cleanLoss;   // [B] per-example loss at delta = 0
  // [B] largest per-example loss at the evaluated iterates: the start and the point before each step,
  // and with patience 0 also the final point (as get_highest_loss.py, the point after the last step of
  // an early-stopped or capped run is not evaluated).
  at::Tensor maxLoss;
  at::Tensor finalLoss;   // [B] loss at the final delta
  at::Tensor cleanLogits; // task logits at delta = 0
  at::Tensor advLogits;   // task logits at the final delta
  at::Tensor iterations;  // [B] iterations each example ran
  at::Tensor deltaNorm;   // [N] final per-row norm
  at::Tensor succeeded;   // [B] float 0/1: misclassified at some evaluated iterate (final included)
  at::Tensor delta;       // [N, L, E] when keepDelta
};

// One evaluation of the objective at delta [N, L, E]: per-example loss [B] (differentiable in delta),
// the logits (may be undefined) and per-example misclassification [B] bool (may be undefined).
struct AttackPoint {
  at::Tensor loss, logits, wrong;
};
using AttackObjective = std::function<AttackPoint(const at::Tensor& delta)>;

// The attack on an objective; mask [N, L, 1] marks real tokens, shape is delta's [N, L, E], examples own
// rowsPerExample consecutive rows each.
AttackResult attackLoop(const AttackObjective& f, const at::Tensor& mask, at::IntArrayRef shape, int64_t rowsPerExample,
                        const AttackOptions& o);

AttackResult embeddingAttack(const TransformerModel& model, const Batch& b, const AttackOptions& o);

}  // namespace advtrain
