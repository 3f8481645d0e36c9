#!/usr/bin/env bash
# The GPU check, as one script for a CUDA machine with no network (the device tool):
#   1. benchmarks/step_cost.py on CUDA: tiny, GPT-2 26M and the Phi-1.5 architecture
#      (bf16 autocast, checkpointing, batch 32 + 32): ms/step, tokens/s, peak memory,
#      NGDiff / GDiff;
#   2. runs per hour when small runs share the GPU as Ray tasks (benchmarks/gpu_packing.py):
#      the tiny model at 1, 4 and 8 runs per GPU, the Phi-1.5-sized model at 1 and 2;
#   3. the paper-scale smoke of every notebook (-p scale paper -p device cuda --smoke)
#      through a Phi-1.5-sized folder with random weights (benchmarks/phi_offline.py)
#      and the TOFU-schema fixture, since microsoft/phi-1_5 and locuslab/TOFU cannot be
#      downloaded there. It measures cost and exercises the path; its numbers mean nothing.
# Python packages missing there travel as wheels in .whl/ (see benchmarks/README.md).
#   OUT=folder SMOKE_S=seconds [STEP_COST=0] benchmarks/gpu_check.sh
set -uo pipefail
OUT=${OUT:-build/gpu-check}
SMOKE_S=${SMOKE_S:-330}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1 NBUTILS_CACHE=/tmp/nbutils-cache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers',
transformers.__version__)" | tee -a "$OUT/gpu.txt"

if [ "${STEP_COST:-1}" = 1 ]; then
    python3 benchmarks/step_cost.py --device cuda --repeats 5 --batch-size 32 \
        --configs tiny gpt2-26m phi-1.5 --json "$OUT/step_cost.json" 2>&1 | tee "$OUT/step_cost.txt"
fi

python3 benchmarks/phi_offline.py /tmp/phi-1.5-random --tofu tests/fixtures/tofu
if [ "${PACKING:-1}" = 1 ]; then
    python3 benchmarks/gpu_packing.py --model tiny --per-gpu 1 4 8 --runs 16 2>&1 \
        | tee "$OUT/packing_tiny.txt"
    python3 benchmarks/gpu_packing.py --model /tmp/phi-1.5-random \
        --dataset "$PWD/tests/fixtures/tofu" --per-gpu 1 2 --runs 4 2>&1 | tee "$OUT/packing_phi.txt"
fi
start=$(date +%s)
timeout "$SMOKE_S" python3 -m nbutils run all --smoke --jobs 2 -p scale paper -p device cuda \
    -p model /tmp/phi-1.5-random -p dataset "$PWD/tests/fixtures/tofu" \
    --out /tmp/paper-smoke/figures --build /tmp/paper-smoke/build 2>&1 | tee "$OUT/paper_smoke.txt"
echo "paper-scale smoke: rc ${PIPESTATUS[0]} after $(($(date +%s) - start)) s" | tee -a "$OUT/paper_smoke.txt"
tar czf "$OUT/paper_smoke.tgz" -C /tmp/paper-smoke . 2>/dev/null
