#!/usr/bin/env bash
# GPU-machine benches (after scripts/gpu/verify.sh built the CUDA addon): every method against the
# Python reference loops on BERT-base, batch 32, seq 128, bf16, in one run; then 200 steps of every
# method on SST-2 in bf16 (time per step, no NaN); then the SST-2 base bf16 run. Results under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/advtrain-gpu}
mkdir -p "$OUT"
node dist/bench/run.js --device cuda --model base --batch 32 --seq 128 --precision bf16 --peers --methods vanilla,freelb,pgd,creat,smart --out "$OUT/bench.jsonl"
node dist/bench/report.js "$OUT/bench.jsonl" "$OUT" || true
node dist/bench/sst2-cpu.js --device cuda --size base --precision bf16 --lr 2e-5 --max-steps 200 \
  --methods vanilla,rpt,pgd,freeat,yopo,freelb,smart,alum,textat,creat | tee "$OUT/methods-200.jsonl"
node dist/bench/sst2-cpu.js --device cuda --size base --precision bf16 --lr 1e-4 --epochs 1 | tee "$OUT/sst2-base.jsonl"
