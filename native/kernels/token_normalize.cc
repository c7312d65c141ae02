#include "kernels/token_normalize.h"

#include "kernels/dispatch.h"
#include "kernels/token_normalize_kernels.h"

namespace advtrain {

NormalizedStep tokenNormalize(const at::Tensor& xi, const at::Tensor& grad, const at::Tensor& mask, double stepSize, double eps, Norm norm) {
  TORCH_CHECK(xi.dim() == 3 && grad.sizes() == xi.sizes(), "tokenNormalize: xi ", xi.sizes(), " and grad ", grad.sizes(), " must both be [N, L, D]");
  at::NoGradGuard noGrad;
  const at::Tensor x = xi.detach().contiguous();
  const at::Tensor g = grad.detach().to(x.scalar_type()).contiguous();
  const at::Tensor m = kernels::floatMask(mask, x.size(0), x.size(1), x.device());
  NormalizedStep out{at::empty_like(x), at::ones({}, m.options())};
  if (x.numel() == 0) return out;
  const kernels::TokenNormalizeArgs args{x.data_ptr(), g.data_ptr(),          m.data_ptr<float>(),         out.xi.data_ptr(),
                                         out.finite.data_ptr<float>(), kernels::dtypeOf(x), x.size(0) * x.size(1), x.size(2),
                                         static_cast<float>(stepSize), static_cast<float>(eps), norm};
  if (kernels::onCuda(x)) {
#ifdef ADVTRAIN_WITH_CUDA
    kernels::CudaLaunch launch(x);
    kernels::checkLaunch(kernels::tokenNormalizeCuda(args, launch.stream), "tokenNormalize");
#endif
  } else {
    kernels::tokenNormalizeCpu(args);
  }
  return out;
}

}  // namespace advtrain
