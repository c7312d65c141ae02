// Module entry: registers the exposed classes and the small synchronous/diagnostic functions.
#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/version.h>

#include <dlfcn.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <new>
#include <sstream>
#include <thread>

#include "binding/addon_data.h"
#include "binding/attack_check.h"
#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/exports.h"
#include "binding/kernel_check.h"
#include "binding/worker.h"
#include "common/device.h"
#include "common/error.h"

#ifdef ADVTRAIN_WITH_CUDA
#include "kernels/device_query.h"
#endif
#include "model/layers.h"

namespace advtrain {

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

namespace {

// libtorch starts with one intra-op thread on some builds; use every core unless told otherwise
// (ADVTRAIN_NUM_THREADS first, then OMP_NUM_THREADS). glibc serves large blocks (activations,
// gradients, optimizer temporaries) with fresh mmaps that it unmaps on free, so every training step
// page-faults tens of MB in again (most of a CPU step's time went to the kernel). Keep them in the
// heap for reuse instead.
void configureThreads() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Documented in the README; glibc's own variables override these.
    if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 1 << 30);
    if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
    int n = static_cast<int>(std::thread::hardware_concurrency());
    if (const char* env = std::getenv("OMP_NUM_THREADS")) n = std::atoi(env);
    if (const char* env = std::getenv("ADVTRAIN_NUM_THREADS")) n = std::atoi(env);
    if (n > 0) at::set_num_threads(n);
  });
}

// The folder of the libtorch_cpu this process actually runs (at::get_num_threads lives in it).
std::string loadedTorchLibrary() {
  Dl_info dl{};
  if (!dladdr(reinterpret_cast<void*>(&at::get_num_threads), &dl) || !dl.dli_fname) return "";
  char resolved[PATH_MAX];
  return realpath(dl.dli_fname, resolved) ? std::string(resolved) : std::string(dl.dli_fname);
}

std::string dirOf(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

std::string realDir(const std::string& dir) {
  char resolved[PATH_MAX];
  return realpath(dir.c_str(), resolved) ? std::string(resolved) : dir;
}

// A libtorch other than the one compiled against (LD_LIBRARY_PATH, a moved install, two on the system)
// fails at the first call that differs, as an abort: refuse to load instead, with both paths.
void checkTorchLibrary(Napi::Env env) {
#ifdef ADVTRAIN_TORCH_LIB_DIR
  const std::string loaded = loadedTorchLibrary();
  if (loaded.empty()) return;
  const std::string expected = realDir(ADVTRAIN_TORCH_LIB_DIR);
  if (dirOf(loaded) != expected) {
    Napi::Error err = Napi::Error::New(env, std::string("advtrain: the addon was compiled against libtorch ") + TORCH_VERSION + " in " +
                                                expected + " but this process loaded " + loaded +
                                                ". Rebuild the addon against the libtorch you want (`npm rebuild advtrain`; "
                                                "`node scripts/libtorch.mjs` shows which one the build finds), or remove the "
                                                "other one from LD_LIBRARY_PATH.");
    err.Set("code", "ERR_TORCH_MISMATCH");
    throw err;
  }
#endif
}

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  addonData(info.Env()).errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("torchVersion", TORCH_VERSION);
  out.Set("torchLibrary", loadedTorchLibrary());
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("buildType", ADVTRAIN_BUILD_TYPE);
  out.Set("numThreads", at::get_num_threads());
  out.Set("parallelInfo", at::get_parallel_info());
  out.Set("torchConfig", at::show_config());
  const CpuBf16 bf16 = cpuBf16();
  out.Set("cpuBf16", bf16.available);
  out.Set("cpuBf16Emulated", bf16.emulated);
  out.Set("cpuBf16Flags", bf16.flags);
  out.Set("cpuBf16Reason", bf16.reason);
  Napi::Array devices = Napi::Array::New(env);
  bool cudaCompiled = false;
  int deviceCount = 0;
#ifdef ADVTRAIN_WITH_CUDA
  cudaCompiled = true;
  kernels::CudaDeviceProps props[16];
  int n = kernels::queryCudaDevices(props, 16);
  deviceCount = n > 0 ? n : 0;
  for (int i = 0; i < deviceCount && i < 16; ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    d.Set("name", props[i].name);
    d.Set("computeCapability", std::to_string(props[i].major) + "." + std::to_string(props[i].minor));
    d.Set("totalMemoryMB", props[i].totalMemoryMB);
    d.Set("multiprocessors", props[i].multiprocessors);
    devices.Set(static_cast<uint32_t>(i), d);
  }
#endif
  out.Set("cudaCompiled", cudaCompiled);
  out.Set("cuda", cudaCompiled && deviceCount > 0 && at::hasCUDA());
  out.Set("cudaDeviceCount", deviceCount);
  out.Set("devices", devices);
  return out;
}

