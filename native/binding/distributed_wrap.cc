#include "binding/distributed_wrap.h"

#include <cstring>

#include "binding/convert.h"
#include "binding/worker.h"
#include "common/device.h"
#include "distributed/process_group.h"

namespace advtrain {

namespace {

std::shared_ptr<ProcessGroup> liveGroup(const char* op) {
  auto g = currentProcessGroup();
  if (!g) fail(kErrDistributed, std::string("distributed.") + op + "() needs a process group: call distributed.init() first");
  return g;
}

// distributedInit({ rank, worldSize, localRank, masterAddr, masterPort, backend, timeoutMs, device }) -> Promise<void>.
// TypeScript resolves every field; nothing is defaulted here.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsObject()) badArg("options", "an object", info[0]);
    Napi::Object o = info[0].As<Napi::Object>();
    if (currentProcessGroup()) fail(kErrDistributed, "distributed.init() was already called in this process");
    DistributedOptions d;
    d.worldSize = static_cast<int>(requiredInt(o, "worldSize", "worldSize", 1));
    d.rank = static_cast<int>(requiredInt(o, "rank", "rank", 0));
    d.localRank = static_cast<int>(requiredInt(o, "localRank", "localRank", 0));
    d.masterAddr = requiredString(o, "masterAddr", "masterAddr");
    d.masterPort = static_cast<int>(requiredInt(o, "masterPort", "masterPort", 1));
    d.backend = optEnum(o, "backend", "", {"gloo", "nccl"}, "backend");
    d.timeoutMs = requiredInt(o, "timeoutMs", "timeoutMs", 1);
    d.device = parseDevice(requiredString(o, "device", "device"));
    // Rendezvous, barrier and all-gather wait on the other ranks: on the pool, not holding up the compute thread.
    return PromiseWorker<int>::start(
        env,
        [d]() {
          setCurrentProcessGroup(ProcessGroup::create(d));
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, nullptr, Thread::Pool);
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto g = liveGroup("barrier");
    return PromiseWorker<int>::start(
        env,
        [g]() {
          g->barrier("the barrier");
          return 0;
        },
        [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); }, nullptr, Thread::Pool);
  });
}

// distributedAllGather(Uint8Array) -> Promise<Uint8Array[]>: every rank's bytes in rank order.
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto g = liveGroup("allGather");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) badArg("bytes", "a Uint8Array", info[0]);
    Napi::Uint8Array in = info[0].As<Napi::Uint8Array>();
    at::Tensor t = at::empty({static_cast<int64_t>(in.ElementLength())}, at::kByte);
    if (in.ElementLength() > 0) std::memcpy(t.data_ptr<uint8_t>(), in.Data(), in.ElementLength());
    return PromiseWorker<std::vector<at::Tensor>>::start(
        env, [g, t]() { return g->allGatherRows(t, "the all-gather"); },
        [](Napi::Env env, std::vector<at::Tensor>& all) -> Napi::Value {
          Napi::Array out = Napi::Array::New(env, all.size());
          for (size_t r = 0; r < all.size(); ++r) {
            at::Tensor c = all[r].contiguous();
            Napi::Uint8Array a = Napi::Uint8Array::New(env, static_cast<size_t>(c.numel()));
            if (c.numel() > 0) std::memcpy(a.Data(), c.data_ptr<uint8_t>(), static_cast<size_t>(c.numel()));
            out.Set(static_cast<uint32_t>(r), a);
          }
          return out;
        },
        nullptr, Thread::Pool);
  });
}

// distributedShutdown(): drops this process's group (trainers made with it keep theirs alive).
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    setCurrentProcessGroup(nullptr);
    return info.Env().Undefined();
  });
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gloo", hasGloo());
  o.Set("nccl", hasNccl());
  return o;
}

}  // namespace

void registerDistributed(Napi::Env env, Napi::Object exports) {
  exports.Set("distributedInit", Napi::Function::New(env, Init, "distributedInit"));
  exports.Set("distributedBarrier", Napi::Function::New(env, Barrier, "distributedBarrier"));
  exports.Set("distributedAllGather", Napi::Function::New(env, AllGather, "distributedAllGather"));
  exports.Set("distributedShutdown", Napi::Function::New(env, Shutdown, "distributedShutdown"));
  exports.Set("distributedBackends", Napi::Function::New(env, Backends, "distributedBackends"));
}

}  // namespace advtrain
