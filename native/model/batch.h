// A batch on the model's device. Multiple-choice batches arrive flattened: N = batchSize * numChoices rows.
#pragma once
#include <ATen/ATen.h>

namespace advtrain {

struct Batch {
  at::Tensor inputIds;       // [N, L] int64
  at::Tensor attentionMask;  // [N, L] int64, 1 = real token
  at::Tensor tokenTypeIds;   // [N, L] int64
  int64_t numChoices = 0;    // > 0 for multiple choice
  at::Tensor labels;         // [B] int64 | [B] float (regression) | [N, L] int64 (token tasks, -100 ignored)
  at::Tensor startPositions; // [N] int64 (question answering)
  at::Tensor endPositions;   // [N] int64
  // Flat positions (in N * L) of the real tokens and of the labeled tokens (token-level labels != -100),
  // found on the host before the batch moves, so that selecting them on a GPU needs no host sync
  // (boolean-mask indexing does one). Undefined until to() computes them; see realPositions().
  at::Tensor realIndex;
  at::Tensor labeledIndex;
  // Found on the host with realIndex: the batch has padding, every row has a real token and no padding
  // position carries a token label, so the token-wise layers may skip the padding (Compute::packTokens).
  bool packable = false;

  int64_t rows() const { return inputIds.size(0); }
  int64_t seqLen() const { return inputIds.size(1); }
  bool hasLabels() const { return labels.defined() || startPositions.defined(); }

  Batch to(const at::Device& device) const {
    auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device, /*non_blocking=*/true) : t; };
    Batch b = *this;
    if (!b.realIndex.defined() && attentionMask.is_cpu()) {
      b.realIndex = attentionMask.flatten().nonzero().squeeze(1);
      const at::Tensor real = attentionMask.ne(0);
      const bool tokenLabels = labels.defined() && labels.dim() == 2;
      b.packable = b.realIndex.numel() < attentionMask.numel() && real.any(1).all().item<bool>() &&
                   (!tokenLabels || (labels.is_cpu() && !labels.ne(-100).logical_and(real.logical_not()).any().item<bool>()));
    }
    if (!b.labeledIndex.defined() && labels.defined() && labels.dim() == 2 && labels.is_cpu()) {
      b.labeledIndex = labels.flatten().ne(-100).nonzero().squeeze(1);
    }
    b.realIndex = move(b.realIndex);
    b.labeledIndex = move(b.labeledIndex);
    b.inputIds = move(inputIds);
    b.attentionMask = move(attentionMask);
    b.tokenTypeIds = move(tokenTypeIds);
    b.labels = move(labels);
    b.startPositions = move(startPositions);
    b.endPositions = move(endPositions);
    return b;
  }

  // Selects rows (examples); for multiple choice `index` selects whole examples (all their choices).
  Batch select(const at::Tensor& index) const;
};

// The flat positions of the real / labeled tokens: the host-computed ones when present, else found on
// the batch's device (a host sync on a GPU).
at::Tensor realPositions(const Batch& b);
at::Tensor labeledPositions(const Batch& b);

}  // namespace advtrain
