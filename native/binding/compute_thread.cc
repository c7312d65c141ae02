#include "binding/compute_thread.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace advtrain {

namespace {

struct Job {
  const std::function<void()>* work;
  bool done = false;
};

class ComputeThread {
 public:
  ComputeThread() { std::thread([this] { loop(); }).detach(); }

  void run(const std::function<void()>& work) {
    Job job{&work};
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(&job);
    wake_.notify_all();
    finished_.wait(lock, [&] { return job.done; });
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return !queue_.empty(); });
      Job* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      (*job->work)();
      lock.lock();
      job->done = true;
      finished_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::deque<Job*> queue_;
};

}  // namespace

void runOnComputeThread(const std::function<void()>& job) {
  // Never destroyed: the detached thread may still be waiting on it while the process exits.
  static ComputeThread* thread = new ComputeThread();
  thread->run(job);
}

}  // namespace advtrain
