// Constructors of the methods; registry.cc maps names to them.
#pragma once
#include <memory>

#include "methods/method.h"

namespace advtrain {

std::unique_ptr<Method> makeVanilla(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makePgd(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeFreeLb(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeFreeAt(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeYopo(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeRpt(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeAlum(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeSmart(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeTextAt(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeCreat(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeSift(const MethodOptions& o, TransformerModel& model);
std::unique_ptr<Method> makeInfoBert(const MethodOptions& o, TransformerModel& model);

}  // namespace advtrain
