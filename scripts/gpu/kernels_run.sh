#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool, with .gpu-debs carried): the CUDA build of the
# engine, the kernel tests (label gpu, compute-sanitizer included), the engine tests and
# the reading benchmarks of docs/perf.md. Logs and JSON lines go to $OUT.
# Usage: scripts/gpu/kernels_run.sh [quick]   (quick: tests and a short benchmark only)
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=/tmp/mm-build
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
bash scripts/gpu/unpack_debs.sh > /tmp/unpack.log 2>&1 || { cat /tmp/unpack.log; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -G Ninja -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON -DMEMMAMBA_IMPORT_FORMATS=OFF \
  -DMEMMAMBA_FUZZ=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > /tmp/configure.log 2>&1 \
  || { tail -30 /tmp/configure.log; exit 1; }
stamp configured
cmake --build "$build" -j16 --target tst_scan_gpu memmamba > "$out/build.log" 2>&1 \
  || { grep -E "error|Error" -A3 "$out/build.log" | head -60; exit 1; }
stamp "engine built"
bench="$build/bin/memmamba"  # `memmamba bench` (app/cli/cmd_bench.cpp)
export OMP_WAIT_POLICY=PASSIVE
(cd "$build" && ctest -L gpu --output-on-failure --timeout 400 > "$out/ctest_gpu.log" 2>&1); stamp "gpu tests rc=$?"
grep -E "TIMING|Totals|tests passed|Skipped|Failed|FAIL!" "$out/ctest_gpu.log" | head -40
"$build/bin/tst_scan_gpu" kernelTimings 2>&1 | grep TIMING | tee "$out/timings.txt"
b() { timeout 90 "$bench" bench ingest --device cuda --json "$@" 2>>"$out/bench.err" | tee -a "$out/bench.jsonl"; }
for n in 8192 65536 262144 1048576; do
  b --tokens "$n" --segment 65536
  b --tokens "$n" --notes off --segment 65536
done
for n in 8192 65536 262144; do b --tokens "$n"; b --tokens "$n" --notes off; done
stamp "memmamba benches"
for n in 8192 65536; do b --tokens "$n" --scan reference --segment 65536; done
b --tokens 65536 --scan reference --notes off --segment 65536
stamp "reference benches"
for n in 8192 16384 65536 262144; do b --tokens "$n" --arch transformer; done
for n in 262144 1048576; do b --tokens "$n" --arch transformer --dtype bf16; done
stamp "transformer benches"
[ "${1:-}" = quick ] || { (cd "$build" && timeout 120 ctest -L engine -LE gpu --timeout 100 > "$out/ctest_engine.log" 2>&1); stamp "engine tests rc=$?"; tail -4 "$out/ctest_engine.log"; }
stamp done
