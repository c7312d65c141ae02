#!/usr/bin/env bash
# One GPU-machine session's checks (run from the repo root there, after `source .device/env.sh`):
# CUDA build, info(), the GPU checks (also under compute-sanitizer). Logs go to $OUT. Everything compared
# with transformers (model and method fixtures, file format both ways, tokenizers) runs on the CPU in CI.
# That machine has no dev dependencies (tap, tsx, typescript): on this side first run
#   ../shared/device/prepare.sh && npx tsc -p tsconfig.gpu.json
# and carry `.device` and `dist`.
set -uo pipefail
OUT=${OUT:-/tmp/advtrain-gpu}
mkdir -p "$OUT"
# At most 8 files come back from the machine: one log for everything, one archive for fixtures.
exec > >(tee -a "$OUT/verify.log") 2>&1
log() { echo "== $*"; }
log "build (CUDA)"
node scripts/build-native.mjs > /tmp/build.log 2>&1 || { tail -40 /tmp/build.log; exit 1; }
log "info"
node -e "import('./dist/lib/index.js').then(m => console.log(JSON.stringify(m.info())))"
log "gpu checks"
node dist/bench/gpu-checks.js
log "fused kernels on cuda"
node dist/bench/kernel-check.js --device cuda | tail -1
log "kernels under compute-sanitizer memcheck"
bash bench/gpu-memcheck.sh > /tmp/memcheck.log 2>&1; echo "exit $?: $(grep -E 'ERROR SUMMARY' /tmp/memcheck.log | tail -1)"
