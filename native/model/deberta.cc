#include "model/deberta.h"

#include <cmath>
#include <limits>

namespace advtrain {

namespace {

// torch.finfo(dtype).min: what DisentangledSelfAttention writes into masked scores.
double lowestOf(at::ScalarType dtype) {
  if (dtype == at::kBFloat16) return -3.3895313892515355e38;
  if (dtype == at::kHalf) return -65504.0;
  if (dtype == at::kDouble) return std::numeric_limits<double>::lowest();
  return std::numeric_limits<float>::lowest();
}

}  // namespace

DebertaEncoder::DebertaEncoder(const ModelConfig& cfg, ParamBuilder& pb, const std::string& prefix) : Encoder(cfg) {
  const DebertaConfig& d = cfg.deberta;
  const std::string e = prefix + "embeddings.";
  const int64_t E = cfg.embeddingSize, H = cfg.hiddenSize;
  wordEmb_ = pb.normal(e + "word_embeddings.weight", {cfg.vocabSize, E}, true, cfg.padTokenId);
  if (d.positionBiasedInput) posEmb_ = pb.normal(e + "position_embeddings.weight", {cfg.maxPositions, E});
  if (cfg.typeVocabSize > 0) typeEmb_ = pb.normal(e + "token_type_embeddings.weight", {cfg.typeVocabSize, E});
  if (E != H) embProj_ = pb.normal(e + "embed_proj.weight", {H, E});  // nn.Linear(E, H, bias=False)
  embNorm_ = pb.layerNorm(e + "LayerNorm", H, cfg.layerNormEps);
  const bool rel = d.relativeAttention;
  for (int64_t i = 0; i < cfg.numLayers; ++i) {
    const std::string l = prefix + "encoder.layer." + std::to_string(i) + ".";
    Layer L;
    L.query = pb.linear(l + "attention.self.query_proj", H, H);
    L.key = pb.linear(l + "attention.self.key_proj", H, H);
    L.value = pb.linear(l + "attention.self.value_proj", H, H);
    if (rel && !d.shareAttKey && d.c2p) L.posKey = pb.linear(l + "attention.self.pos_key_proj", H, H);
    if (rel && !d.shareAttKey && d.p2c) L.posQuery = pb.linear(l + "attention.self.pos_query_proj", H, H);
    L.attnOut = pb.linear(l + "attention.output.dense", H, H);
    L.attnNorm = pb.layerNorm(l + "attention.output.LayerNorm", H, cfg.layerNormEps);
    L.intermediate = pb.linear(l + "intermediate.dense", H, cfg.intermediateSize);
    L.output = pb.linear(l + "output.dense", cfg.intermediateSize, H);
    L.outNorm = pb.layerNorm(l + "output.LayerNorm", H, cfg.layerNormEps);
    layers_.push_back(std::move(L));
  }
  if (rel) {
    span_ = d.positionBuckets > 0 ? d.positionBuckets : d.maxRelativePositions;
    relEmb_ = pb.normal(prefix + "encoder.rel_embeddings.weight", {2 * span_, H});
  }
  if (d.normRelEmbedding) relNorm_ = pb.layerNorm(prefix + "encoder.LayerNorm", H, cfg.layerNormEps);
  if (d.convKernelSize > 0) {
    convWeight_ = pb.normal(prefix + "encoder.conv.conv.weight", {H, H / d.convGroups, d.convKernelSize});
    convBias_ = pb.zeros(prefix + "encoder.conv.conv.bias", {H});
    convNorm_ = pb.layerNorm(prefix + "encoder.conv.LayerNorm", H, cfg.layerNormEps);
  }
}

at::Tensor DebertaEncoder::embed(const Batch& b, const at::Tensor& words, const at::Tensor& embeddingDelta, const Compute& c,
                                 EncoderTrace* trace, const Perturbation* sift) const {
  at::Tensor x = words;
  if (posEmb_.defined()) x = x + at::embedding(posEmb_, at::arange(b.seqLen(), b.inputIds.options()).unsqueeze(0));
  if (typeEmb_.defined()) x = x + at::embedding(typeEmb_, b.tokenTypeIds);
  if (embProj_.defined()) x = at::linear(x.to(c.dtype), embProj_.to(c.dtype));
  if (sift && sift->siftNormEps > 0.0) x = siftNormalize(x, *sift);
  x = layerNorm(x, embNorm_);
  x = x * b.attentionMask.unsqueeze(2).to(x.scalar_type());
  x = dropout(x, cfg_.hiddenDropout, c);
  if (embeddingDelta.defined()) x = x + embeddingDelta;
  if (trace && (trace->hidden || trace->input)) trace->hiddenStates.push_back(x);
  return x;
}

at::Tensor DebertaEncoder::layerMask(const Batch& b, at::ScalarType) const { return b.attentionMask; }

at::Tensor DebertaEncoder::relativePositions(int64_t L, const at::Device& device) const {
  const at::Tensor ids = at::arange(L, at::TensorOptions().dtype(at::kLong).device(device));
  at::Tensor rel = ids.unsqueeze(1) - ids.unsqueeze(0);
  const int64_t buckets = cfg_.deberta.positionBuckets, maxPos = cfg_.deberta.maxRelativePositions;
  if (buckets <= 0 || maxPos <= 0) return rel;
  // make_log_bucket_position, in float32 as transformers computes it (its default dtype).
  const int64_t mid = buckets / 2;
  const at::Tensor sign = at::sign(rel);
  const at::Tensor absPos = at::where(rel.lt(mid).logical_and(rel.gt(-mid)), at::full_like(rel, mid - 1), rel.abs());
  const at::Tensor denom = at::log(at::scalar_tensor(static_cast<double>(maxPos - 1) / static_cast<double>(mid), at::TensorOptions().dtype(at::kFloat).device(device)));
  const at::Tensor logPos = at::ceil(at::log(absPos.to(at::kFloat) / static_cast<double>(mid)) / denom * static_cast<double>(mid - 1)) + static_cast<double>(mid);
  return at::where(absPos.le(mid), rel.to(at::kFloat), logPos * sign).to(at::kLong);
}

at::Tensor DebertaEncoder::relativeScores(const Layer& l, const at::Tensor& q, const at::Tensor& k, double scale, const Compute& c) const {
  const DebertaConfig& d = cfg_.deberta;
  const int64_t N = q.size(0), heads = q.size(1), T = q.size(2), dh = q.size(3);
  // get_rel_embedding (LayerNorm when norm_rel_ebd says so), then each layer's pos_dropout. Recomputed per
  // layer where transformers normalises once per forward: the same numbers.
  at::Tensor rel = d.normRelEmbedding ? layerNorm(relEmb_, relNorm_) : relEmb_;
  rel = dropout(rel, cfg_.hiddenDropout, c).unsqueeze(0);  // [1, 2S, H]
  auto split = [&](const at::Tensor& t) { return t.view({1, 2 * span_, heads, dh}).transpose(1, 2); };  // [1, heads, 2S, d]
  const at::Tensor relPos = relativePositions(T, q.device());
  const std::vector<int64_t> full = {N, heads, T, T};
  at::Tensor score;
  if (d.c2p) {
    const at::Tensor posKey = split(linear(rel, d.shareAttKey ? l.key : l.posKey, c));
    const at::Tensor idx = at::clamp(relPos + span_, 0, 2 * span_ - 1).expand(full);
    score = at::gather(at::matmul(q, posKey.transpose(-1, -2)), -1, idx) / scale;
  }
  if (d.p2c) {
    const at::Tensor posQuery = split(linear(rel, d.shareAttKey ? l.query : l.posQuery, c));
    const at::Tensor idx = at::clamp(-relPos + span_, 0, 2 * span_ - 1).expand(full);
    const at::Tensor p2c = at::gather(at::matmul(k, posQuery.transpose(-1, -2)), -1, idx).transpose(-1, -2) / scale;
    score = score.defined() ? score + p2c : p2c;
  }
  return score;
}

at::Tensor DebertaEncoder::layer(int64_t i, const at::Tensor& h, const at::Tensor& mask, const Compute& c, at::Tensor* probs) const {
  return layerOf(i, h, mask, c, probs, nullptr);
}

at::Tensor DebertaEncoder::packedLayer(int64_t i, const at::Tensor& h, const at::Tensor& mask, const Compute& c, const TokenPacking& pack) const {
  return layerOf(i, h, mask, c, nullptr, &pack);
}

at::Tensor DebertaEncoder::layerOf(int64_t i, const at::Tensor& h, const at::Tensor& mask, const Compute& c, at::Tensor* probs,
                                   const TokenPacking* pack) const {
  const DebertaConfig& d = cfg_.deberta;
  const Layer& L = layers_[static_cast<size_t>(i)];
  const int64_t N = pack ? pack->rows : h.size(0), T = pack ? pack->seqLen : h.size(1), heads = cfg_.numHeads, dh = cfg_.hiddenSize / heads;
  auto split = [&](const at::Tensor& t) { return (pack ? pack->unpack(t) : t).view({N, T, heads, dh}).transpose(1, 2); };
  const at::Tensor q = split(linear(h, L.query, c));
  const at::Tensor k = split(linear(h, L.key, c));
  const at::Tensor v = split(linear(h, L.value, c));
  // scaled_size_sqrt: sqrt(d * (1 + number of pos_att_type terms)) in float32, whether or not relative
  // attention is on.
  const int64_t factor = 1 + (d.c2p ? 1 : 0) + (d.p2c ? 1 : 0);
  const double scale = static_cast<double>(std::sqrt(static_cast<float>(dh * factor)));
  at::Tensor scores = at::matmul(q, k.transpose(-1, -2) / scale);
  if (d.relativeAttention && (d.c2p || d.p2c)) scores = scores + relativeScores(L, q, k, scale, c);
  // get_attention_mask: pair mask m_i * m_j [N, 1, L, L]; masked scores set to the dtype's lowest (padding
  // rows end up uniform, as in transformers).
  const at::Tensor ext = mask.unsqueeze(1).unsqueeze(2);
  const at::Tensor pair = (ext * ext.squeeze(-2).unsqueeze(-1)).to(at::kBool);
  scores = scores.masked_fill(pair.logical_not(), lowestOf(scores.scalar_type()));
  at::Tensor p = at::softmax(scores, -1, at::kFloat);
  if (probs) *probs = p;
  at::Tensor ctx = at::matmul(dropout(p, cfg_.attentionDropout, c).to(v.scalar_type()), v).transpose(1, 2).flatten(2);
  if (pack) ctx = pack->pack(ctx);
  const at::Tensor a = layerNorm(dropout(linear(ctx, L.attnOut, c), cfg_.hiddenDropout, c) + h, L.attnNorm);
  const at::Tensor f = linear(activate(linear(a, L.intermediate, c), cfg_.hiddenAct), L.output, c);
  at::Tensor out = layerNorm(dropout(f, cfg_.hiddenDropout, c) + a, L.outNorm);
  if (i != 0 || d.convKernelSize <= 0) return out;
  // ConvLayer on the embedding output h, with layer 0's output as the residual. Packed, the convolution
  // reads zeros at padding, as the padded path does (the embedding output is masked there).
  at::Tensor x = at::conv1d((pack ? pack->unpack(h) : h).to(c.dtype).transpose(1, 2), convWeight_.to(c.dtype), convBias_.to(c.dtype), 1,
                            (d.convKernelSize - 1) / 2, 1, d.convGroups)
                     .transpose(1, 2);
  // Packed rows are the real tokens: the padding mask has nothing left to zero.
  x = pack ? pack->pack(x) : x.masked_fill(mask.eq(0).unsqueeze(-1), 0.0);
  x = activate(dropout(x, cfg_.hiddenDropout, c), d.convAct);
  at::Tensor y = layerNorm(out + x, convNorm_);
  return pack ? y : y * mask.unsqueeze(2).to(y.scalar_type());
}

}  // namespace advtrain
