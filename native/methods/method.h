// The extension point of the trainer: a method computes one micro-batch's gradients (its inner loop
// lives here, in C++) and reports its figures. Each method file cites its paper and says where it departs.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/common.h"
#include "model/batch.h"
#include "distributed/process_group.h"
#include "model/transformer.h"

namespace advtrain {

// Every option of every method; lib/train/methods.ts validates them per method and fills defaults.
struct MethodOptions {
  std::string name = "vanilla";
  int64_t steps = 1;
  double stepSize = 0.1;
  double epsilon = 0.0;
  double initMag = 0.0;
  std::string norm = "l2";  // "l2" | "linf"
  double cleanWeight = 0.0;
  // freelb
  bool syncDropout = true;
  bool cleanLoss = false;
  int64_t advBeginStep = 0;
  // freeat / yopo
  int64_t replays = 1;
  int64_t outer = 1;
  int64_t inner = 1;
  // rpt / smart / alum
  double noiseStd = 1e-5;
  std::string noiseType = "uniform";  // rpt: "uniform" U(-noiseStd, noiseStd) (fairseq's default) | "normal"
  double tau = 1.0;
  bool spectralNorm = false;  // rpt: R4F, spectral normalisation of the classification head
  double lambdaS = 1.0;
  double normEps = 1e-6;
  std::string normalize = "inf-token";  // "inf-token" | "l2-token" | "inf-example" | "l2-example" | "l1"
  std::string attackLoss = "stable-kl";  // smart: "stable-kl" (mt-dnn) | "symmetric-kl"
  bool bregman = false;
  double bregmanMu = 1.0;
  double bregmanBeta = 0.99;
  double bregmanBetaLate = 0.99;    // beta from update bregmanSwitchStep on (the paper: .999 after 10% of T)
  int64_t bregmanSwitchStep = 0;    // 0: beta throughout
  // alum
  double alpha = 1.0;
  int64_t perturbLayer = 0;  // 0: the embedding output; k: the output of layer k
  // creat
  std::string representation = "tokens";
  bool creatMinus = false;
  // sift (DeBERTa run.py's vat_lambda, vat_learning_rate, vat_init_perturbation, vat_loss_fn)
  double siftLambda = 0.0;
  double siftLr = 0.0;
  double siftInit = 0.0;
  std::string siftLoss = "symmetric-kl";  // "symmetric-kl" | "kl" | "mse"
  // infobert (the FreeLB fields plus the official beta, alpha, cl, ch, train_batch_size, seed)
  double ibBeta = 0.0;
  double lrAlpha = 0.0;
  double anchorLow = 0.0;
  double anchorHigh = 0.0;
  int64_t anchorBatch = 1;
  int64_t anchorSeed = 0;
};

// Scalar figures of a step, kept on the device until the step ends (one host sync per step).
class StepMetrics {
 public:
  void set(const std::string& name, const at::Tensor& value) { values_[name] = value.detach().to(at::kFloat).reshape({}); }
  const std::map<std::string, at::Tensor>& values() const { return values_; }

 private:
  std::map<std::string, at::Tensor> values_;
};

// Test hook (NativeTrainer.setNextRandomDraws, test-only): the base random draws of one step, before
// any scaling and masking, so that parity tests can run the random-start code paths on draws made
// elsewhere. Each is checked against the shape the method draws.
struct RandomDraws {
  at::Tensor start;  // [N, L, E]: U(-1, 1) of initDelta (initMag starts), N(0, 1) of gaussianStart (noise) and of SiFT
  at::Tensor table;  // [V, E]: U(-1, 1) of TextAT's table, which is re-drawn from it
  at::Tensor spectralU;  // [numLabels]: N(0, 1) of R4F's u (normalised), which is re-made from it
  at::Tensor spectralV;  // [H]: N(0, 1) of R4F's v
  at::Tensor estimator;  // [P]: U(-1, 1) of InfoBERT's InfoNCE weights (nn.Linear's init), which are re-made from it
  at::Tensor indices;    // [K, N * L]: U(0, 1) of InfoBERT's CLUB negatives, floor(u * n) over the n real tokens
  bool any() const {
    return start.defined() || table.defined() || spectralU.defined() || spectralV.defined() || estimator.defined() || indices.defined();
  }
};

struct StepContext {
  TransformerModel& model;
  Compute compute;          // training mode, precision
  double lossScale = 1.0;   // 1 / number of micro-batches of this optimizer step
  int64_t globalStep = 0;   // optimizer steps completed before this one
  // Base draws supplied by a test for this step (undefined tensors: draw from the generator).
  RandomDraws draws;
  // The process group of a data-parallel trainer (null in a single process): for method state that
  // must stay equal on every rank (TextAT's table).
  ProcessGroup* group = nullptr;
  // Clips, steps the optimizer and the schedule, zeroes gradients: for methods whose every replay is
  // an update (FreeAT). `loss` is the update's loss summed over micro-batches. Returns false when the
  // update was skipped for a non-finite gradient or loss; the method then stops its step.
  std::function<bool(const at::Tensor& loss)> applyUpdate;
};

class Method {
 public:
  virtual ~Method() = default;
  // Accumulates this micro-batch's gradients (scaled by ctx.lossScale) into the parameters' .grad.
  virtual StepMetrics accumulate(const Batch& b, StepContext& ctx) = 0;
  // True when the method applies its own updates through ctx.applyUpdate (updateAll, not accumulate).
  virtual bool updatesItself() const { return false; }
  // The whole step of a method that updates itself (FreeAT): every micro-batch of the step, updates
  // through ctx.applyUpdate; returns its figures summed over the micro-batches.
  virtual StepMetrics updateAll(const std::vector<Batch>& microBatches, StepContext& ctx);
  // Optimizer updates one step makes (FreeAT: its replays).
  virtual int64_t updatesPerStep() const { return 1; }
  // Called after each optimizer update with the number of updates done so far (SMART's EMA teacher).
  virtual void afterUpdate(TransformerModel& model, int64_t updates) {}
  // Called instead when the step was skipped or failed: undo what the step changed in the method's
  // own state (TextAT's table), so a skipped step leaves the trainer as it was.
  virtual void discardStep() {}
  // Networks the method trains with the model (InfoBERT's InfoNCE critic): the trainer updates them with its
  // optimizer's settings and learning rate (not clipped) and checkpoints that optimizer's state.
  virtual std::vector<NamedParam>* trainableParams() { return nullptr; }
  // Tensors saved in checkpoints (TextAT's table, SMART's teacher) and their restore.
  virtual std::vector<std::pair<std::string, at::Tensor>> state() const { return {}; }
  virtual void loadState(const std::map<std::string, at::Tensor>& state) {}

  // The last step's final perturbation [N, L, E], still on the device (undefined for vanilla).
  const at::Tensor& lastPerturbation() const { return last_; }

 protected:
  void record(const at::Tensor& delta) { last_ = delta.detach(); }
  // Records the final perturbation and reports what every embedding-space attack reports: the
  // objective, the loss on the last perturbed pass and the mean per-example norm of the perturbation.
  StepMetrics attackMetrics(const at::Tensor& loss, const at::Tensor& advLoss, const at::Tensor& delta, Norm norm);

 private:
  at::Tensor last_;
};

std::unique_ptr<Method> makeMethod(const MethodOptions& options, TransformerModel& model);

}  // namespace advtrain
