#include "kernels/symmetric_kl.h"

#include <torch/csrc/autograd/custom_function.h>

#include "kernels/dispatch.h"
#include "kernels/symmetric_kl_kernels.h"

namespace advtrain {

namespace {

kernels::SymKlArgs symKlArgs(const at::Tensor& a, const at::Tensor& b) {
  return {a.data_ptr(), b.data_ptr(), kernels::dtypeOf(a), a.size(0), a.size(1)};
}

struct SymmetricKlFn : torch::autograd::Function<SymmetricKlFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b, bool detachEach) {
    const kernels::SymKlArgs args = symKlArgs(a, b);
    const at::TensorOptions floats = a.options().dtype(at::kFloat);
    at::Tensor saved = at::empty({kernels::symKlSavedSize(args.rows, args.classes)}, floats);
    const kernels::SymKlSaved parts = kernels::symKlSaved(saved.data_ptr<float>(), args.rows, args.classes);
    at::Tensor out = at::empty({}, floats);
    if (kernels::onCuda(a)) {
#ifdef ADVTRAIN_WITH_CUDA
      kernels::CudaLaunch launch(a);
      kernels::checkLaunch(kernels::symKlForwardCuda(args, parts, out.data_ptr<float>(), launch.stream), "symmetricKl");
#endif
    } else {
      kernels::symKlForwardCpu(args, parts, out.data_ptr<float>());
    }
    ctx->save_for_backward({a, b, saved});
    ctx->saved_data["detachEach"] = detachEach;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &a = saved[0], &b = saved[1];
    const kernels::SymKlArgs args = symKlArgs(a, b);
    const kernels::SymKlSaved parts = kernels::symKlSaved(saved[2].data_ptr<float>(), args.rows, args.classes);
    const at::Tensor gradOut = grads[0].to(at::kFloat).contiguous();
    at::Tensor gradA = ctx->needs_input_grad(0) ? at::empty_like(a) : at::Tensor();
    at::Tensor gradB = ctx->needs_input_grad(1) ? at::empty_like(b) : at::Tensor();
    if (!gradA.defined() && !gradB.defined()) return {gradA, gradB, at::Tensor()};
    void* ga = gradA.defined() ? gradA.data_ptr() : nullptr;
    void* gb = gradB.defined() ? gradB.data_ptr() : nullptr;
    const bool detachEach = ctx->saved_data["detachEach"].toBool();
    if (kernels::onCuda(a)) {
#ifdef ADVTRAIN_WITH_CUDA
      kernels::CudaLaunch launch(a);
      kernels::checkLaunch(kernels::symKlBackwardCuda(args, parts, gradOut.data_ptr<float>(), detachEach, ga, gb, launch.stream),
                           "symmetricKl backward");
#endif
    } else {
      kernels::symKlBackwardCpu(args, parts, gradOut.data_ptr<float>(), detachEach, ga, gb);
    }
    return {gradA, gradB, at::Tensor()};
  }
};

}  // namespace

at::Tensor symmetricKl(const at::Tensor& a, const at::Tensor& b, Detach detach) {
  TORCH_CHECK(a.dim() == 2 && b.sizes() == a.sizes(), "symmetricKl: logits ", a.sizes(), " and ", b.sizes(), " must both be [R, K]");
  const at::Tensor x = a.contiguous();
  const at::Tensor y = b.to(x.scalar_type()).contiguous();
  // No rows, no divergence (the mean over no rows would be NaN); still part of the graph.
  if (x.size(0) == 0 || x.size(1) == 0) return (x.sum() + y.sum()).to(at::kFloat) * 0.0;
  return SymmetricKlFn::apply(x, y, detach == Detach::Each);
}

}  // namespace advtrain
