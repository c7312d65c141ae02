// Task heads on top of the encoder, under transformers' parameter names, with their losses.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/layers.h"

namespace advtrain {

class Head {
 public:
  // `base` is the encoder prefix ("bert." ...); `wordEmbedding` is the weight an MLM decoder ties to.
  Head(const ModelConfig& cfg, ParamBuilder& pb, const std::string& base, const at::Tensor& wordEmbedding);

  // Logits: [B, numLabels] (classification, regression), [B, C] (multiple choice), [N, L, K] (token
  // classification), [N, L, 2] (QA: start, end), [N, L, V] (masked LM). With `labeledOnly` a masked-LM
  // head scores only the positions whose label is not -100 ([M, V]): the loss needs nothing else.
  at::Tensor forward(const at::Tensor& sequence, const Batch& b, const Compute& c, bool labeledOnly = false) const;

  // The task loss, mean over the batch as transformers computes it; `perExample` gives one value per
  // example instead (token tasks: mean over the example's labeled tokens, 0 when it has none).
  at::Tensor loss(const at::Tensor& logits, const Batch& b, bool perExample = false) const;

  // The pooled [CLS] representation (BERT/RoBERTa pooler) when the task uses one, else undefined.
  at::Tensor pooled(const at::Tensor& sequence, const Compute& c) const;

  // Checkpoint names that transformers ties to another parameter (alias -> canonical name).
  const std::vector<std::pair<std::string, std::string>>& aliases() const { return aliases_; }

 private:
  ModelConfig cfg_;
  bool hasPooler_ = false;
  Linear pooler_;
  Linear dense_;    // RoBERTa/ELECTRA classification head dense, ELECTRA summary, MLM transform
  Linear out_;      // classifier / out_proj / qa_outputs
  LayerNorm mlmNorm_;
  at::Tensor mlmBias_;
  at::Tensor decoder_;  // tied word embeddings
  std::vector<std::pair<std::string, std::string>> aliases_;
};

}  // namespace advtrain
