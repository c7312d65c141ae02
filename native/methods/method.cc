#include "methods/method.h"

#include "common/error.h"
#include "methods/perturbation.h"

namespace advtrain {

StepMetrics Method::updateAll(const std::vector<Batch>&, StepContext&) {
  fail(kErrNative, "this method does not apply its own updates");
}

StepMetrics Method::attackMetrics(const at::Tensor& loss, const at::Tensor& advLoss, const at::Tensor& delta, Norm norm) {
  record(delta);
  StepMetrics m;
  m.set("loss", loss);
  m.set("advLoss", advLoss);
  m.set("deltaNorm", exampleNorm(delta.detach(), norm).mean());
  return m;
}

}  // namespace advtrain
