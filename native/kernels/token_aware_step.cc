#include "kernels/token_aware_step.h"

#include "kernels/dispatch.h"
#include "kernels/token_aware_step_kernels.h"

namespace advtrain {

TokenAwareDeltas tokenAwareStep(const at::Tensor& sentence, const at::Tensor& sentenceGrad, const at::Tensor& token, const at::Tensor& tokenGrad,
                                const at::Tensor& mask, double stepSize, double epsilon) {
  TORCH_CHECK(sentence.dim() == 3 && sentenceGrad.sizes() == sentence.sizes() && token.sizes() == sentence.sizes() &&
                  tokenGrad.sizes() == sentence.sizes(),
              "tokenAwareStep: delta_s, g_s, delta_t and g_t must all be [N, L, E]");
  at::NoGradGuard noGrad;
  const at::ScalarType type = sentence.scalar_type();
  auto prepare = [&](const at::Tensor& t) { return t.detach().to(type).contiguous(); };
  const at::Tensor s = prepare(sentence), gs = prepare(sentenceGrad), t = prepare(token), gt = prepare(tokenGrad);
  const int64_t n = s.size(0), l = s.size(1), e = s.size(2);
  const at::Tensor m = kernels::floatMask(mask, n, l, s.device());
  TokenAwareDeltas out{at::empty_like(s), at::empty_like(s)};
  if (s.numel() == 0) return out;
  const kernels::TokenAwareStepArgs args{s.data_ptr(),
                                         gs.data_ptr(),
                                         t.data_ptr(),
                                         gt.data_ptr(),
                                         m.data_ptr<float>(),
                                         out.sentence.data_ptr(),
                                         out.token.data_ptr(),
                                         kernels::dtypeOf(s),
                                         n,
                                         l,
                                         e,
                                         static_cast<float>(stepSize),
                                         static_cast<float>(epsilon)};
  if (kernels::onCuda(s)) {
#ifdef ADVTRAIN_WITH_CUDA
    kernels::CudaLaunch launch(s);
    at::Tensor workspace = at::empty({kernels::tokenAwareStepWorkspace(n, l)}, m.options());
    kernels::checkLaunch(kernels::tokenAwareStepCuda(args, workspace.data_ptr<float>(), launch.stream), "tokenAwareStep");
#endif
  } else {
    kernels::tokenAwareStepCpu(args);
  }
  return out;
}

}  // namespace advtrain
