// EarlyRobust (Xi et al., EMNLP 2022, "Efficient Adversarial Training with Robust Early-Bird Tickets";
// WooooDyy/EarlyRobust models/modeling_bert.py): slimming coefficients on attention heads and FFN neurons,
// and physical pruning of heads (transformers' prune_heads: rows of Q/K/V, columns of the attention output)
// and neurons (rows of intermediate.dense, columns of output.dense).
// Departure: the official code keeps the kept units' coefficients as frozen parameters after pruning
// (requires_grad False); here they are folded into the columns of the projection that follows, which gives
// the same forward pass and a plain transformers layout. (Its stage 2 loads checkpoint-0, where they are 1.)
#include <algorithm>

#include "common/error.h"
#include "model/transformer.h"

namespace advtrain {

namespace {

// Replaces a parameter's data in place (the TensorImpl shared by params_ and the layer structs stays).
void replaceData(const at::Tensor& param, const at::Tensor& data) { param.set_data(data.contiguous()); }

// The indices in [0, n) not listed in `drop` (sorted, unique).
at::Tensor keptIndices(int64_t n, const std::vector<int64_t>& drop, const at::Device& device) {
  std::vector<int64_t> keep;
  size_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (j < drop.size() && drop[j] == i) ++j;
    else keep.push_back(i);
  }
  return at::tensor(keep, at::kLong).to(device);
}

// Head indices expanded to the rows of their d-wide blocks.
at::Tensor headRows(const at::Tensor& heads, int64_t d) {
  return (heads.unsqueeze(1) * d + at::arange(d, heads.options()).unsqueeze(0)).flatten();
}

void checkIndices(const std::vector<int64_t>& idx, int64_t n, const std::string& what) {
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= n || (i > 0 && idx[i] <= idx[i - 1])) {
      fail(kErrInvalidArg, what + ": expected sorted unique indices in [0, " + std::to_string(n) + ")");
    }
  }
}

}  // namespace

std::vector<EncoderLayer>& TransformerModel::prunable(const char* op) {
  auto* layers = encoder_->prunableLayers();
  if (!layers) fail(kErrInvalidArg, std::string(op) + " supports BERT, RoBERTa and ELECTRA only");
  return *layers;
}

void TransformerModel::enableSlimming() {
  auto& layers = prunable("enableSlimming");
  if (slimming_) fail(kErrInvalidArg, "slimming is already enabled on this model");
  const auto options = at::TensorOptions().device(device_).dtype(at::kFloat);
  for (size_t i = 0; i < layers.size(); ++i) {
    EncoderLayer& L = layers[i];
    const std::string base = "advtrain.slimming.layer." + std::to_string(i);
    L.headCoef = at::ones({L.heads}, options).set_requires_grad(true);
    L.ffnCoef = at::ones({L.intermediate.weight.size(0)}, options).set_requires_grad(true);
    params_.push_back({base + ".heads", L.headCoef, false});
    params_.push_back({base + ".ffn", L.ffnCoef, false});
  }
  slimming_ = true;
  reindex();
  ++structureVersion_;
}

std::vector<std::pair<at::Tensor, at::Tensor>> TransformerModel::slimmingCoefficients() const {
  std::vector<std::pair<at::Tensor, at::Tensor>> out;
  auto* layers = const_cast<Encoder&>(*encoder_).prunableLayers();
  if (!slimming_ || !layers) return out;
  for (const auto& L : *layers) out.emplace_back(L.headCoef, L.ffnCoef);
  return out;
}

void TransformerModel::addSlimmingL1(double l1Heads, double l1Ffn) {
  if (!slimming_) return;
  at::NoGradGuard noGrad;
  auto add = [](const at::Tensor& c, double l1) {
    if (l1 == 0.0) return;
    // d|c|/dc = sign(c), 0 at 0 (as autograd's abs backward).
    at::Tensor g = at::sign(c) * l1;
    if (c.grad().defined()) c.mutable_grad().add_(g);
    else c.mutable_grad() = g;
  };
  for (auto& L : *encoder_->prunableLayers()) {
    add(L.headCoef, l1Heads);
    add(L.ffnCoef, l1Ffn);
  }
}

