#!/usr/bin/env bash
# For a GPU-machine session: builds the CUDA addon (incremental) and runs every fused-kernel check on
# 'cuda' under compute-sanitizer (memcheck by default; `bash bench/gpu-memcheck.sh racecheck` for shared
# memory races). Prepare here first: `npm run build` (dist/bench/kernel-check.js; tap does not travel)
# and ../shared/device/prepare.sh (.device/). Exit status: 0 clean, 1 a check failed, 3 sanitizer errors.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .device/env.sh ]; then source .device/env.sh; fi
[ -f dist/bench/kernel-check.js ] || { echo "dist/bench/kernel-check.js is missing: run npm run build before sending the tree" >&2; exit 2; }
node scripts/build-native.mjs
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
# Without PyTorch's caching allocator every tensor is its own allocation, so out-of-bounds accesses
# land outside it and memcheck reports them.
PYTORCH_NO_CUDA_MEMORY_CACHING=1 "$sanitizer" --tool "${1:-memcheck}" --error-exitcode 3 \
  node dist/bench/kernel-check.js --device cuda
