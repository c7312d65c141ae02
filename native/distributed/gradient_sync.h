// Gradient averaging across ranks, once per optimizer update: PyTorch DDP's bucketed all-reduce
// (buckets of ~25 MB, launched together), run after a method's last backward pass of the update, so
// FreeLB's or TextAT's K passes accumulate locally first (DDP's no_sync pattern).
// Departure from DDP: the buckets are reduced after the backward, not overlapped with it (a method's
// last backward is not known to the trainer ahead of time).
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "distributed/process_group.h"
#include "model/transformer.h"

namespace advtrain {

class GradientSync {
 public:
  GradientSync(std::shared_ptr<ProcessGroup> group, int64_t bucketBytes);

  // Replaces every gradient of `sets` by its mean over the ranks (a gradient missing on some ranks
  // counts as zeros there; missing on all ranks it stays missing) and returns `loss`'s mean over the
  // ranks (undefined when `loss` is). A non-finite gradient or loss on any rank is non-finite on all,
  // so every rank skips the same updates.
  at::Tensor average(const std::vector<std::vector<NamedParam>*>& sets, const at::Tensor& loss);

 private:
  std::shared_ptr<ProcessGroup> group_;
  int64_t bucketBytes_;
};

}  // namespace advtrain