struct MatmulResult {
  double msPerIter;
  double gflops;
};

// Times an n x n float32 matmul: `advtrain doctor` uses it to catch a reference-BLAS libtorch (40x slower).
Napi::Value MatmulBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t n = info[0].As<Napi::Number>().Int64Value();
  const int iters = info[1].As<Napi::Number>().Int32Value();
  const std::string deviceSpec = info[2].As<Napi::String>();
  return PromiseWorker<MatmulResult>::start(
      env,
      [=] {
        at::NoGradGuard noGrad;
        at::Device device = parseDevice(deviceSpec);
        at::Tensor a = at::randn({n, n}, at::TensorOptions().device(device));
        at::Tensor b = at::randn({n, n}, at::TensorOptions().device(device));
        at::Tensor c = at::mm(a, b);  // warm-up: BLAS thread pool, CUDA context
        synchronize(device);
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < iters; ++i) c = at::mm(a, b);
        synchronize(device);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters;
        return MatmulResult{ms, 2.0 * n * n * n / (ms * 1e6)};
      },
      [](Napi::Env env, MatmulResult& r) -> Napi::Value {
        Napi::Object o = Napi::Object::New(env);
        o.Set("msPerIter", r.msPerIter);
        o.Set("gflops", r.gflops);
        return o;
      });
}

// memory(device, reset) -> { peakMB, allocatedMB, heapMB }: the CUDA caching allocator's peak since the
// last reset and current bytes (0 on CPU), and the bytes malloc has handed out (the CPU's figure).
Napi::Value Memory(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    at::Device device = parseDevice(info[0].As<Napi::String>());
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("peakMB", peakMemoryMB(device));
    o.Set("allocatedMB", allocatedMemoryMB(device));
    o.Set("heapMB", heapInUseMB());
    if (info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value()) resetPeakMemory(device);
    return o;
  });
}

// Raises one kind of native exception inside a worker, so tests can check every branch of the
// single translation point (describeCurrentException) end to end.
Napi::Value RaiseForTest(const Napi::CallbackInfo& info) {
  const std::string kind = info[0].As<Napi::String>();
  return PromiseWorker<int>::start(
      info.Env(),
      [kind]() -> int {
        if (kind == "c10") TORCH_CHECK(false, "shape mismatch raised for test");
        if (kind == "index") TORCH_CHECK_INDEX(false, "index 7 is out of bounds for test");
        if (kind == "value") TORCH_CHECK_VALUE(false, "bad value raised for test");
        if (kind == "cuda-oom") TORCH_CHECK_WITH(OutOfMemoryError, false, "CUDA out of memory. Tried to allocate 1.00 GiB (test)");
        if (kind == "legacy-cuda-oom") TORCH_CHECK(false, "CUDA out of memory. Tried to allocate 2.00 GiB (test)");
        if (kind == "bad-alloc") throw std::bad_alloc();
        if (kind == "std") throw std::runtime_error("std::runtime_error raised for test");
        if (kind == "checkpoint") fail(kErrCheckpoint, "model.safetensors: tensor 'x' raised for test");
        if (kind == "real-shape") {
          // A genuine libtorch failure, not a synthetic one: multiplying incompatible shapes.
          at::mm(at::ones({2, 3}), at::ones({2, 3}));
        }
        throw 42;  // a non-std exception
      },
      [](Napi::Env env, int&) -> Napi::Value { return env.Undefined(); });
}

// The thread a promise's work runs on, as a string (tests: every job runs on the one compute thread).
Napi::Value ThreadIdForTest(const Napi::CallbackInfo& info) {
  return PromiseWorker<std::string>::start(
      info.Env(),
      []() {
        std::ostringstream id;
        id << std::this_thread::get_id();
        return id.str();
      },
      [](Napi::Env env, std::string& id) -> Napi::Value { return Napi::String::New(env, id); });
}

