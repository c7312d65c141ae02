#include "train/trainer.h"

#include <cmath>

#include "common/device.h"
#include "common/error.h"
#include "train/step_profiler.h"

namespace advtrain {

namespace {

// Total 2-norm of all gradients (clip_grad_norm_'s figure), as a device scalar.
at::Tensor gradNorm(const std::vector<NamedParam>& params) {
  std::vector<at::Tensor> grads;
  for (const auto& p : params) {
    if (p.tensor.grad().defined()) grads.push_back(p.tensor.grad());
  }
  if (grads.empty()) return at::zeros({});
  std::vector<at::Tensor> norms = at::_foreach_norm(grads, 2);
  return at::stack(norms).to(at::kFloat).norm(2);
}

void scaleGrads(std::vector<NamedParam>& params, const at::Tensor& factor) {
  std::vector<at::Tensor> grads;
  for (auto& p : params) {
    if (p.tensor.grad().defined()) grads.push_back(p.tensor.mutable_grad());
  }
  if (!grads.empty()) at::_foreach_mul_(grads, factor.item<double>());
}

std::unique_ptr<Method> makeMethodWith(const TrainerGenerators& rng, const MethodOptions& o, TransformerModel& model) {
  GeneratorScope scope(rng);
  return makeMethod(o, model);
}

std::shared_ptr<ProcessGroup> groupFor(const TrainerConfig& cfg) {
  if (!cfg.distributed) return nullptr;
  auto g = currentProcessGroup();
  if (!g) fail(kErrDistributed, "distributed training was asked for but this process has no process group (call distributed.init() first)");
  if (cfg.bucketBytes < 1) fail(kErrInvalidArg, "bucketBytes must be >= 1");
  return g;
}

}  // namespace

Trainer::Trainer(TransformerModel& model, const TrainerConfig& cfg)
    : model_(model),
      cfg_(cfg),
      group_(groupFor(cfg)),
      sync_(group_ ? std::make_unique<GradientSync>(group_, cfg.bucketBytes) : nullptr),
      // Per-rank dropout and noise streams; rank 0's are a single process's.
      rng_(cfg.seed + static_cast<uint64_t>(group_ ? group_->rank() : 0), model.device()),
      optimizer_(cfg.optimizer, model.params()),
      method_(makeMethodWith(rng_, cfg.method, model)) {
  if (cfg.bf16) checkBf16Device(model.device(), "precision");
  if (auto* own = method_->trainableParams()) methodOptimizer_ = std::make_unique<Optimizer>(cfg.optimizer, *own);
  structure_ = model.structureVersion();
}

void Trainer::zeroMethodGrads() {
  if (auto* own = method_->trainableParams()) {
    for (auto& p : *own) p.tensor.mutable_grad() = at::Tensor();
  }
}

double Trainer::currentLr() const { return cfg_.optimizer.lr * lrFactor(cfg_.schedule, scheduleStep_); }

bool Trainer::update(double* gradNormOut, const at::Tensor& loss) {
  at::NoGradGuard noGrad;
  auto& params = model_.params();
  // EarlyRobust adds the L1 term to the loss of the update's last pass, before clipping: once per update.
  model_.addSlimmingL1(cfg_.slimmingL1Heads, cfg_.slimmingL1Ffn);
  at::Tensor meanLoss = loss;
  if (sync_) {
    // Averaged before the norm, so clipping uses the global gradient's norm.
    std::vector<std::vector<NamedParam>*> sets{&params};
    if (auto* own = method_->trainableParams()) sets.push_back(own);
    meanLoss = sync_->average(sets, loss);
  }
  at::Tensor norm = gradNorm(params);
  // The step's one host synchronisation reads the gradient norm and the loss together.
  at::Tensor figures = norm.to(at::kDouble).reshape({1});
  if (meanLoss.defined()) figures = at::cat({figures, meanLoss.detach().to(norm.device(), at::kDouble).reshape({1})});
  figures = figures.cpu();
  const double n = figures[0].item<double>();
  const bool lossFinite = !meanLoss.defined() || std::isfinite(figures[1].item<double>());
  *gradNormOut = n;
  const double lr = currentLr();
  ++scheduleStep_;
  if (!std::isfinite(n) || !lossFinite) {
    model_.zeroGrad();
    zeroMethodGrads();
    return false;
  }
  if (cfg_.maxGradNorm > 0.0 && n > cfg_.maxGradNorm) {
    scaleGrads(params, at::scalar_tensor(cfg_.maxGradNorm / (n + 1e-6)));
  }
  optimizer_.step(lr);
  // The method's networks take the same learning rate, unclipped (InfoBERT clips the model's gradients only).
  if (methodOptimizer_) methodOptimizer_->step(lr);
  model_.zeroGrad();
  zeroMethodGrads();
  method_->afterUpdate(model_, scheduleStep_);
  return true;
}

StepOutcome Trainer::step(const std::vector<Batch>& microBatches, const RandomDraws& draws) {
  if (microBatches.empty()) fail(kErrInvalidArg, "Expected at least one micro-batch for a step but received none");
  if (model_.structureVersion() != structure_) {
    fail(kErrInvalidArg, "the model was pruned or given slimming coefficients after this Trainer was created; create a new Trainer");
  }
  if (group_ && !broadcastDone_) broadcastInitialState();
  StepProfiler profile(scheduleStep_ + 1);
  GeneratorScope scope(rng_);
  StepContext ctx{model_};
  ctx.group = group_.get();
  if (draws.any() && microBatches.size() != 1) {
    fail(kErrInvalidArg, "supplied random draws need a step of exactly one micro-batch");
  }
  ctx.draws = draws;
  ctx.compute.training = true;
  ctx.compute.packTokens = cfg_.packTokens;
  ctx.compute.dtype = cfg_.bf16 ? at::kBFloat16 : model_.dtype();
  ctx.lossScale = 1.0 / static_cast<double>(microBatches.size());
  ctx.globalStep = scheduleStep_;
  StepOutcome out;
  bool anySkipped = false;
  double lastNorm = 0.0;
  ctx.applyUpdate = [&](const at::Tensor& loss) {
    const bool ok = update(&lastNorm, loss);
    anySkipped = anySkipped || !ok;
    return ok;
  };
  std::map<std::string, at::Tensor> sums;
  model_.zeroGrad();
  zeroMethodGrads();
  // A step of several updates is rolled back as a whole when one of them is skipped or fails (atomicSteps,
  // the default; 3x the parameters under AdamW). Without it each update stands on its own.
  const int64_t startStep = scheduleStep_;
  StepSnapshot* snapshot = method_->updatesItself() && cfg_.atomicSteps ? takeSnapshot() : nullptr;
  auto rollBack = [&]() {
    method_->discardStep();
    if (!snapshot) return;
    at::NoGradGuard noGrad;
    auto& params = model_.params();
    for (size_t i = 0; i < params.size(); ++i) params[i].tensor.detach().copy_(snapshot->params[i]);
    optimizer_.loadState(std::map<std::string, at::Tensor>(snapshot->optimizer.begin(), snapshot->optimizer.end()));
  };
  try {
    if (method_->updatesItself()) {
      std::vector<Batch> onDevice;
      for (const Batch& mb : microBatches) onDevice.push_back(mb.to(model_.device()));
      sums = method_->updateAll(onDevice, ctx).values();
    } else {
      for (const Batch& mb : microBatches) {
        Batch b = mb.to(model_.device());
        StepMetrics m = method_->accumulate(b, ctx);
        for (const auto& [k, v] : m.values()) sums[k] = sums.count(k) ? sums[k] + v : v;
      }
    }
  } catch (...) {
    model_.zeroGrad();  // a failed step leaves the weights and the next step's gradients untouched
    zeroMethodGrads();
    rollBack();
    // Without a snapshot the updates made before the failure stay, and so does their schedule (the JS
    // Trainer reads the count from stepCount for its message).
    if (snapshot || !method_->updatesItself()) scheduleStep_ = startStep;
    throw;
  }
  if (!method_->updatesItself()) {
    // The loss is checked with the gradient before the update, so a skipped step never touched a weight.
    auto loss = sums.find("loss");
    ctx.applyUpdate(loss != sums.end() ? loss->second : at::Tensor());
  }
  if (anySkipped) {
    rollBack();
    // Skipped updates advance the schedule, as a skipped single-update step does.
    scheduleStep_ = startStep + method_->updatesPerStep();
  }
  for (const auto& [k, v] : sums) out.metrics[k] = (v / static_cast<double>(microBatches.size())).item<double>();
  if (group_) averageMetrics(out.metrics);
  out.metrics["gradNorm"] = lastNorm;
  out.metrics["lr"] = cfg_.optimizer.lr * lrFactor(cfg_.schedule, scheduleStep_ - 1);
  out.skipped = anySkipped;
  out.step = scheduleStep_;
  return out;
}

StepSnapshot* Trainer::takeSnapshot() {
  at::NoGradGuard noGrad;
  const auto& params = model_.params();
  const auto state = optimizer_.state();
  // The copy of the last step is reused when every tensor still matches (the optimizer's moments appear at
  // its first update, pruning reshapes the weights): copying into mapped pages is cheaper than new ones.
  bool fits = snapshot_ && snapshot_->params.size() == params.size() && snapshot_->optimizer.size() == state.size();
  for (size_t i = 0; fits && i < params.size(); ++i) {
    const at::Tensor& p = params[i].tensor;
    fits = snapshot_->params[i].sizes() == p.sizes() && snapshot_->params[i].dtype() == p.dtype() && snapshot_->params[i].device() == p.device();
  }
  for (size_t i = 0; fits && i < state.size(); ++i) {
    const auto& [k, v] = state[i];
    fits = snapshot_->optimizer[i].first == k && snapshot_->optimizer[i].second.sizes() == v.sizes() && snapshot_->optimizer[i].second.dtype() == v.dtype();
  }
  if (!fits) {
    snapshot_.reset();  // the old copy goes before the new one is made
    snapshot_ = std::make_unique<StepSnapshot>();
    for (const auto& p : params) snapshot_->params.push_back(p.tensor.detach().clone());
    for (const auto& [k, v] : state) snapshot_->optimizer.emplace_back(k, v.clone());
    return snapshot_.get();
  }
  for (size_t i = 0; i < params.size(); ++i) snapshot_->params[i].copy_(params[i].tensor.detach());
  for (size_t i = 0; i < state.size(); ++i) snapshot_->optimizer[i].second.copy_(state[i].second);
  return snapshot_.get();
}

void Trainer::broadcastInitialState() {
  at::NoGradGuard noGrad;
  const at::Device comm = group_->commDevice();
  std::vector<at::Tensor> tensors;
  for (const auto& p : model_.params()) tensors.push_back(p.tensor.detach().to(comm).contiguous());
  if (auto* own = method_->trainableParams()) {
    for (const auto& p : *own) tensors.push_back(p.tensor.detach().to(comm).contiguous());
  }
  auto methodState = method_->state();
  for (const auto& [k, v] : methodState) tensors.push_back(v.detach().to(comm).contiguous());
  group_->broadcast(tensors, "the broadcast of rank 0's weights and method state");
  size_t i = 0;
  for (auto& p : model_.params()) p.tensor.detach().copy_(tensors[i++]);
  if (auto* own = method_->trainableParams()) {
    for (auto& p : *own) p.tensor.detach().copy_(tensors[i++]);
  }
  std::map<std::string, at::Tensor> loaded;
  for (const auto& [k, v] : methodState) loaded[k] = tensors[i++].to(v.device());
  if (!loaded.empty()) method_->loadState(loaded);
  broadcastDone_ = true;
}

void Trainer::averageMetrics(std::map<std::string, double>& metrics) {
  // Every rank runs the same method on the same task, so the keys agree.
  at::Tensor v = at::zeros({static_cast<int64_t>(metrics.size())}, at::kDouble);
  int64_t i = 0;
  for (const auto& [k, x] : metrics) v[i++] = x;
  std::vector<at::Tensor> t{v.to(group_->commDevice())};
  group_->allReduceSum(t, "the all-reduce of the step's metrics");
  at::Tensor mean = t[0].cpu() / static_cast<double>(group_->worldSize());
  i = 0;
  for (auto& [k, x] : metrics) x = mean[i++].item<double>();
}

std::vector<std::pair<std::string, at::Tensor>> Trainer::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.emplace_back("trainer.schedule_step", at::tensor({scheduleStep_}, at::kLong));
  for (auto& [k, v] : optimizer_.state()) out.emplace_back("optimizer." + k, v);
  // The slimming coefficients are trained parameters that saved model folders leave out.
  for (const auto& p : model_.params()) {
    if (p.name.rfind("advtrain.", 0) == 0) out.emplace_back("model." + p.name, p.tensor.detach());
  }
  for (auto& [k, v] : method_->state()) out.emplace_back("method." + k, v);
  if (methodOptimizer_) {
    for (auto& [k, v] : methodOptimizer_->state()) out.emplace_back("method_optimizer." + k, v);
  }
  auto generatorState = [&](const at::Device& d) {
    at::Generator g = rng_.forDevice(d);
    std::lock_guard<std::mutex> lock(g.mutex());
    return g.get_state();
  };
  std::vector<std::pair<std::string, at::Tensor>> rng{{"rng.cpu", generatorState(at::kCPU)}};
  if (model_.device().is_cuda()) rng.emplace_back("rng.cuda", generatorState(model_.device()));
  for (auto& [k, v] : rng) {
    out.emplace_back(k, v);
    if (!group_) continue;
    // Every rank's own streams (one writer saves them all): a resume on as many ranks is exact.
    std::vector<at::Tensor> all = group_->allGather(v.to(group_->commDevice()), "the gathering of the ranks' random generator states");
    for (size_t r = 0; r < all.size(); ++r) out.emplace_back(k + ".rank" + std::to_string(r), all[r].cpu());
  }
  return out;
}

