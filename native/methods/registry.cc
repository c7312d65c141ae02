#include "methods/registry.h"

#include "common/error.h"

namespace advtrain {

std::unique_ptr<Method> makeMethod(const MethodOptions& o, TransformerModel& model) {
  if (o.name == "vanilla") return makeVanilla(o, model);
  if (o.name == "pgd") return makePgd(o, model);
  if (o.name == "freelb") return makeFreeLb(o, model);
  fail(kErrInvalidArg, "unknown method '" + o.name + "'");
}

}  // namespace advtrain
