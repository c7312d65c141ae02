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

  // The pooled [CLS] representation (BERT/RoBERTa/ALBERT pooler) when the task uses one, else undefined.
  at::Tensor pooled(const at::Tensor& sequence, const Compute& c) const;

  // R4F (Aghajanyan et al. 2021): spectral normalisation of the output projection (`classifier`,
  // `classifier.out_proj`), as torch.nn.utils.spectral_norm(out_proj) in fairseq's
  // --spectral-norm-classification-head. Sequence classification and regression only. The parameter keeps
  // W_orig (what the optimizer trains); `u` [out] and `v` [in] are the unit vectors of the power iteration.
  void enableSpectralNorm(const at::Tensor& u, const at::Tensor& v);
  bool spectralNorm() const { return snU_.defined(); }
  // The training state under torch's names: <out>.weight_orig (the parameter itself), .weight_u, .weight_v;
  // the tensors themselves, so copying into them restores the state.
  std::vector<std::pair<std::string, at::Tensor>> spectralState() const;
  // The output weight the head computes with: W_orig / sigma, sigma = u^T W_orig v (torch's compute_weight).
  // With `powerIteration` (training mode) one power iteration first updates u and v in place, without
  // gradient; the gradient then flows through sigma with u and v held fixed, as torch's does.
  at::Tensor outWeight(bool powerIteration) const;
  // Checkpoint name of the output projection's weight ("classifier.weight", "classifier.out_proj.weight").
  std::string outWeightName() const { return outName_ + ".weight"; }

  // Checkpoint names that transformers ties to another parameter (alias -> canonical name).
  const std::vector<std::pair<std::string, std::string>>& aliases() const { return aliases_; }

 private:
  ModelConfig cfg_;
  bool hasPooler_ = false;
  Linear pooler_;
  // DeBERTa's ContextPooler: dropout(pooler_dropout), dense, pooler_hidden_act on the first token.
  at::Tensor contextPooled(const at::Tensor& seq, const Compute& c) const;

  Linear dense_;    // RoBERTa/ELECTRA classification head dense, ELECTRA summary, DeBERTa pooler, MLM transform (ALBERT: predictions.dense)
  Linear out_;      // classifier / out_proj / qa_outputs
  std::string outName_;  // out_'s checkpoint prefix (sequence classification and regression)
  at::Tensor snU_, snV_;  // spectral normalisation of out_ (undefined: none)
  LayerNorm mlmNorm_;
  at::Tensor mlmBias_;
  at::Tensor decoder_;  // tied word embeddings
  std::vector<std::pair<std::string, std::string>> aliases_;
};

}  // namespace advtrain
