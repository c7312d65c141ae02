// The native trainer: one optimizer step per call (micro-batches for gradient accumulation), the
// method's inner loop, clipping, the non-finite guard, the schedule, and checkpointable state.
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/rng.h"
#include "distributed/gradient_sync.h"
#include "distributed/process_group.h"
#include "methods/method.h"
#include "model/transformer.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace advtrain {

struct TrainerConfig {
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  MethodOptions method;
  double maxGradNorm = 0.0;  // 0 = no clipping
  uint64_t seed = 0;
  bool bf16 = false;
  bool packTokens = false;  // Compute::packTokens for every pass of a step (the JS option skipPadding)
  // A method of several updates per step (FreeAT) snapshots weights and optimizer state at the step's
  // start and undoes the step as a whole on failure; false: each update is atomic on its own.
  bool atomicSteps = true;
  // EarlyRobust's L1 penalty on the slimming coefficients, added to the gradient once per update.
  double slimmingL1Heads = 0.0, slimmingL1Ffn = 0.0;
  // Data parallel over the process's c10d group (distributed/process_group.h): gradients averaged
  // across ranks in buckets of `bucketBytes` once per update, the first step's model and method state
  // taken from rank 0, metrics averaged, and this rank's generators seeded with seed + rank.
  bool distributed = false;
  int64_t bucketBytes = 0;
};

struct StepOutcome {
  std::map<std::string, double> metrics;  // method figures averaged over micro-batches, plus lr, gradNorm
  bool skipped = false;                   // non-finite loss or gradient: no update was applied
  int64_t step = 0;                       // optimizer steps attempted so far
};

// Copies of the weights and optimizer state, for steps that update more than once (FreeAT): a step that
// fails or turns non-finite after some of its updates is rolled back to this.
struct StepSnapshot {
  std::vector<at::Tensor> params;
  std::vector<std::pair<std::string, at::Tensor>> optimizer;
};

class Trainer {
 public:
  Trainer(TransformerModel& model, const TrainerConfig& cfg);

  // `draws` (a test hook, one micro-batch only) replaces the base random draws of this step; see RandomDraws.
  StepOutcome step(const std::vector<Batch>& microBatches, const RandomDraws& draws = {});

  std::vector<std::pair<std::string, at::Tensor>> state() const;
  void loadState(const std::map<std::string, at::Tensor>& state);

  double currentLr() const;
  const at::Tensor& lastPerturbation() const { return method_->lastPerturbation(); }
  int64_t stepCount() const { return scheduleStep_; }

 private:
  // Clip, check, update, advance the schedule, zero gradients. Returns false, with the weights
  // untouched, when the gradient or `loss` (the update's summed loss, may be undefined) is not finite.
  bool update(double* gradNormOut, const at::Tensor& loss);

  // The weights and optimizer state at the start of a step of several updates (atomicSteps), in
  // snapshot_, which is kept for the next step.
  StepSnapshot* takeSnapshot();

  // Rank 0's weights and method state on every rank, before the first step.
  void broadcastInitialState();
  // The step's figures averaged over the ranks.
  void averageMetrics(std::map<std::string, double>& metrics);

  TransformerModel& model_;
  TrainerConfig cfg_;
  std::shared_ptr<ProcessGroup> group_;  // null unless cfg.distributed; before rng_ (its rank seeds it)
  std::unique_ptr<GradientSync> sync_;
  bool broadcastDone_ = false;
  TrainerGenerators rng_;  // before method_: a method may draw when it is made (TextAT's table)
  Optimizer optimizer_;
  std::unique_ptr<Method> method_;
  std::unique_ptr<Optimizer> methodOptimizer_;  // over method_->trainableParams(), when it has any
  std::unique_ptr<StepSnapshot> snapshot_;
  int64_t scheduleStep_ = 0;
  int64_t structure_ = 0;  // the model's structureVersion() this trainer's optimizer was built for
  void zeroMethodGrads();
};

}  // namespace advtrain
