#include "kernels/representation_cosine.h"

#include <torch/csrc/autograd/custom_function.h>

#include "kernels/dispatch.h"
#include "kernels/representation_cosine_kernels.h"

namespace advtrain {

namespace {

kernels::CosineArgs cosineArgs(const at::Tensor& anchor, const at::Tensor& perturbed, const at::Tensor& mask, bool cls) {
  return {anchor.data_ptr(), perturbed.data_ptr(), mask.data_ptr<float>(), kernels::dtypeOf(perturbed), perturbed.size(0), perturbed.size(1),
          perturbed.size(2), cls};
}

struct RepresentationCosineFn : torch::autograd::Function<RepresentationCosineFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& anchor, const at::Tensor& perturbed, const at::Tensor& mask,
                            bool cls) {
    const kernels::CosineArgs args = cosineArgs(anchor, perturbed, mask, cls);
    const at::TensorOptions floats = mask.options();
    at::Tensor stats = at::empty({kernels::cosineStatsSize(args)}, floats);
    at::Tensor out = at::empty({}, floats);
    if (kernels::onCuda(perturbed)) {
#ifdef ADVTRAIN_WITH_CUDA
      kernels::CudaLaunch launch(perturbed);
      kernels::checkLaunch(kernels::cosineForwardCuda(args, stats.data_ptr<float>(), out.data_ptr<float>(), launch.stream), "representationCosine");
#endif
    } else {
      kernels::cosineForwardCpu(args, stats.data_ptr<float>(), out.data_ptr<float>());
    }
    ctx->save_for_backward({anchor, perturbed, mask, stats});
    ctx->saved_data["cls"] = cls;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &anchor = saved[0], &perturbed = saved[1], &mask = saved[2], &stats = saved[3];
    const kernels::CosineArgs args = cosineArgs(anchor, perturbed, mask, ctx->saved_data["cls"].toBool());
    const at::Tensor gradOut = grads[0].to(at::kFloat).contiguous();
    at::Tensor gradPerturbed = args.cls ? at::zeros_like(perturbed) : at::empty_like(perturbed);
    if (kernels::onCuda(perturbed)) {
#ifdef ADVTRAIN_WITH_CUDA
      kernels::CudaLaunch launch(perturbed);
      kernels::checkLaunch(
          kernels::cosineBackwardCuda(args, stats.data_ptr<float>(), gradOut.data_ptr<float>(), gradPerturbed.data_ptr(), launch.stream),
          "representationCosine backward");
#endif
    } else {
      kernels::cosineBackwardCpu(args, stats.data_ptr<float>(), gradOut.data_ptr<float>(), gradPerturbed.data_ptr());
    }
    return {at::Tensor(), gradPerturbed, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor representationCosine(const at::Tensor& anchor, const at::Tensor& perturbed, const at::Tensor& mask, bool cls) {
  TORCH_CHECK(perturbed.dim() == 3 && anchor.sizes() == perturbed.sizes(), "representationCosine: anchor ", anchor.sizes(), " and perturbed ",
              perturbed.sizes(), " must both be [N, L, H]");
  const at::Tensor p = perturbed.contiguous();
  const at::Tensor a = anchor.detach().to(p.scalar_type()).contiguous();
  const at::Tensor m = kernels::floatMask(mask, p.size(0), p.size(1), p.device());
  return RepresentationCosineFn::apply(a, p, m, cls);
}

}  // namespace advtrain
