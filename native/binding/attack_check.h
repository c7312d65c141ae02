// The attack's options and result across the binding (model.attack and testing.attackCheck), and
// testing.attackCheck(spec): the attack loop of robustness/attack.cc on a toy objective whose optimum
// is known (test/native/attack.test.ts).
#pragma once
#include <napi.h>

#include "robustness/attack.h"

namespace advtrain {

AttackOptions attackOptionsFromJs(const Napi::Object& opts);
// Moves r's tensors to host float32 (worker thread).
void attackResultToHost(AttackResult& r);
Napi::Object attackResultToJs(Napi::Env env, const AttackResult& r);

Napi::Value AttackCheck(const Napi::CallbackInfo& info);

}  // namespace advtrain
