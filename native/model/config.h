// Model configuration: a plain copy of the fields of config.json that the forward pass uses.
// lib/model/config.ts reads and validates config.json; this side trusts it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace advtrain {

enum class Family { Bert, Roberta, Electra, Albert, DebertaV2 };

enum class Task {
  Base,                    // encoder only (BertModel): pooler for BERT/RoBERTa
  SequenceClassification,  // cross-entropy over numLabels
  Regression,              // sequence classification with numLabels = 1 and MSE
  MultipleChoice,          // [B, C, L] flattened, one score per choice
  TokenClassification,     // per-token labels, -100 ignored
  QuestionAnswering,       // start/end logits
  MaskedLM,                // decoder tied to the word embeddings
};

enum class Activation { Gelu, GeluTanh, Relu, Silu, Tanh, QuickGelu };

// DeBERTa-v2/v3 (DebertaV2Config), as lib/model/config.ts resolves it.
struct DebertaConfig {
  bool relativeAttention = false;
  bool c2p = false, p2c = false;      // pos_att_type entries
  int64_t positionBuckets = -1;       // > 0: log-bucketed relative positions, span = positionBuckets
  int64_t maxRelativePositions = 0;   // resolved (< 1 in config.json: max_position_embeddings); span without buckets
  bool shareAttKey = false;           // relative embeddings go through query/key projections
  bool normRelEmbedding = false;      // norm_rel_ebd has "layer_norm"
  bool positionBiasedInput = true;    // absolute position embeddings added to the input
  int64_t convKernelSize = 0;         // > 0: ConvLayer after layer 0
  int64_t convGroups = 1;
  Activation convAct = Activation::Tanh;
  Activation poolerAct = Activation::Gelu;  // ContextPooler
  double poolerDropout = 0.0;
};

struct ModelConfig {
  Family family = Family::Bert;
  Task task = Task::Base;
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t embeddingSize = 0;  // ELECTRA/ALBERT may differ from hiddenSize (embeddings_project, embedding_hidden_mapping_in); else == hiddenSize
  int64_t numLayers = 0;
  int64_t numHiddenGroups = 1;  // ALBERT: layer groups sharing parameters (model/albert.h); 1 elsewhere
  int64_t innerGroupNum = 1;    // ALBERT: layers per group application; 1 elsewhere
  int64_t numHeads = 0;
  int64_t intermediateSize = 0;
  int64_t maxPositions = 0;
  int64_t typeVocabSize = 0;
  int64_t padTokenId = 0;
  int64_t numLabels = 2;
  Activation hiddenAct = Activation::Gelu;
  double hiddenDropout = 0.1;
  double attentionDropout = 0.1;
  double classifierDropout = 0.1;  // config.classifier_dropout, or hidden_dropout_prob when null
  double layerNormEps = 1e-12;
  double initializerRange = 0.02;
  // ELECTRA multiple choice (SequenceSummary): activation of the summary projection and its last dropout.
  Activation summaryActivation = Activation::Gelu;
  double summaryLastDropout = 0.1;
  DebertaConfig deberta;
  // Physically pruned structure (model/pruning.cc): heads and FFN width of each layer. Empty: numHeads and
  // intermediateSize in every layer. The head size stays hiddenSize / numHeads, as transformers' prune_heads keeps it.
  std::vector<int64_t> layerHeads, layerIntermediate;
  int64_t headsOf(int64_t layer) const { return layerHeads.empty() ? numHeads : layerHeads[static_cast<size_t>(layer)]; }
  int64_t ffnOf(int64_t layer) const { return layerIntermediate.empty() ? intermediateSize : layerIntermediate[static_cast<size_t>(layer)]; }
};

inline const char* familyPrefix(Family f) {
  switch (f) {
    case Family::Bert: return "bert";
    case Family::Roberta: return "roberta";
    case Family::Electra: return "electra";
    case Family::Albert: return "albert";
    case Family::DebertaV2: return "deberta";
  }
  return "bert";
}

}  // namespace advtrain
