// The encoder shared by BERT, RoBERTa, ELECTRA and ALBERT: embeddings, optional ELECTRA/ALBERT projection, layers.
// ALBERT's layers_ hold one entry per layer application (model/albert.h), sharing their group's tensors.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/layers.h"

namespace advtrain {

// Where adversarial methods add their perturbation.
struct Perturbation {
  at::Tensor wordDelta;       // [N, L, E] added to the word embeddings (before position/type and LayerNorm)
  at::Tensor embeddingDelta;  // [N, L, E] added to the embedding module's output (after LayerNorm and dropout)
  int64_t deltaLayer = 0;     // embeddingDelta goes to the output of this layer instead (0: the embedding module)
  bool detachWords = false;   // no gradient reaches the word-embedding table through this pass (fairseq R3F)
  // SiFT (DeBERTa sift.py): > 0 inserts an affine-free LayerNorm with this eps before the embedding LayerNorm;
  // siftDelta [N, L, E] is added to its (then detached) output, as sift.py's PerturbationLayer.
  double siftNormEps = 0.0;
  at::Tensor siftDelta;
};

struct EncoderTrace {
  bool hidden = false;      // collect the embedding output and every layer's output
  bool attentions = false;  // collect attention probabilities (forces the math attention path)
  std::vector<at::Tensor> hiddenStates;
  std::vector<at::Tensor> attentionProbs;
};

struct EncoderLayer {
  Linear query, key, value, attnOut;
  LayerNorm attnNorm;
  Linear intermediate, output;
  LayerNorm outNorm;
};

class Encoder {
 public:
  // Registers parameters under `prefix` ("bert.", "roberta.", "electra.", "albert." or "" for a bare encoder).
  Encoder(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix);

  // Word-embedding lookup [N, L, E] (padding rows get no gradient, as nn.Embedding(padding_idx)).
  at::Tensor wordEmbeddings(const at::Tensor& ids) const;

  // Embedding module output plus ELECTRA's / ALBERT's projection: the input of layer 0, [N, L, H].
  // `words` is wordEmbeddings(ids) (+ a perturbation); passing it in lets methods reuse one lookup.
  at::Tensor embed(const Batch& b, const at::Tensor& words, const at::Tensor& embeddingDelta, const Compute& c,
                   EncoderTrace* trace, const Perturbation* sift = nullptr) const;

  at::Tensor layer(int64_t i, const at::Tensor& h, const at::Tensor& bias, const Compute& c, at::Tensor* probs) const;

  // Layers [from, to) on h.
  at::Tensor layers(at::Tensor h, const at::Tensor& bias, int64_t from, int64_t to, const Compute& c, EncoderTrace* trace) const;

  // Full pass: returns the last hidden state [N, L, H] (float32).
  at::Tensor forward(const Batch& b, const Perturbation& p, const Compute& c, EncoderTrace* trace) const;

  const at::Tensor& wordEmbeddingWeight() const { return wordEmb_; }
  // Layer applications: num_hidden_layers (x inner_group_num for ALBERT).
  int64_t numLayers() const { return static_cast<int64_t>(layers_.size()); }

 private:
  at::Tensor positionIds(const Batch& b) const;

  ModelConfig cfg_;
  at::Tensor wordEmb_, posEmb_, typeEmb_;
  LayerNorm embNorm_;
  bool project_ = false;
  Linear embProject_;
  std::vector<EncoderLayer> layers_;
};

}  // namespace advtrain
