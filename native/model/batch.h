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

  int64_t rows() const { return inputIds.size(0); }
  int64_t seqLen() const { return inputIds.size(1); }
  bool hasLabels() const { return labels.defined() || startPositions.defined(); }

  Batch to(const at::Device& device) const {
    auto move = [&](const at::Tensor& t) { return t.defined() ? t.to(device, /*non_blocking=*/true) : t; };
    Batch b = *this;
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

}  // namespace advtrain
