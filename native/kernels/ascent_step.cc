#include "kernels/ascent_step.h"

#include "kernels/ascent_step_kernels.h"
#include "kernels/dispatch.h"

namespace advtrain {

at::Tensor ascendProject(const at::Tensor& delta, const at::Tensor& grad, const at::Tensor& mask, double stepSize, double epsilon, Norm norm) {
  TORCH_CHECK(delta.dim() == 3 && grad.sizes() == delta.sizes(), "ascendProject: delta ", delta.sizes(), " and grad ", grad.sizes(),
              " must both be [N, L, D]");
  at::NoGradGuard noGrad;
  const at::Tensor d = delta.detach().contiguous();
  const at::Tensor g = grad.detach().to(d.scalar_type()).contiguous();
  const int64_t n = d.size(0), l = d.size(1), e = d.size(2);
  const at::Tensor m = kernels::floatMask(mask, n, l, d.device());
  at::Tensor out = at::empty_like(d);
  if (out.numel() == 0) return out;
  const kernels::AscentStepArgs args{d.data_ptr(), g.data_ptr(), m.data_ptr<float>(), out.data_ptr(), kernels::dtypeOf(d), n, l, e,
                                     static_cast<float>(stepSize), static_cast<float>(epsilon), norm};
  if (kernels::onCuda(d)) {
#ifdef ADVTRAIN_WITH_CUDA
    kernels::CudaLaunch launch(d);
    at::Tensor workspace = at::empty({kernels::ascentStepWorkspace(n, l)}, m.options());
    kernels::checkLaunch(kernels::ascentStepCuda(args, workspace.data_ptr<float>(), launch.stream), "ascendProject");
#endif
  } else {
    kernels::ascentStepCpu(args);
  }
  return out;
}

}  // namespace advtrain
