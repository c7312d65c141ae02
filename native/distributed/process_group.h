// One c10d process group per process: rendezvous through c10d's TCPStore, collectives through
// ProcessGroupGloo (CPU tensors) or ProcessGroupNCCL (CUDA tensors, CUDA builds whose libtorch has it).
// Every c10d failure becomes ERR_DISTRIBUTED naming this rank and the collective.
#pragma once
#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace advtrain {

struct DistributedOptions {
  int rank = 0;
  int worldSize = 1;
  int localRank = 0;
  std::string masterAddr;
  int masterPort = 0;
  std::string backend;  // "gloo" | "nccl"
  int64_t timeoutMs = 0;
  at::Device device = at::kCPU;  // where this rank's model lives (cuda:localRank with NCCL)
};

class ProcessGroup {
 public:
  // Rendezvous with the other ranks (blocks until all arrived or the timeout passed).
  static std::shared_ptr<ProcessGroup> create(const DistributedOptions& o);
  ~ProcessGroup();

  int rank() const { return o_.rank; }
  int worldSize() const { return o_.worldSize; }
  const std::string& backend() const { return o_.backend; }
  int64_t timeoutMs() const { return o_.timeoutMs; }
  // The device collectives run on: CUDA tensors for NCCL, CPU for Gloo (tensors are moved as needed).
  at::Device commDevice() const;

  // Sums each tensor across ranks, in place; all launched before the first is waited for.
  void allReduceSum(std::vector<at::Tensor>& tensors, const std::string& what);
  // Rank 0's values into every rank's tensors, in place.
  void broadcast(std::vector<at::Tensor>& tensors, const std::string& what);
  // Every rank's `t` (same shape and dtype on every rank), in rank order.
  std::vector<at::Tensor> allGather(const at::Tensor& t, const std::string& what);
  // Every rank's `t` where only the first dimension may differ between ranks, in rank order.
  std::vector<at::Tensor> allGatherRows(const at::Tensor& t, const std::string& what);
  void barrier(const std::string& what);

 private:
  struct Impl;
  ProcessGroup(const DistributedOptions& o, std::unique_ptr<Impl> impl);
  [[noreturn]] void failed(const std::string& what, const std::exception& e) const;
  // Runs `fn`, turning c10d's exceptions into ERR_DISTRIBUTED about `what`.
  template <typename Fn>
  auto guard(const std::string& what, Fn&& fn) const;
  DistributedOptions o_;
  std::unique_ptr<Impl> impl_;
};

// The process's group, set by the binding's distributed.init(); null in a single process.
std::shared_ptr<ProcessGroup> currentProcessGroup();
void setCurrentProcessGroup(std::shared_ptr<ProcessGroup> group);

// Whether this build can make each backend (Gloo needs gloo's headers at build time; NCCL a CUDA
// libtorch built with it and nccl.h).
bool hasGloo();
bool hasNccl();

}  // namespace advtrain