struct DropoutStats {
  double keptFraction = 0, keptMin = 0, keptMax = 0, sameSeedMaxDiff = 0, nextMatchFraction = 0, oneThreadMaxDiff = 0;
};

// testing.dropoutCheck(numel, p, seed): the CPU dropout mask's statistics (model/layers.h dropoutMaskCpu):
// the kept fraction and values, the same mask again from the same seed, a fresh one from the advanced
// generator, and the same mask computed on one thread.
Napi::Value DropoutCheckForTest(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    for (size_t i = 0; i < 3; ++i) {
      if (!info[i].IsNumber()) badArg(i == 0 ? "numel" : i == 1 ? "p" : "seed", "a number", info[i]);
    }
    const int64_t n = info[0].As<Napi::Number>().Int64Value();
    const double p = info[1].As<Napi::Number>().DoubleValue();
    const uint64_t seed = static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value());
    if (n <= 0 || !(p > 0.0 && p < 1.0)) fail(kErrInvalidArg, "dropoutCheck needs numel > 0 and 0 < p < 1");
    return PromiseWorker<DropoutStats>::start(
        info.Env(),
        [=]() {
          at::NoGradGuard noGrad;
          const at::Tensor like = at::empty({n}, at::kFloat);
          at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
          const at::Tensor a = dropoutMaskCpu(like, p, gen);
          const at::Tensor next = dropoutMaskCpu(like, p, gen);
          const at::Tensor again = dropoutMaskCpu(like, p, at::make_generator<at::CPUGeneratorImpl>(seed));
          const int threads = at::get_num_threads();
          at::set_num_threads(1);
          const at::Tensor single = dropoutMaskCpu(like, p, at::make_generator<at::CPUGeneratorImpl>(seed));
          at::set_num_threads(threads);
          const at::Tensor kept = a.masked_select(a != 0);
          DropoutStats s;
          s.keptFraction = (a != 0).to(at::kDouble).mean().item<double>();
          s.keptMin = kept.numel() ? kept.min().item<double>() : 0.0;
          s.keptMax = kept.numel() ? kept.max().item<double>() : 0.0;
          s.sameSeedMaxDiff = (a - again).abs().max().item<double>();
          s.nextMatchFraction = ((a != 0) == (next != 0)).to(at::kDouble).mean().item<double>();
          s.oneThreadMaxDiff = (a - single).abs().max().item<double>();
          return s;
        },
        [](Napi::Env env, DropoutStats& s) -> Napi::Value {
          Napi::Object o = Napi::Object::New(env);
          o.Set("keptFraction", s.keptFraction);
          o.Set("keptMin", s.keptMin);
          o.Set("keptMax", s.keptMax);
          o.Set("sameSeedMaxDiff", s.sameSeedMaxDiff);
          o.Set("nextMatchFraction", s.nextMatchFraction);
          o.Set("oneThreadMaxDiff", s.oneThreadMaxDiff);
          return o;
        });
  });
}

}  // namespace

Napi::Object initAddon(Napi::Env env, Napi::Object exports) {
  checkTorchLibrary(env);
  configureThreads();
  env.SetInstanceData(new AddonData());
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("matmulBench", Napi::Function::New(env, MatmulBench, "matmulBench"));
  exports.Set("memory", Napi::Function::New(env, Memory, "memory"));
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("raise", Napi::Function::New(env, RaiseForTest, "raise"));
  testing.Set("threadId", Napi::Function::New(env, ThreadIdForTest, "threadId"));
  testing.Set("dropoutCheck", Napi::Function::New(env, DropoutCheckForTest, "dropoutCheck"));
  testing.Set("kernelCheck", Napi::Function::New(env, KernelCheck, "kernelCheck"));
  testing.Set("attackCheck", Napi::Function::New(env, AttackCheck, "attackCheck"));
  exports.Set("testing", testing);
  registerExports(env, exports);
  return exports;
}

}  // namespace advtrain

static Napi::Object InitAdvtrain(Napi::Env env, Napi::Object exports) { return advtrain::initAddon(env, exports); }

NODE_API_MODULE(advtrain, InitAdvtrain)
