// DeBERTa-v2/v3 encoder (transformers' DebertaV2Model): disentangled attention (content->position and
// position->content scores from shared relative-position embeddings), optional log-bucketed relative
// positions, the ConvLayer after layer 0, the embedding projection and the mask multiply in the embeddings.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "model/encoder.h"

namespace advtrain {

class DebertaEncoder : public Encoder {
 public:
  // Registers parameters under `prefix` ("deberta." or "" for a bare DebertaV2Model), in its state_dict order.
  DebertaEncoder(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix);

  // word (+ absolute position) (+ token type) embeddings, embed_proj, LayerNorm, * mask, dropout. SiFT's
  // normalisation and perturbation go before the LayerNorm, as sift.py hooks embeddings.LayerNorm.
  at::Tensor embed(const Batch& b, const at::Tensor& words, const at::Tensor& embeddingDelta, const Compute& c,
                   EncoderTrace* trace, const Perturbation* sift = nullptr) const override;

  // The batch's 0/1 attention mask [N, L]: each layer builds its own pair mask and relative terms from it.
  at::Tensor layerMask(const Batch& b, at::ScalarType dtype) const override;

  // One DebertaV2Layer; layer 0 also runs the ConvLayer when configured (as DebertaV2Encoder.forward does).
  at::Tensor layer(int64_t i, const at::Tensor& h, const at::Tensor& mask, const Compute& c, at::Tensor* probs) const override;

  int64_t numLayers() const override { return static_cast<int64_t>(layers_.size()); }

  // H everywhere: embed_proj sits inside the embedding module, before its LayerNorm.
  int64_t perturbationWidth(int64_t) const override { return cfg_.hiddenSize; }

 protected:
  // The same on packed rows: attention (relative terms included) and the ConvLayer run on [N, L, *].
  at::Tensor packedLayer(int64_t i, const at::Tensor& h, const at::Tensor& mask, const Compute& c, const TokenPacking& pack) const override;

 private:
  struct Layer {
    Linear query, key, value, posKey, posQuery;  // posKey/posQuery: without share_att_key, per pos_att_type
    Linear attnOut;
    LayerNorm attnNorm;
    Linear intermediate, output;
    LayerNorm outNorm;
  };

  // Relative positions q - k [L, L] (log buckets when position_buckets > 0), on `device`.
  at::Tensor relativePositions(int64_t L, const at::Device& device) const;
  // layer() on h [N, L, H], or on packed rows [T, H] with `pack`.
  at::Tensor layerOf(int64_t i, const at::Tensor& h, const at::Tensor& mask, const Compute& c, at::Tensor* probs, const TokenPacking* pack) const;
  // c2p + p2c scores [N, heads, L, L] for layer `l`, already divided by the scale.
  at::Tensor relativeScores(const Layer& l, const at::Tensor& q, const at::Tensor& k, double scale, const Compute& c) const;

  int64_t span_ = 0;  // pos_ebd_size: the relative embedding table has 2 * span_ rows
  at::Tensor posEmb_, typeEmb_, embProj_;  // each may be undefined (position_biased_input, type_vocab_size, E == H)
  LayerNorm embNorm_;
  std::vector<Layer> layers_;
  at::Tensor relEmb_;
  LayerNorm relNorm_;
  at::Tensor convWeight_, convBias_;
  LayerNorm convNorm_;
};

}  // namespace advtrain
