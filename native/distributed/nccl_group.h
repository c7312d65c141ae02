// The c10d type that differs between libtorch 1.x (ProcessGroup) and 2.x (Backend), and the NCCL backend, compiled only into CUDA builds whose libtorch has it.
#pragma once
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/version.h>

#include <chrono>

#include <torch/csrc/distributed/c10d/Work.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
namespace advtrain {
using CommBackend = c10d::Backend;
}  // namespace advtrain
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
namespace advtrain {
using CommBackend = c10d::ProcessGroup;
}  // namespace advtrain
#endif
namespace advtrain {
using CommWork = c10d::Work;
}  // namespace advtrain

namespace advtrain {

bool ncclAvailable();
// Throws ERR_DISTRIBUTED where the build has no NCCL.
c10::intrusive_ptr<CommBackend> makeNcclBackend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size, std::chrono::milliseconds timeout);

}  // namespace advtrain
