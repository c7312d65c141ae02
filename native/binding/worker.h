// Long native work runs here: an AsyncWorker that settles a Promise. Its Execute() (on the libuv pool)
// hands the work to the compute thread (binding/compute_thread.h) unless it is started with
// Thread::Pool (work that waits on other processes: rendezvous, barriers). Execute() never touches JS;
// inputs are copied into plain C++ values before the worker starts.
#pragma once
#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "binding/compute_thread.h"
#include "binding/errors.h"
#include "common/error.h"

namespace advtrain {

// One object may run one long operation at a time; the lease is held until its Promise settles.
class BusyFlag {
 public:
  explicit BusyFlag(std::string owner) : owner_(std::move(owner)) {}

  class Lease {
   public:
    explicit Lease(BusyFlag* flag) : flag_(flag) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (flag_) flag_->busy_.store(false);
    }

   private:
    BusyFlag* flag_;
  };

  // Throws ERR_BUSY naming what is running and what was asked for.
  std::shared_ptr<Lease> acquire(const std::string& op) {
    bool expected = false;
    if (!busy_.compare_exchange_strong(expected, true)) {
      fail(kErrBusy, owner_ + " is busy running " + running_ + "; await it before calling " + op + "()");
    }
    running_ = op + "()";
    return std::make_shared<Lease>(this);
  }
  bool busy() const { return busy_.load(); }
  const std::string& running() const { return running_; }

 private:
  std::string owner_;
  std::string running_;
  std::atomic<bool> busy_{false};
};

// Where a PromiseWorker's work runs: the compute thread, or the libuv pool thread that executes it.
enum class Thread { Compute, Pool };

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Finish = std::function<Napi::Value(Napi::Env, Result&)>;

  // `keepAlive` holds whatever the work reads (native state, busy lease) until the Promise settles.
  static Napi::Promise start(Napi::Env env, Work work, Finish finish, std::shared_ptr<void> keepAlive = nullptr,
                             Thread thread = Thread::Compute) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(finish), std::move(keepAlive), thread);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    const std::function<void()> run = [this]() {
      try {
        result_.emplace(work_());
      } catch (...) {
        error_ = describeCurrentException();
      }
    };
    if (thread_ == Thread::Compute) {
      runOnComputeThread(run);
    } else {
      run();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    keepAlive_.reset();  // free the busy lease before user callbacks run
    if (error_) {
      deferred_.Reject(makeError(env, *error_).Value());
      return;
    }
    try {
      deferred_.Resolve(finish_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(makeError(env, describeCurrentException()).Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    keepAlive_.reset();
    deferred_.Reject(e.Value());
  }

 private:
  PromiseWorker(Napi::Env env, Work work, Finish finish, std::shared_ptr<void> keepAlive, Thread thread)
      : Napi::AsyncWorker(env, "advtrain"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        finish_(std::move(finish)),
        keepAlive_(std::move(keepAlive)),
        thread_(thread) {}

  Napi::Promise::Deferred deferred_;
  Work work_;
  Finish finish_;
  std::shared_ptr<void> keepAlive_;
  std::optional<Result> result_;
  std::optional<ErrorInfo> error_;
  Thread thread_;
};

}  // namespace advtrain
