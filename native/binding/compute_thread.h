// The one thread that runs the addon's tensor work (PromiseWorker's jobs), in the order they were queued.
// glibc gives every thread that allocates an arena of its own, and an arena keeps the memory its thread
// freed for that thread's next allocations: training steps spread over the libuv pool's four threads
// left four arenas each holding a step's activations (the peak RSS of a run ~4x a step's). One thread
// reuses one arena's memory step after step, as a Python loop on its main thread does, and keeps one
// OpenMP team instead of one per pool thread.
#pragma once
#include <functional>

namespace advtrain {

// Runs `job` on the compute thread and returns when it has finished. `job` must not throw and must not
// call runOnComputeThread itself (it would wait for itself).
void runOnComputeThread(const std::function<void()>& job);

}  // namespace advtrain
