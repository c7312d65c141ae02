#include "model/batch.h"

namespace advtrain {

Batch Batch::select(const at::Tensor& index) const {
  Batch b = *this;
  at::Tensor rowIndex = index;
  if (numChoices > 0) {
    // example e owns rows [e * C, (e + 1) * C)
    at::Tensor offs = at::arange(numChoices, index.options());
    rowIndex = (index.unsqueeze(1) * numChoices + offs.unsqueeze(0)).flatten();
  }
  auto pick = [&](const at::Tensor& t, const at::Tensor& idx) { return t.defined() ? t.index_select(0, idx) : t; };
  b.inputIds = pick(inputIds, rowIndex);
  b.attentionMask = pick(attentionMask, rowIndex);
  b.tokenTypeIds = pick(tokenTypeIds, rowIndex);
  b.labels = pick(labels, labels.defined() && labels.dim() == 2 ? rowIndex : index);
  b.startPositions = pick(startPositions, index);
  b.endPositions = pick(endPositions, index);
  b.realIndex = at::Tensor();  // positions of the old rows
  b.labeledIndex = at::Tensor();
  b.packable = false;
  return b;
}

at::Tensor realPositions(const Batch& b) {
  return b.realIndex.defined() ? b.realIndex : b.attentionMask.flatten().nonzero().squeeze(1);
}

at::Tensor labeledPositions(const Batch& b) {
  return b.labeledIndex.defined() ? b.labeledIndex : b.labels.flatten().ne(-100).nonzero().squeeze(1);
}

}  // namespace advtrain
