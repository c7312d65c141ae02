#include "model/heads.h"

namespace advtrain {

namespace {

bool usesPooler(const ModelConfig& cfg) {
  if (cfg.family == Family::Electra || cfg.family == Family::DebertaV2) return false;
  switch (cfg.task) {
    case Task::Base:
    case Task::MultipleChoice: return true;
    case Task::SequenceClassification:
    case Task::Regression: return cfg.family == Family::Bert || cfg.family == Family::Albert;
    default: return false;
  }
}

// BERT and ALBERT heads classify the pooler output, and their MLM transform uses hidden_act.
bool bertLike(const ModelConfig& cfg) { return cfg.family == Family::Bert || cfg.family == Family::Albert; }

at::Tensor firstToken(const at::Tensor& seq) { return seq.select(1, 0); }

// F.normalize(x, dim=0, eps=1e-12) of a vector: x / max(||x||, eps), spectral_norm's eps.
at::Tensor unit(const at::Tensor& x) { return x / x.norm().clamp_min(1e-12); }

}  // namespace

Head::Head(const ModelConfig& cfg, ParamBuilder& pb, const std::string& base, const at::Tensor& wordEmbedding) : cfg_(cfg) {
  const int64_t H = cfg.hiddenSize;
  hasPooler_ = usesPooler(cfg);
  // AlbertModel's pooler is a bare Linear ("pooler"), BERT's and RoBERTa's a module ("pooler.dense").
  if (hasPooler_) pooler_ = pb.linear(base + (cfg.family == Family::Albert ? "pooler" : "pooler.dense"), H, H);
  const bool bert = bertLike(cfg);
  const bool deberta = cfg.family == Family::DebertaV2;
  const std::string wordName = base + "embeddings.word_embeddings.weight";
  // DeBERTa's ContextPooler (dropout, dense, activation on the first token) before its classifiers.
  if (deberta && (cfg.task == Task::SequenceClassification || cfg.task == Task::Regression || cfg.task == Task::MultipleChoice)) {
    dense_ = pb.linear("pooler.dense", H, H);
  }
  switch (cfg.task) {
    case Task::Base: break;
    case Task::SequenceClassification:
    case Task::Regression:
      if (bert || deberta) {
        outName_ = "classifier";
        out_ = pb.linear(outName_, H, cfg.numLabels);
      } else {
        dense_ = pb.linear("classifier.dense", H, H);
        outName_ = "classifier.out_proj";
        out_ = pb.linear(outName_, H, cfg.numLabels);
      }
      break;
    case Task::MultipleChoice:
      if (cfg.family == Family::Electra) dense_ = pb.linear("sequence_summary.summary", H, H);
      out_ = pb.linear("classifier", H, 1);
      break;
    case Task::TokenClassification: out_ = pb.linear("classifier", H, cfg.numLabels); break;
    case Task::QuestionAnswering: out_ = pb.linear("qa_outputs", H, 2); break;
    case Task::MaskedLM:
      decoder_ = wordEmbedding;
      if (cfg.family == Family::Albert) {
        // AlbertMLMHead (H -> E, hidden_act, LayerNorm(E)); decoder weight and bias tied as _tied_weights_keys says.
        mlmNorm_ = pb.layerNorm("predictions.LayerNorm", cfg.embeddingSize, cfg.layerNormEps);
        mlmBias_ = pb.zeros("predictions.bias", {cfg.vocabSize});
        dense_ = pb.linear("predictions.dense", H, cfg.embeddingSize);
        aliases_ = {{"predictions.decoder.weight", wordName}, {"predictions.decoder.bias", "predictions.bias"}};
      } else if (deberta) {
        // LegacyDebertaV2OnlyMLMHead: BERT's names, transform H -> E, decoder tied to the word embeddings.
        dense_ = pb.linear("cls.predictions.transform.dense", H, cfg.embeddingSize);
        mlmNorm_ = pb.layerNorm("cls.predictions.transform.LayerNorm", cfg.embeddingSize, cfg.layerNormEps);
        mlmBias_ = pb.zeros("cls.predictions.bias", {cfg.vocabSize});
        aliases_ = {{"cls.predictions.decoder.weight", wordName}, {"cls.predictions.decoder.bias", "cls.predictions.bias"}};
      } else if (bert) {
        dense_ = pb.linear("cls.predictions.transform.dense", H, H);
        mlmNorm_ = pb.layerNorm("cls.predictions.transform.LayerNorm", H, cfg.layerNormEps);
        mlmBias_ = pb.zeros("cls.predictions.bias", {cfg.vocabSize});
        aliases_ = {{"cls.predictions.decoder.weight", wordName}, {"cls.predictions.decoder.bias", "cls.predictions.bias"}};
      } else if (cfg.family == Family::Roberta) {
        dense_ = pb.linear("lm_head.dense", H, H);
        mlmNorm_ = pb.layerNorm("lm_head.layer_norm", H, cfg.layerNormEps);
        mlmBias_ = pb.zeros("lm_head.bias", {cfg.vocabSize});
        aliases_ = {{"lm_head.decoder.weight", wordName}, {"lm_head.decoder.bias", "lm_head.bias"}};
      } else {
        // ElectraForMaskedLM: generator_predictions (H -> E) and a generator_lm_head tied to the embeddings.
        dense_ = pb.linear("generator_predictions.dense", H, cfg.embeddingSize);
        mlmNorm_ = pb.layerNorm("generator_predictions.LayerNorm", cfg.embeddingSize, cfg.layerNormEps);
        mlmBias_ = pb.zeros("generator_lm_head.bias", {cfg.vocabSize});
        aliases_ = {{"generator_lm_head.weight", wordName}};
      }
      break;
  }
}

void Head::enableSpectralNorm(const at::Tensor& u, const at::Tensor& v) {
  TORCH_CHECK(cfg_.task == Task::SequenceClassification || cfg_.task == Task::Regression,
              "spectral normalisation applies to the classification head of sequence classification and regression");
  TORCH_CHECK(u.dim() == 1 && u.size(0) == out_.weight.size(0) && v.dim() == 1 && v.size(0) == out_.weight.size(1),
              "spectral normalisation vectors of the wrong shape");
  at::NoGradGuard noGrad;
  snU_ = u.to(out_.weight.options()).clone();
  snV_ = v.to(out_.weight.options()).clone();
}

std::vector<std::pair<std::string, at::Tensor>> Head::spectralState() const {
  if (!spectralNorm()) return {};
  return {{outName_ + ".weight_orig", out_.weight}, {outName_ + ".weight_u", snU_}, {outName_ + ".weight_v", snV_}};
}

at::Tensor Head::outWeight(bool powerIteration) const {
  const at::Tensor& w = out_.weight;
  if (!spectralNorm()) return w;
  if (powerIteration) {
    at::NoGradGuard noGrad;
    snV_.copy_(unit(at::mv(w.t(), snU_)));
    snU_.copy_(unit(at::mv(w, snV_)));
  }
  // Clones, as torch's: the next forward's power iteration writes u and v in place while this graph needs them.
  const at::Tensor u = snU_.clone(), v = snV_.clone();
  return w / at::dot(u, at::mv(w, v));
}

at::Tensor Head::pooled(const at::Tensor& sequence, const Compute& c) const {
  if (!hasPooler_) return {};
  return at::tanh(linear(firstToken(sequence), pooler_, c));
}

at::Tensor Head::contextPooled(const at::Tensor& seq, const Compute& c) const {
  at::Tensor x = dropout(firstToken(seq), cfg_.deberta.poolerDropout, c);
  return activate(linear(x, dense_, c), cfg_.deberta.poolerAct);
}

at::Tensor Head::forward(const at::Tensor& seq, const Batch& b, const Compute& c, bool labeledOnly) const {
  const bool bert = bertLike(cfg_);
  switch (cfg_.task) {
    case Task::Base: return pooled(seq, c);
    case Task::SequenceClassification:
    case Task::Regression: {
      const Linear out{outWeight(c.training), out_.bias};
      if (cfg_.family == Family::DebertaV2) return linear(dropout(contextPooled(seq, c), cfg_.classifierDropout, c), out, c).to(at::kFloat);
      if (bert) return linear(dropout(pooled(seq, c), cfg_.classifierDropout, c), out, c).to(at::kFloat);
      // RobertaClassificationHead (tanh) / ElectraClassificationHead (gelu) on the first token.
      at::Tensor x = dropout(firstToken(seq), cfg_.classifierDropout, c);
      x = linear(x, dense_, c);
      x = cfg_.family == Family::Roberta ? at::tanh(x) : activate(x, Activation::Gelu);
      return linear(dropout(x, cfg_.classifierDropout, c), out, c).to(at::kFloat);
    }
    case Task::MultipleChoice: {
      at::Tensor x;
      if (cfg_.family == Family::DebertaV2) {
        x = dropout(contextPooled(seq, c), cfg_.classifierDropout, c);
      } else if (cfg_.family == Family::Electra) {
        // SequenceSummary: first token, projection, activation, last dropout.
        x = dropout(activate(linear(firstToken(seq), dense_, c), cfg_.summaryActivation), cfg_.summaryLastDropout, c);
      } else {
        x = dropout(pooled(seq, c), bert ? cfg_.classifierDropout : cfg_.hiddenDropout, c);
      }
      return linear(x, out_, c).to(at::kFloat).view({-1, b.numChoices});
    }
    case Task::TokenClassification: {
      // DebertaV2ForTokenClassification drops out with hidden_dropout_prob.
      const double p = cfg_.family == Family::DebertaV2 ? cfg_.hiddenDropout : cfg_.classifierDropout;
      return linear(dropout(seq, p, c), out_, c).to(at::kFloat);
    }
    case Task::QuestionAnswering: return linear(seq, out_, c).to(at::kFloat);
    case Task::MaskedLM: {
      at::Tensor x = seq;
      if (labeledOnly) x = seq.flatten(0, 1).index_select(0, labeledPositions(b));
      x = linear(x, dense_, c);
      x = bert || cfg_.family == Family::DebertaV2 ? activate(x, cfg_.hiddenAct) : activate(x, Activation::Gelu);
      x = layerNorm(x, mlmNorm_);
      return at::linear(x.to(c.dtype), decoder_.to(c.dtype), mlmBias_.to(c.dtype)).to(at::kFloat);
    }
  }
  return {};
}

at::Tensor Head::loss(const at::Tensor& logits, const Batch& b, bool perExample) const {
  const auto reduction = perExample ? at::Reduction::None : at::Reduction::Mean;
  switch (cfg_.task) {
    case Task::Base: TORCH_CHECK(false, "a base encoder (no task head) has no loss");
    case Task::Regression: {
      at::Tensor d = at::pow(logits.squeeze(-1) - b.labels.to(at::kFloat), 2);
      return perExample ? d : d.mean();
    }
    case Task::SequenceClassification:
    case Task::MultipleChoice: return at::cross_entropy_loss(logits, b.labels, {}, reduction, -100);
    case Task::QuestionAnswering: {
      // Positions outside the sequence are clamped to L and ignored, as transformers does.
      const int64_t L = logits.size(1);
      at::Tensor s = b.startPositions.clamp(0, L), e = b.endPositions.clamp(0, L);
      at::Tensor ls = at::cross_entropy_loss(logits.select(2, 0), s, {}, reduction, L);
      at::Tensor le = at::cross_entropy_loss(logits.select(2, 1), e, {}, reduction, L);
      return (ls + le) / 2;
    }
    case Task::TokenClassification:
    case Task::MaskedLM: {
      const bool compact = cfg_.task == Task::MaskedLM && logits.dim() == 2;  // labeledOnly logits [M, V]
      at::Tensor labels = b.labels.flatten();
      at::Tensor flat = compact ? logits : logits.flatten(0, 1);
      if (compact) labels = labels.index_select(0, labeledPositions(b));
      if (!perExample) return at::cross_entropy_loss(flat, labels, {}, at::Reduction::Mean, -100);
      // Per example: mean over its labeled tokens.
      at::Tensor tok = at::cross_entropy_loss(flat, labels, {}, at::Reduction::None, -100);
      at::Tensor rowLabels = b.labels.ne(-100);
      at::Tensor full = compact ? at::zeros({rowLabels.numel()}, tok.options()).index_copy(0, labeledPositions(b), tok) : tok;
      full = full.view(rowLabels.sizes());
      at::Tensor counts = rowLabels.sum(1).to(at::kFloat);
      return full.sum(1) / counts.clamp_min(1.0);
    }
  }
  return {};
}

}  // namespace advtrain
