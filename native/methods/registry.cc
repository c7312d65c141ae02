#include "methods/registry.h"

#include "common/error.h"

namespace advtrain {

std::unique_ptr<Method> makeMethod(const MethodOptions& o, TransformerModel& model) {
  if (o.name == "vanilla") return makeVanilla(o, model);
  if (o.name == "pgd") return makePgd(o, model);
  if (o.name == "freelb") return makeFreeLb(o, model);
  if (o.name == "freeat") return makeFreeAt(o, model);
  if (o.name == "yopo") return makeYopo(o, model);
  if (o.name == "rpt") return makeRpt(o, model);
  if (o.name == "smart") return makeSmart(o, model);
  if (o.name == "alum") return makeAlum(o, model);
  if (o.name == "textat") return makeTextAt(o, model);
  if (o.name == "creat") return makeCreat(o, model);
  if (o.name == "sift") return makeSift(o, model);
  if (o.name == "infobert") return makeInfoBert(o, model);
  fail(kErrInvalidArg, "unknown method '" + o.name + "'");
}

}  // namespace advtrain
