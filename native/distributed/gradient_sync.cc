#include "distributed/gradient_sync.h"

namespace advtrain {

GradientSync::GradientSync(std::shared_ptr<ProcessGroup> group, int64_t bucketBytes) : group_(std::move(group)), bucketBytes_(bucketBytes) {}

at::Tensor GradientSync::average(const std::vector<std::vector<NamedParam>*>& sets, const at::Tensor& loss) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor*> params;
  for (auto* set : sets) {
    for (auto& p : *set) params.push_back(&p.tensor);
  }
  const double world = static_cast<double>(group_->worldSize());
  // One small collective first: which gradients exist anywhere, and the loss.
  const int64_t P = static_cast<int64_t>(params.size());
  at::Tensor head = at::zeros({P + 1}, at::kDouble);
  auto h = head.accessor<double, 1>();
  for (int64_t i = 0; i < P; ++i) h[i] = params[i]->grad().defined() ? 1.0 : 0.0;
  if (loss.defined()) h[P] = loss.detach().to(at::kCPU, at::kDouble).item<double>();
  std::vector<at::Tensor> first{head.to(group_->commDevice())};
  group_->allReduceSum(first, "the gradient all-reduce (its header)");
  head = first[0].cpu();
  h = head.accessor<double, 1>();

  // Buckets of consecutive gradients of one dtype and device, up to bucketBytes_ each.
  struct Bucket {
    std::vector<at::Tensor> grads;
    int64_t bytes = 0;
  };
  std::vector<Bucket> buckets;
  for (int64_t i = 0; i < P; ++i) {
    if (h[i] == 0.0) continue;
    at::Tensor& p = *params[i];
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    const at::Tensor& g = p.grad();
    const int64_t bytes = g.numel() * static_cast<int64_t>(g.element_size());
    bool fresh = buckets.empty() || buckets.back().bytes + bytes > bucketBytes_ || buckets.back().grads.front().scalar_type() != g.scalar_type() ||
                 buckets.back().grads.front().device() != g.device();
    if (fresh && !buckets.empty() && buckets.back().bytes == 0) fresh = false;
    if (fresh) buckets.emplace_back();
    buckets.back().grads.push_back(g);
    buckets.back().bytes += bytes;
  }
  std::vector<at::Tensor> flats;
  for (const auto& b : buckets) {
    std::vector<at::Tensor> pieces;
    for (const auto& g : b.grads) pieces.push_back(g.reshape({-1}));
    flats.push_back(at::cat(pieces).to(group_->commDevice()));
  }
  group_->allReduceSum(flats, "the gradient all-reduce");
  for (size_t k = 0; k < buckets.size(); ++k) {
    at::Tensor mean = flats[k].div_(world).to(buckets[k].grads.front().device());
    int64_t off = 0;
    for (auto& g : buckets[k].grads) {
      g.copy_(mean.narrow(0, off, g.numel()).view_as(g));
      off += g.numel();
    }
  }
  if (!loss.defined()) return at::Tensor();
  return at::scalar_tensor(h[P] / world, at::kDouble);
}

}  // namespace advtrain
