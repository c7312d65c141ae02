#!/usr/bin/env bash
# One GPU-machine session's checks (run from the repo root there, after `source .device/env.sh`):
# CUDA build, info(), the gpu test tier (also under compute-sanitizer), parity fixtures regenerated and
# compared with transformers, HF load-back of advtrain-saved folders, tokenizer parity. Logs go to $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/advtrain-gpu}
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/summary.log"; }
log "build (CUDA)"
node scripts/build-native.mjs > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
log "info"
node -e "import('./dist/lib/index.js').then(m => console.log(JSON.stringify(m.info())))" | tee "$OUT/info.json"
log "gpu tier"
node --import tsx node_modules/.bin/tap test/gpu 2>&1 | tee "$OUT/gpu-tests.log" | tail -3
[ -x "$(command -v compute-sanitizer)" ] && bash bench/gpu-memcheck.sh > "$OUT/memcheck.log" 2>&1 && log "memcheck: $(tail -1 "$OUT/memcheck.log")"
log "reference vs transformers"
python3 test/fixtures/check_reference_vs_transformers.py > "$OUT/reference-vs-hf.log" 2>&1; tail -5 "$OUT/reference-vs-hf.log"
python3 test/fixtures/make_model_fixtures.py --backend transformers --check > "$OUT/model-fixtures.log" 2>&1; tail -3 "$OUT/model-fixtures.log"
python3 test/fixtures/make_method_fixtures.py --backend transformers --check > "$OUT/method-fixtures.log" 2>&1; tail -3 "$OUT/method-fixtures.log"
log "HF load-back"
node --import tsx test/fixtures/export_for_hf.ts /tmp/advtrain-export > /dev/null && python3 test/fixtures/check_hf_loadback.py /tmp/advtrain-export | tee "$OUT/hf-loadback.log" | tail -25
log "tokenizer parity"
python3 test/fixtures/tokenizer_parity.py test/fixtures/tokenizer-hf > "$OUT/tokenizer.log" 2>&1 && node --import tsx node_modules/.bin/tap test/unit/tokenizer-hf-parity.test.ts 2>&1 | tail -3 | tee -a "$OUT/summary.log"
