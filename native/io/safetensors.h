// safetensors reading (of entries lib/model/safetensors.ts has already validated) and atomic writing.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace advtrain {

// One tensor's bytes in a file: [begin, end) relative to the file start (header included).
struct TensorSource {
  std::string file;
  std::string name;   // the key in the file (for messages)
  std::string dtype;  // safetensors dtype: F32, F16, BF16, F64, I64, I32, U8, BOOL
  std::vector<int64_t> shape;
  int64_t begin = 0;
  int64_t end = 0;
};

// Reads one tensor into a new CPU tensor of its stored dtype. A file that changed since it was
// validated (shorter than the range) is an ERR_CHECKPOINT naming file and tensor.
at::Tensor readTensor(const TensorSource& src);

// Writes tensors as safetensors: temporary file in the same folder, fsync, rename, fsync of the folder,
// so `path` holds either the old file or the complete new one.
void writeSafetensorsAtomic(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                            const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace advtrain
