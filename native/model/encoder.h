// The encoder shared by BERT, RoBERTa, ELECTRA and ALBERT: embeddings, optional ELECTRA/ALBERT projection, layers.
// ALBERT's layers_ hold one entry per layer application (model/albert.h), sharing their group's tensors.
// Other families (DeBERTa-v2, model/deberta.h) derive from it and override embed/layer/layerMask.
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
  bool input = false;       // collect the encoder's input only (hiddenStates[0]); the layers may skip padding
  bool attentions = false;  // collect attention probabilities (forces the math attention path)
  std::vector<at::Tensor> hiddenStates;
  std::vector<at::Tensor> attentionProbs;
};

struct EncoderLayer {
  Linear query, key, value, attnOut;
  LayerNorm attnNorm;
  Linear intermediate, output;
  LayerNorm outNorm;
  int64_t heads = 0;  // this layer's heads (fewer than numHeads once pruned)
  // EarlyRobust slimming coefficients (model/pruning.h), undefined when off: [heads] scales each head's
  // context, [ffn width] the activated intermediate output.
  at::Tensor headCoef, ffnCoef;
};

// The real tokens of a padded batch (Compute::packTokens): token-wise work runs on their [T, H] rows.
// Outputs at padding positions are zeros where the padded path leaves whatever the layers computed
// there; nothing reads them (Batch::packable, TransformerModel::forward).
struct TokenPacking {
  at::Tensor index;  // [T] flat positions in N * L (Batch::realIndex)
  int64_t rows = 0, seqLen = 0;
  at::Tensor pack(const at::Tensor& x) const { return x.flatten(0, 1).index_select(0, index); }
  at::Tensor unpack(const at::Tensor& x) const {
    return at::zeros({rows * seqLen, x.size(-1)}, x.options()).index_copy(0, index, x).view({rows, seqLen, x.size(-1)});
  }
};

// SiFT's PerturbationLayer on the embedding LayerNorm's input: an affine-free LayerNorm, then (attack and
// adversarial passes) the detached result plus siftDelta.
at::Tensor siftNormalize(const at::Tensor& x, const Perturbation& sift);

class Encoder {
 public:
  // Registers parameters under `prefix` ("bert.", "roberta.", "electra.", "albert." or "" for a bare encoder).
  Encoder(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix);
  virtual ~Encoder() = default;

  // Word-embedding lookup [N, L, E] (padding rows get no gradient, as nn.Embedding(padding_idx)).
  at::Tensor wordEmbeddings(const at::Tensor& ids) const;

  // Embedding module output plus ELECTRA's / ALBERT's projection: the input of layer 0, [N, L, H].
  // `words` is wordEmbeddings(ids) (+ a perturbation); passing it in lets methods reuse one lookup.
  virtual at::Tensor embed(const Batch& b, const at::Tensor& words, const at::Tensor& embeddingDelta, const Compute& c,
                           EncoderTrace* trace, const Perturbation* sift = nullptr) const;

  // What layer() takes as `bias` for this batch, computed once per forward: BERT's additive bias
  // [N, 1, 1, L]; DeBERTa's 0/1 mask [N, L].
  virtual at::Tensor layerMask(const Batch& b, at::ScalarType dtype) const;

  virtual at::Tensor layer(int64_t i, const at::Tensor& h, const at::Tensor& bias, const Compute& c, at::Tensor* probs) const;

  // Layers [from, to) on h, or on its packed rows [T, H] with `pack` (then without a trace).
  at::Tensor layers(at::Tensor h, const at::Tensor& bias, int64_t from, int64_t to, const Compute& c, EncoderTrace* trace,
                    const TokenPacking* pack) const;

  // Full pass: returns the last hidden state [N, L, H] (float32). With c.packTokens on a packable batch
  // and no trace of the layers (EncoderTrace::input is fine), the layers run on the real tokens only (TokenPacking).
  at::Tensor forward(const Batch& b, const Perturbation& p, const Compute& c, EncoderTrace* trace) const;

  const at::Tensor& wordEmbeddingWeight() const { return wordEmb_; }
  // The layers that slimming and pruning edit (model/pruning.cc): BERT, RoBERTa and ELECTRA; nullptr for
  // ALBERT (layers share tensors) and DeBERTa-v2 (its own layers), which are refused.
  std::vector<EncoderLayer>* prunableLayers();
  // Layer applications: num_hidden_layers (x inner_group_num for ALBERT).
  virtual int64_t numLayers() const { return static_cast<int64_t>(layers_.size()); }

  // Width of Perturbation::embeddingDelta with this deltaLayer: the embedding module's output (E here:
  // ELECTRA's and ALBERT's projections come after it) or a layer's output (H).
  virtual int64_t perturbationWidth(int64_t deltaLayer) const { return deltaLayer == 0 ? cfg_.embeddingSize : cfg_.hiddenSize; }

 protected:
  // For subclasses, which register their own parameters (wordEmb_ included).
  explicit Encoder(const ModelConfig& cfg) : cfg_(cfg) {}

  // One layer on packed rows [T, H] (attention runs padded); what layers() calls with a TokenPacking.
  virtual at::Tensor packedLayer(int64_t i, const at::Tensor& h, const at::Tensor& bias, const Compute& c, const TokenPacking& pack) const {
    return layerOf(i, h, bias, c, nullptr, &pack);
  }

  ModelConfig cfg_;
  at::Tensor wordEmb_;

 private:
  at::Tensor positionIds(const Batch& b) const;
  // One layer on h [N, L, H], or on packed rows [T, H] when `pack` is given (attention then runs padded).
  at::Tensor layerOf(int64_t i, const at::Tensor& h, const at::Tensor& bias, const Compute& c, at::Tensor* probs,
                     const TokenPacking* pack) const;

  at::Tensor posEmb_, typeEmb_;
  LayerNorm embNorm_;
  bool project_ = false;
  Linear embProject_;
  std::vector<EncoderLayer> layers_;
};

}  // namespace advtrain