void TransformerModel::prune(const std::vector<std::vector<int64_t>>& heads, const std::vector<std::vector<int64_t>>& ffn) {
  auto& layers = prunable("prune");
  const size_t n = layers.size();
  if (heads.size() != n || ffn.size() != n) fail(kErrInvalidArg, "prune: expected one list of heads and one of neurons per layer");
  // Every check before the first change: a refused call leaves the model as it was.
  for (size_t i = 0; i < n; ++i) {
    const std::string layer = "layer " + std::to_string(i);
    checkIndices(heads[i], layers[i].heads, "prune: heads of " + layer);
    checkIndices(ffn[i], layers[i].intermediate.weight.size(0), "prune: neurons of " + layer);
    if (static_cast<int64_t>(heads[i].size()) >= layers[i].heads) fail(kErrInvalidArg, "prune: " + layer + " must keep at least one head");
  }
  at::NoGradGuard noGrad;
  zeroGrad();
  const int64_t d = cfg_.hiddenSize / cfg_.numHeads;
  std::vector<int64_t> layerHeads(n), layerFfn(n);
  for (size_t i = 0; i < n; ++i) {
    EncoderLayer& L = layers[i];
    // Fold the coefficients into the columns they multiply.
    if (L.headCoef.defined()) {
      at::Tensor scale = L.headCoef.detach().repeat_interleave(d).to(L.attnOut.weight.scalar_type());
      replaceData(L.attnOut.weight, L.attnOut.weight * scale.unsqueeze(0));
    }
    if (L.ffnCoef.defined()) {
      at::Tensor scale = L.ffnCoef.detach().to(L.output.weight.scalar_type());
      replaceData(L.output.weight, L.output.weight * scale.unsqueeze(0));
    }
    L.headCoef = at::Tensor();
    L.ffnCoef = at::Tensor();
    const at::Tensor rows = headRows(keptIndices(L.heads, heads[i], device_), d);
    for (Linear* lin : {&L.query, &L.key, &L.value}) {
      replaceData(lin->weight, lin->weight.index_select(0, rows));
      replaceData(lin->bias, lin->bias.index_select(0, rows));
    }
    replaceData(L.attnOut.weight, L.attnOut.weight.index_select(1, rows));
    L.heads -= static_cast<int64_t>(heads[i].size());
    const at::Tensor neurons = keptIndices(L.intermediate.weight.size(0), ffn[i], device_);
    replaceData(L.intermediate.weight, L.intermediate.weight.index_select(0, neurons));
    replaceData(L.intermediate.bias, L.intermediate.bias.index_select(0, neurons));
    replaceData(L.output.weight, L.output.weight.index_select(1, neurons));
    layerHeads[i] = L.heads;
    layerFfn[i] = L.intermediate.weight.size(0);
  }
  cfg_.layerHeads = layerHeads;
  cfg_.layerIntermediate = layerFfn;
  if (slimming_) {
    params_.erase(std::remove_if(params_.begin(), params_.end(), [](const NamedParam& p) { return p.name.rfind("advtrain.slimming.", 0) == 0; }), params_.end());
    slimming_ = false;
  }
  reindex();
  ++structureVersion_;
}

std::unordered_map<const void*, at::Tensor> TransformerModel::paddedLayerTensors() const {
  std::unordered_map<const void*, at::Tensor> out;
  auto* layers = const_cast<Encoder&>(*encoder_).prunableLayers();
  if (!layers) return out;
  const int64_t full = cfg_.hiddenSize, F = cfg_.intermediateSize;
  // Kept units first, zeros after: heads and FFN neurons are each permutation-invariant, so the
  // positions of the zero units do not matter. A zero head's value rows give a zero context and its
  // zero output columns add nothing; a zero neuron's output columns add nothing whatever its activation.
  auto pad = [&](const at::Tensor& t, int64_t dim, int64_t size) {
    if (t.size(dim) == size) return;
    std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    shape[static_cast<size_t>(dim)] = size;
    at::Tensor z = at::zeros(shape, t.options());
    z.narrow(dim, 0, t.size(dim)).copy_(t);
    out[t.unsafeGetTensorImpl()] = z;
  };
  for (const auto& L : *layers) {
    for (const Linear* lin : {&L.query, &L.key, &L.value}) {
      pad(lin->weight, 0, full);
      pad(lin->bias, 0, full);
    }
    pad(L.attnOut.weight, 1, full);
    pad(L.intermediate.weight, 0, F);
    pad(L.intermediate.bias, 0, F);
    pad(L.output.weight, 1, F);
  }
  return out;
}

}  // namespace advtrain
