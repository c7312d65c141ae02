#include "model/encoder.h"

#include <optional>

#include "model/albert.h"

namespace advtrain {

Encoder::Encoder(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix) : cfg_(cfg) {
  const std::string e = prefix + "embeddings.";
  const int64_t E = cfg.embeddingSize, H = cfg.hiddenSize;
  // Registration order follows transformers' state_dict order.
  wordEmb_ = pb.normal(e + "word_embeddings.weight", {cfg.vocabSize, E}, true, cfg.padTokenId);
  posEmb_ = pb.normal(e + "position_embeddings.weight", {cfg.maxPositions, E}, true,
                      cfg.family == Family::Roberta ? cfg.padTokenId : -1);
  typeEmb_ = pb.normal(e + "token_type_embeddings.weight", {cfg.typeVocabSize, E});
  embNorm_ = pb.layerNorm(e + "LayerNorm", E, cfg.layerNormEps);
  if (cfg.family == Family::Albert) {
    project_ = true;
    embProject_ = pb.linear(prefix + "encoder.embedding_hidden_mapping_in", E, H);
    layers_ = albertLayers(cfg, pb, prefix);
    return;
  }
  if (cfg.family == Family::Electra && E != H) {
    project_ = true;
    embProject_ = pb.linear(prefix + "embeddings_project", E, H);
  }
  for (int64_t i = 0; i < cfg.numLayers; ++i) {
    const std::string l = prefix + "encoder.layer." + std::to_string(i) + ".";
    EncoderLayer L;
    L.heads = cfg.headsOf(i);
    const int64_t A = L.heads * (H / cfg.numHeads), F = cfg.ffnOf(i);
    L.query = pb.linear(l + "attention.self.query", H, A);
    L.key = pb.linear(l + "attention.self.key", H, A);
    L.value = pb.linear(l + "attention.self.value", H, A);
    L.attnOut = pb.linear(l + "attention.output.dense", A, H);
    L.attnNorm = pb.layerNorm(l + "attention.output.LayerNorm", H, cfg.layerNormEps);
    L.intermediate = pb.linear(l + "intermediate.dense", H, F);
    L.output = pb.linear(l + "output.dense", F, H);
    L.outNorm = pb.layerNorm(l + "output.LayerNorm", H, cfg.layerNormEps);
    layers_.push_back(std::move(L));
  }
}

std::vector<EncoderLayer>* Encoder::prunableLayers() {
  return cfg_.family == Family::Albert || cfg_.family == Family::DebertaV2 ? nullptr : &layers_;
}

at::Tensor Encoder::wordEmbeddings(const at::Tensor& ids) const {
  return at::embedding(wordEmb_, ids, cfg_.padTokenId);
}

at::Tensor Encoder::positionIds(const Batch& b) const {
  const int64_t L = b.seqLen();
  if (cfg_.family == Family::Roberta) {
    // create_position_ids_from_input_ids: padding keeps padding_idx, real tokens count from padding_idx + 1.
    at::Tensor real = b.inputIds.ne(cfg_.padTokenId).to(at::kLong);
    return at::cumsum(real, 1) * real + cfg_.padTokenId;
  }
  return at::arange(L, b.inputIds.options()).unsqueeze(0).expand({b.rows(), L});
}

at::Tensor siftNormalize(const at::Tensor& x, const Perturbation& sift) {
  at::Tensor v = at::layer_norm(x.to(at::kFloat), {x.size(-1)}, {}, {}, sift.siftNormEps);
  return sift.siftDelta.defined() ? v.detach() + sift.siftDelta : v;
}

at::Tensor Encoder::embed(const Batch& b, const at::Tensor& words, const at::Tensor& embeddingDelta, const Compute& c,
                          EncoderTrace* trace, const Perturbation* sift) const {
  at::Tensor x = words + at::embedding(typeEmb_, b.tokenTypeIds) + at::embedding(posEmb_, positionIds(b), cfg_.family == Family::Roberta ? cfg_.padTokenId : -1);
  if (sift && sift->siftNormEps > 0.0) x = siftNormalize(x, *sift);
  x = dropout(layerNorm(x, embNorm_), cfg_.hiddenDropout, c);
  if (embeddingDelta.defined()) x = x + embeddingDelta;
  const bool keep = trace && (trace->hidden || trace->input);
  if (keep && !project_) trace->hiddenStates.push_back(x);
  if (project_) {
    x = linear(x, embProject_, c).to(at::kFloat);
    if (keep) trace->hiddenStates.push_back(x);
  }
  return x;
}

at::Tensor Encoder::layerMask(const Batch& b, at::ScalarType dtype) const { return attentionBias(b.attentionMask, dtype); }

at::Tensor Encoder::layer(int64_t i, const at::Tensor& h, const at::Tensor& bias, const Compute& c, at::Tensor* probs) const {
  return layerOf(i, h, bias, c, probs, nullptr);
}

at::Tensor Encoder::layerOf(int64_t i, const at::Tensor& h, const at::Tensor& bias, const Compute& c, at::Tensor* probs,
                            const TokenPacking* pack) const {
  const EncoderLayer& L = layers_[static_cast<size_t>(i)];
  const int64_t N = pack ? pack->rows : h.size(0), T = pack ? pack->seqLen : h.size(1), heads = L.heads, d = cfg_.hiddenSize / cfg_.numHeads;
  auto split = [&](const at::Tensor& t) { return (pack ? pack->unpack(t) : t).view({N, T, heads, d}).transpose(1, 2); };
  at::Tensor q = split(linear(h, L.query, c));
  at::Tensor k = split(linear(h, L.key, c));
  at::Tensor v = split(linear(h, L.value, c));
  at::Tensor ctx = attention(q, k, v, bias, cfg_.attentionDropout, c, probs);
  // EarlyRobust multiplies the (dropped-out) probabilities by the head's coefficient; scaling the head's
  // context is the same product and keeps the SDPA path.
  if (L.headCoef.defined()) ctx = (ctx.view({N, T, heads, d}) * L.headCoef.to(ctx.scalar_type()).view({heads, 1})).flatten(2);
  if (pack) ctx = pack->pack(ctx);
  at::Tensor a = layerNorm(dropout(linear(ctx, L.attnOut, c), cfg_.hiddenDropout, c) + h, L.attnNorm);
  at::Tensor inner = activate(linear(a, L.intermediate, c), cfg_.hiddenAct);
  if (L.ffnCoef.defined()) inner = inner * L.ffnCoef.to(inner.scalar_type());
  at::Tensor f = linear(inner, L.output, c);
  // AlbertLayer applies no dropout to its feed-forward output (its self.dropout is never called).
  if (cfg_.family == Family::Albert) return layerNorm(f + a, L.outNorm);
  return layerNorm(dropout(f, cfg_.hiddenDropout, c) + a, L.outNorm);
}

at::Tensor Encoder::layers(at::Tensor h, const at::Tensor& bias, int64_t from, int64_t to, const Compute& c, EncoderTrace* trace,
                           const TokenPacking* pack) const {
  for (int64_t i = from; i < to; ++i) {
    at::Tensor probs;
    h = pack ? packedLayer(i, h, bias, c, *pack) : layer(i, h, bias, c, trace && trace->attentions ? &probs : nullptr);
    if (trace && trace->hidden) trace->hiddenStates.push_back(h);
    if (trace && trace->attentions) trace->attentionProbs.push_back(probs);
  }
  return h;
}

at::Tensor Encoder::forward(const Batch& b, const Perturbation& p, const Compute& c, EncoderTrace* trace) const {
  at::Tensor words = wordEmbeddings(b.inputIds);
  if (p.detachWords) words = words.detach();
  if (p.wordDelta.defined()) words = words + p.wordDelta;
  const bool deep = p.deltaLayer > 0 && p.embeddingDelta.defined();
  at::Tensor h = embed(b, words, deep ? at::Tensor() : p.embeddingDelta, c, trace, &p);
  const at::Tensor bias = layerMask(b, c.dtype);
  // The embedding module stays padded (position ids, RoBERTa's cumsum): packing starts at layer 0.
  std::optional<TokenPacking> pack;
  // A trace of the encoder's input alone leaves the layers free to skip padding.
  const bool layersTraced = trace && (trace->hidden || trace->attentions);
  if (c.packTokens && b.packable && !layersTraced) pack = TokenPacking{realPositions(b), b.rows(), b.seqLen()};
  const TokenPacking* pk = pack ? &*pack : nullptr;
  if (pk) h = pk->pack(h);
  if (deep) h = layers(h, bias, 0, p.deltaLayer, c, trace, pk) + (pk ? pk->pack(p.embeddingDelta) : p.embeddingDelta);
  h = layers(h, bias, deep ? p.deltaLayer : 0, numLayers(), c, trace, pk);
  return pk ? pk->unpack(h) : h;
}

}  // namespace advtrain
