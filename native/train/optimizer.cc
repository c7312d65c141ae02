#include "train/optimizer.h"

#include <ATen/Parallel.h>
#include <torch/version.h>

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace advtrain {

Optimizer::Optimizer(const OptimizerConfig& cfg, std::vector<NamedParam>& params) : cfg_(cfg), params_(params) {}

void Optimizer::ensureState() {
  if (!m_.empty()) return;
  // Allocated before the first update touches a weight: an allocation failure leaves weights intact.
  at::NoGradGuard noGrad;
  const bool adam = cfg_.name == "adamw";
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p.tensor, at::MemoryFormat::Preserve).to(at::kFloat));
    if (adam) v_.push_back(at::zeros_like(p.tensor, at::MemoryFormat::Preserve).to(at::kFloat));
  }
}

namespace {

// One pass over p, g, m, v per element (the foreach path makes ~9 passes and allocates a temporary
// the size of the model): AdamW's update is memory-bound, so this is ~4x faster on the CPU.
void fusedAdamwCpu(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v, double lr, double decay, double b1,
                   double b2, double eps, double bc1, double bc2Sqrt) {
  float* pp = p.data_ptr<float>();
  const float* gp = g.data_ptr<float>();
  float* mp = m.data_ptr<float>();
  float* vp = v.data_ptr<float>();
  const float shrink = static_cast<float>(1.0 - lr * decay), fb1 = static_cast<float>(b1), fb2 = static_cast<float>(b2);
  const float stepSize = static_cast<float>(lr / bc1), invBc2 = static_cast<float>(1.0 / bc2Sqrt), feps = static_cast<float>(eps);
  at::parallel_for(0, p.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = gp[i];
      const float mi = fb1 * mp[i] + (1.0f - fb1) * gi;
      const float vi = fb2 * vp[i] + (1.0f - fb2) * gi * gi;
      mp[i] = mi;
      vp[i] = vi;
      pp[i] = pp[i] * shrink - stepSize * mi / (std::sqrt(vi) * invBc2 + feps);
    }
  });
}

// libtorch >= 2.4 has torch.optim.AdamW(fused=True)'s kernel for CPU and CUDA: vectorised, one pass, and
// the same update the PyTorch user gets. advtrain's own loop above stays for libtorch 1.x.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define ADVTRAIN_LIBTORCH_FUSED_ADAMW 1
bool libtorchFusable(const std::vector<at::Tensor>& ps, const std::vector<at::Tensor>& gs) {
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i].device() != ps[0].device() || ps[i].scalar_type() != at::kFloat || gs[i].scalar_type() != at::kFloat) return false;
  }
  return ps[0].device().is_cpu() || ps[0].device().is_cuda();
}
#endif

bool fusable(const at::Tensor& p, const at::Tensor& g) {
  return p.device().is_cpu() && p.scalar_type() == at::kFloat && g.scalar_type() == at::kFloat && p.is_contiguous() && g.is_contiguous();
}

}  // namespace

void Optimizer::step(double lr) {
  at::NoGradGuard noGrad;
  ensureState();
  ++steps_;
  std::vector<at::Tensor> ps, gs, ms, vs, decay;
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& g = params_[i].tensor.grad();
    if (!g.defined()) continue;
    ps.push_back(params_[i].tensor);
    gs.push_back(g.to(at::kFloat));
    ms.push_back(m_[i]);
    if (!v_.empty()) vs.push_back(v_[i]);
    if (params_[i].decay && cfg_.weightDecay != 0.0) decay.push_back(params_[i].tensor);
  }
  if (ps.empty()) return;
  const double bc1 = 1.0 - std::pow(cfg_.beta1, static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(cfg_.beta2, static_cast<double>(steps_));
#ifdef ADVTRAIN_LIBTORCH_FUSED_ADAMW
  if (cfg_.name == "adamw" && libtorchFusable(ps, gs)) {
    // Two groups, as torch.optim would hold them: with and without weight decay. The step count is read
    // from a tensor (torch.optim keeps one per parameter; all of ours are equal).
    std::vector<at::Tensor> groups[2][4];
    size_t k = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].tensor.grad().defined()) continue;
      const int g = params_[i].decay && cfg_.weightDecay != 0.0 ? 1 : 0;
      groups[g][0].push_back(ps[k]);
      groups[g][1].push_back(gs[k]);
      groups[g][2].push_back(ms[k]);
      groups[g][3].push_back(vs[k]);
      ++k;
    }
    at::Tensor step = at::full({}, static_cast<double>(steps_), at::TensorOptions().dtype(at::kFloat).device(ps[0].device()));
    for (int g = 0; g < 2; ++g) {
      if (groups[g][0].empty()) continue;
      std::vector<at::Tensor> stepList(groups[g][0].size(), step);
      at::_fused_adamw_(groups[g][0], groups[g][1], groups[g][2], groups[g][3], {}, stepList, lr, cfg_.beta1, cfg_.beta2,
                        g == 1 ? cfg_.weightDecay : 0.0, cfg_.eps, /*amsgrad=*/false, /*maximize=*/false);
    }
    return;
  }