void Trainer::loadState(const std::map<std::string, at::Tensor>& state) {
  auto take = [&](const std::string& prefix) {
    std::map<std::string, at::Tensor> sub;
    for (const auto& [k, v] : state) {
      if (k.rfind(prefix, 0) == 0) sub[k.substr(prefix.size())] = v.to(model_.device());
    }
    return sub;
  };
  auto it = state.find("trainer.schedule_step");
  if (it == state.end()) fail(kErrCheckpoint, "trainer state has no 'trainer.schedule_step'");
  const auto own = take("model.");
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;
  for (const auto& p : model_.params()) {
    if (p.name.rfind("advtrain.", 0) != 0) continue;
    auto c = own.find(p.name);
    if (c == own.end()) fail(kErrCheckpoint, "trainer state has no '" + p.name + "' (the checkpoint was trained without slimming)");
    if (c->second.sizes() != p.tensor.sizes()) fail(kErrCheckpoint, "trainer state '" + p.name + "' has the wrong shape");
    copies.emplace_back(p.tensor, c->second);
  }
  if (copies.size() != own.size()) fail(kErrCheckpoint, "trainer state holds slimming coefficients: call model.enableSlimming() before resuming");
  scheduleStep_ = it->second.item<int64_t>();
  optimizer_.loadState(take("optimizer."));
  method_->loadState(take("method."));
  {
    at::NoGradGuard noGrad;
    for (auto& [param, value] : copies) param.copy_(value);
  }
  if (methodOptimizer_) methodOptimizer_->loadState(take("method_optimizer."));
  // A data-parallel checkpoint holds each rank's streams; rank r resumes its own.
  auto rngEntry = [&](const std::string& key) {
    if (group_) {
      auto own = state.find(key + ".rank" + std::to_string(group_->rank()));
      if (own != state.end()) return own;
      if (group_->rank() != 0) fail(kErrCheckpoint, "trainer state has no '" + key + ".rank" + std::to_string(group_->rank()) + "' (the checkpoint was written by fewer ranks)");
    }
    return state.find(key);
  };
  auto cpu = rngEntry("rng.cpu");
  if (cpu != state.end()) {
    at::Generator g = rng_.forDevice(at::kCPU);
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(cpu->second.to(at::kCPU, at::kByte));
  }
  if (!model_.device().is_cuda()) return;
  auto cuda = rngEntry("rng.cuda");
  if (cuda != state.end()) {
    at::Generator g = rng_.forDevice(model_.device());
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(cuda->second.to(at::kCPU, at::kByte));
  }
}

}  // namespace advtrain
