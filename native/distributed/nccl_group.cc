#include "distributed/nccl_group.h"

#ifdef ADVTRAIN_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "common/error.h"

namespace advtrain {

bool ncclAvailable() {
#ifdef ADVTRAIN_WITH_NCCL
  return true;
#else
  return false;
#endif
}

c10::intrusive_ptr<CommBackend> makeNcclBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, std::chrono::milliseconds timeout) {
#ifdef ADVTRAIN_WITH_NCCL
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
  fail(kErrDistributed, "distributed: this build of the addon has no NCCL (a CUDA build against a libtorch with NCCL and nccl.h is needed); use backend 'gloo'");
#endif
}

}  // namespace advtrain
