#include "distributed/process_group.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef ADVTRAIN_WITH_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "common/error.h"
#include "distributed/nccl_group.h"

namespace advtrain {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CommBackend> pg;
};

namespace {

std::mutex groupMutex;
std::shared_ptr<ProcessGroup> group;

std::string where(const DistributedOptions& o) { return o.masterAddr + ":" + std::to_string(o.masterPort); }

bool isLoopback(const std::string& addr) { return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1"; }

#ifdef ADVTRAIN_WITH_GLOO
// The interface Gloo's pairs listen on: GLOO_SOCKET_IFNAME as in PyTorch, loopback for a local master,
// otherwise the address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> glooDevice(const DistributedOptions& o) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (isLoopback(o.masterAddr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

}  // namespace

bool hasGloo() {
#ifdef ADVTRAIN_WITH_GLOO
  return true;
#else
  return false;
#endif
}

bool hasNccl() { return ncclAvailable(); }

std::shared_ptr<ProcessGroup> ProcessGroup::create(const DistributedOptions& o) {
  if (o.worldSize < 1 || o.rank < 0 || o.rank >= o.worldSize) fail(kErrInvalidArg, "distributed: rank " + std::to_string(o.rank) + " is outside world size " + std::to_string(o.worldSize));
  if (o.masterPort < 1 || o.masterPort > 65535) fail(kErrInvalidArg, "distributed: masterPort must be 1..65535, got " + std::to_string(o.masterPort));
  if (o.timeoutMs < 1) fail(kErrInvalidArg, "distributed: timeoutMs must be >= 1");
  if (o.backend != "gloo" && o.backend != "nccl") fail(kErrInvalidArg, "distributed: backend must be 'gloo' or 'nccl', got '" + o.backend + "'");
  const std::chrono::milliseconds timeout(o.timeoutMs);
  auto impl = std::make_unique<Impl>();
  const std::string me = "rank " + std::to_string(o.rank) + " of " + std::to_string(o.worldSize);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.masterPort);
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<size_t>(o.worldSize);
    so.waitWorkers = true;
    so.timeout = timeout;
    impl->store = c10::make_intrusive<c10d::TCPStore>(o.masterAddr, so);
  } catch (const std::exception& e) {
    const std::string why = o.rank == 0 ? "could not listen on " + where(o) + " (is the port in use? pick another MASTER_PORT)"
                                        : "could not reach the master (rank 0) at " + where(o) + " within " + std::to_string(o.timeoutMs) + " ms";
    fail(kErrDistributed, "distributed: " + me + " " + why + ": " + e.what());
  }
  try {
    if (o.backend == "nccl") {
      impl->pg = makeNcclBackend(impl->store, o.rank, o.worldSize, timeout);
    } else {
#ifdef ADVTRAIN_WITH_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(glooDevice(o));
      impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, o.rank, o.worldSize, opts);
#else
      fail(kErrDistributed, "distributed: this build of the addon has no Gloo (gloo's headers were missing when it was compiled: install libgloo-dev and rebuild with npm run build:native)");
#endif
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(kErrDistributed, "distributed: " + me + " could not form the " + o.backend + " process group through " + where(o) + " within " + std::to_string(o.timeoutMs) + " ms: " + e.what());
  }
  return std::shared_ptr<ProcessGroup>(new ProcessGroup(o, std::move(impl)));
}

ProcessGroup::ProcessGroup(const DistributedOptions& o, std::unique_ptr<Impl> impl) : o_(o), impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

at::Device ProcessGroup::commDevice() const { return o_.backend == "nccl" ? o_.device : at::Device(at::kCPU); }

void ProcessGroup::failed(const std::string& what, const std::exception& e) const {
  std::string peers = o_.worldSize == 2 ? "rank " + std::to_string(1 - o_.rank) : "another rank";
  fail(kErrDistributed, "distributed: rank " + std::to_string(o_.rank) + " of " + std::to_string(o_.worldSize) + ": " + what + " failed (" + e.what() + "). " + peers +
                            " exited, failed or hung (the timeout is " + std::to_string(o_.timeoutMs) + " ms); its own output says why");
}

namespace {

// One collective per tensor (several tensors in one call are summed together as one rank's inputs), all
// launched before the first is waited for.
template <typename Launch>
void eachTensor(std::vector<at::Tensor>& tensors, Launch launch) {
  std::vector<std::vector<at::Tensor>> one;
  one.reserve(tensors.size());
  std::vector<c10::intrusive_ptr<CommWork>> works;
  for (auto& t : tensors) {
    one.push_back({t});
    works.push_back(launch(one.back()));
  }
  for (auto& w : works) w->wait();
}

}  // namespace

template <typename Fn>
auto ProcessGroup::guard(const std::string& what, Fn&& fn) const {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    failed(what, e);
  }
}

void ProcessGroup::allReduceSum(std::vector<at::Tensor>& tensors, const std::string& what) {
  guard(what, [&] { eachTensor(tensors, [&](std::vector<at::Tensor>& t) { return impl_->pg->allreduce(t, c10d::AllreduceOptions()); }); });
}

void ProcessGroup::broadcast(std::vector<at::Tensor>& tensors, const std::string& what) {
  c10d::BroadcastOptions bo;
  bo.rootRank = 0;
  guard(what, [&] { eachTensor(tensors, [&](std::vector<at::Tensor>& t) { return impl_->pg->broadcast(t, bo); }); });
}

std::vector<at::Tensor> ProcessGroup::allGather(const at::Tensor& t, const std::string& what) {
  return guard(what, [&] {
    std::vector<at::Tensor> in{t.contiguous()};
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < o_.worldSize; ++r) out[0].push_back(at::empty_like(in[0]));
    impl_->pg->allgather(out, in, c10d::AllgatherOptions())->wait();
    return out[0];
  });
}

std::vector<at::Tensor> ProcessGroup::allGatherRows(const at::Tensor& t, const std::string& what) {
  const at::Device home = t.device();
  at::Tensor count = at::tensor({t.size(0)}, at::kLong).to(commDevice());
  std::vector<at::Tensor> counts = allGather(count, what + " (row counts)");
  int64_t most = 0;
  std::vector<int64_t> n;
  for (const auto& c : counts) {
    n.push_back(c.item<int64_t>());
    most = std::max(most, n.back());
  }
  // Padded to the longest, since c10d's all-gather wants one shape everywhere.
  std::vector<int64_t> shape = t.sizes().vec();
  shape[0] = most;
  at::Tensor padded = at::zeros(shape, t.options().device(commDevice()));
  if (t.size(0) > 0) padded.narrow(0, 0, t.size(0)).copy_(t);
  std::vector<at::Tensor> all = allGather(padded, what);
  for (size_t r = 0; r < all.size(); ++r) all[r] = all[r].narrow(0, 0, n[r]).to(home);
  return all;
}

void ProcessGroup::barrier(const std::string& what) {
  guard(what, [&] { impl_->pg->barrier(c10d::BarrierOptions())->wait(); });
}

std::shared_ptr<ProcessGroup> currentProcessGroup() {
  std::lock_guard<std::mutex> lock(groupMutex);
  return group;
}

void setCurrentProcessGroup(std::shared_ptr<ProcessGroup> g) {
  std::lock_guard<std::mutex> lock(groupMutex);
  group = std::move(g);
}

}  // namespace advtrain
