// Embedding-space attacks for robustness evaluation (eval mode, no parameter gradients): PGD on the
// word embeddings that tracks each example's largest loss, with per-example early stopping (FreeLB's
// "max loss increase in an epsilon-ball" protocol) or a fixed number of steps (accuracy under attack).
#pragma once
#include <ATen/ATen.h>

#include "model/batch.h"
#include "model/transformer.h"

namespace advtrain {

struct AttackOptions {
  double epsilon = 0.0;   // ball radius (per-example l2 over real tokens, or linf); 0 = unbounded
  std::string norm = "l2";
  double stepSize = 5e-3;  // normalised ascent step
  int64_t steps = 10;      // iterations at most
  int64_t patience = 0;    // stop an example after this many iterations without a larger loss; 0 = never
  bool keepDelta = false;  // return the final perturbation
};

struct AttackResult {
  at::Tensor cleanLoss;   // [B] per-example loss at delta = 0
  at::Tensor maxLoss;     // [B] largest per-example loss seen
  at::Tensor finalLoss;   // [B] loss at the final delta
  at::Tensor cleanLogits; // task logits at delta = 0
  at::Tensor advLogits;   // task logits at the final delta
  at::Tensor iterations;  // [B] iterations each example ran
  at::Tensor deltaNorm;   // [N] final per-row norm
  at::Tensor delta;       // [N, L, E] when keepDelta
};

AttackResult embeddingAttack(const TransformerModel& model, const Batch& b, const AttackOptions& o);

}  // namespace advtrain
