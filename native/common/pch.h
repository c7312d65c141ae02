// Precompiled header: ATen and the autograd entry points, used by almost every native file.
// Kept free of <torch/torch.h> (nn, optim) on purpose: that header triples compile time.
#pragma once
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/generated/variable_factories.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>
