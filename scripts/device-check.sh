#!/bin/bash
# The checks that need a real CUDA GPU (issue 10), in one script for a machine that has one: it
# builds the core, mizan-cli and mizan-gpucheck without Qt against that machine's CUDA libtorch
# (Python's torch: torch.utils.cmake_prefix_path), then
#   1. mizan-cli calibrate and devices (the GPU's measured speeds), and mizan-cli run on the
#      bundled demo, all on the GPU and offloaded;
#   2. mizan-gpucheck: the runtime's equality checks with GPU 0 a real CUDA device, and its
#      decode timings on bench_dispatch's LLaMA shape (BENCH_LAYERS, default 16; 0 skips), and the
#      prefill of a BENCH_PROMPT-token prompt (default 8192; 0 skips) with the blocks in CPU RAM,
#      prefetch copies on streams of their own and on the default stream;
#   3. tools/gpucheck/hfcompare.py (HFCOMPARE=0 skips it): transformers on the same checkpoints,
#      and Accelerate's offload timed on the same placements.
# Logs go to $OUT (default /tmp/mizan-device). Dependencies the machine lacks (nlohmann_json,
# PCRE2 headers) can be unpacked from Debian packages into .devdeps/usr (see README, "On a GPU").
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/mizan-device}
BUILD=${BUILD:-/tmp/mizan-cuda-build}
BENCH_LAYERS=${BENCH_LAYERS:-16}
BENCH_PROMPT=${BENCH_PROMPT:-8192}
HFCOMPARE=${HFCOMPARE:-1}
mkdir -p "$OUT"
started=$(date +%s)
stamp() { echo "== $(( $(date +%s) - started )) s: $*"; }

[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
PREFIX=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)') || exit 1
[ -d .devdeps/usr ] && PREFIX="$PREFIX;$PWD/.devdeps/usr"
command -v nvidia-smi >/dev/null && nvidia-smi -L
stamp configure
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIZAN_BUILD_GUI=OFF -DMIZAN_BUILD_TESTS=OFF \
    -DMIZAN_BUILD_BENCH=OFF -DCMAKE_PREFIX_PATH="$PREFIX" >"$OUT/configure.log" 2>&1 \
    || { tail -60 "$OUT/configure.log"; exit 1; }
grep -E "libtorch|CUDA|gloo|PCRE|ICU" "$OUT/configure.log" | head -20
stamp build
ninja -C "$BUILD" -k 0 mizan-cli mizan-gpucheck >"$OUT/build.log" 2>&1 \
    || { grep -E -B2 -A6 "error|FAILED" "$OUT/build.log" | head -150; exit 1; }
grep -c "warning:" "$OUT/build.log" | sed 's/^/warnings in the build: /'

CLI=$BUILD/app/cli/mizan-cli
stamp "mizan-cli devices / run"
{
    # The GPU's calibration (compute speed, host link) as predictions use it, then devices shows it.
    MIZAN_CALIBRATION="$OUT/calibration.json" "$CLI" calibrate
    MIZAN_CALIBRATION="$OUT/calibration.json" "$CLI" devices
    "$CLI" run resources/demo/fortunes-llama --max-memory auto --prompt "Fortune:" --max-new-tokens 24
    "$CLI" run resources/demo/fortunes-llama --max-memory 0=2MiB,cpu=1GiB --prompt "Fortune:" --max-new-tokens 24 --prefetch 2
} 2>&1 | tee "$OUT/cli.txt"
"$CLI" run resources/demo/fortunes-llama --max-memory auto --prompt "Fortune:" --max-new-tokens 24 --json >"$OUT/run-gpu.json" 2>&1

stamp gpucheck
rm -rf /tmp/mizan-gpucheck-keep
status=0
bench=()
[ "$BENCH_LAYERS" -gt 0 ] && bench=(--bench "$BENCH_LAYERS" --bench-prompt "$BENCH_PROMPT")
"$BUILD/tools/gpucheck/mizan-gpucheck" --keep /tmp/mizan-gpucheck-keep "${bench[@]}" 2>&1 | tee "$OUT/gpucheck.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

stamp "the host link, as torch sees it"
python3 - <<'PY' 2>&1 | tee -a "$OUT/hfcompare.txt"
import time, torch
for pinned in (True, False):
    src = torch.empty(1 << 30, dtype=torch.uint8, pin_memory=pinned)
    dst = torch.empty_like(src, device="cuda:0")
    dst.copy_(src); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(5):
        dst.copy_(src)
    torch.cuda.synchronize()
    print(f"host to GPU, {'pinned' if pinned else 'pageable'} 1 GiB copies: {5 * (1 << 30) / (time.perf_counter() - t) / 1e9:.1f} GB/s")
PY

[ "$HFCOMPARE" = 0 ] && { stamp "done (status $status; HFCOMPARE=0: transformers and Accelerate skipped)"; exit $status; }
stamp "transformers and Accelerate"
PYTHONUNBUFFERED=1 python3 tools/gpucheck/hfcompare.py /tmp/mizan-gpucheck-keep 2>&1 | grep -v Warning | tee -a "$OUT/hfcompare.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
stamp "done (status $status)"
exit $status