#endif
  if (cfg_.name == "adamw" && std::all_of(ps.begin(), ps.end(), [&](const at::Tensor& p) { return p.device().is_cpu(); })) {
    size_t k = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!params_[i].tensor.grad().defined()) continue;
      at::Tensor& p = ps[k];
      if (fusable(p, gs[k])) {
        fusedAdamwCpu(p, gs[k], ms[k], vs[k], lr, params_[i].decay ? cfg_.weightDecay : 0.0, cfg_.beta1, cfg_.beta2, cfg_.eps, bc1, std::sqrt(bc2));
      } else {
        if (params_[i].decay && cfg_.weightDecay != 0.0) p.mul_(1.0 - lr * cfg_.weightDecay);
        ms[k].mul_(cfg_.beta1).add_(gs[k], 1.0 - cfg_.beta1);
        vs[k].mul_(cfg_.beta2).addcmul_(gs[k], gs[k], 1.0 - cfg_.beta2);
        p.addcdiv_(ms[k], vs[k].sqrt() / std::sqrt(bc2) + cfg_.eps, -lr / bc1);
      }
      ++k;
    }
  } else if (cfg_.name == "adamw") {
    if (!decay.empty()) at::_foreach_mul_(decay, 1.0 - lr * cfg_.weightDecay);
    at::_foreach_mul_(ms, cfg_.beta1);
    at::_foreach_add_(ms, gs, 1.0 - cfg_.beta1);
    at::_foreach_mul_(vs, cfg_.beta2);
    at::_foreach_addcmul_(vs, gs, gs, 1.0 - cfg_.beta2);
    std::vector<at::Tensor> denom = at::_foreach_sqrt(vs);
    at::_foreach_div_(denom, std::sqrt(bc2));
    at::_foreach_add_(denom, cfg_.eps);
    at::_foreach_addcdiv_(ps, ms, denom, -lr / bc1);
  } else {
    // torch.optim.SGD: coupled L2 weight decay, momentum buffer, optional Nesterov.
    if (cfg_.weightDecay != 0.0) {
      for (size_t i = 0; i < ps.size(); ++i) gs[i] = gs[i].add(ps[i].to(at::kFloat), cfg_.weightDecay);
    }
    if (cfg_.momentum != 0.0) {
      if (steps_ == 1) {
        for (size_t i = 0; i < ms.size(); ++i) ms[i].copy_(gs[i]);
      } else {
        at::_foreach_mul_(ms, cfg_.momentum);
        at::_foreach_add_(ms, gs);
      }
      if (cfg_.nesterov) {
        for (size_t i = 0; i < gs.size(); ++i) gs[i] = gs[i].add(ms[i], cfg_.momentum);
      } else {
        gs = ms;
      }
    }
    at::_foreach_add_(ps, gs, -lr);
  }
}

std::vector<std::pair<std::string, at::Tensor>> Optimizer::state() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  out.emplace_back("step", at::tensor({steps_}, at::kLong));
  const std::string first = cfg_.name == "adamw" ? "exp_avg." : "momentum_buffer.";
  for (size_t i = 0; i < m_.size(); ++i) out.emplace_back(first + params_[i].name, m_[i]);
  for (size_t i = 0; i < v_.size(); ++i) out.emplace_back("exp_avg_sq." + params_[i].name, v_[i]);
  return out;
}

void Optimizer::loadState(const std::map<std::string, at::Tensor>& state) {
  at::NoGradGuard noGrad;
  auto it = state.find("step");
  if (it == state.end()) fail(kErrCheckpoint, "optimizer state has no 'step'");
  steps_ = it->second.item<int64_t>();
  m_.clear();
  v_.clear();
  if (steps_ == 0) return;
  ensureState();
  const std::string first = cfg_.name == "adamw" ? "exp_avg." : "momentum_buffer.";
  auto load = [&](std::vector<at::Tensor>& slots, const std::string& prefix) {
    for (size_t i = 0; i < slots.size(); ++i) {
      auto s = state.find(prefix + params_[i].name);
      if (s == state.end()) fail(kErrCheckpoint, "optimizer state has no '" + prefix + params_[i].name + "'");
      if (s->second.sizes() != slots[i].sizes()) fail(kErrCheckpoint, "optimizer state '" + prefix + params_[i].name + "' has the wrong shape");
      slots[i].copy_(s->second);
    }
  };
  load(m_, first);
  if (cfg_.name == "adamw") load(v_, "exp_avg_sq.");
}

}  // namespace advtrain
