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
bash scripts/gpu/unpack_debs.sh > "$out/unpack.log" 2>&1 || { cat "$out/unpack.log"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -G Ninja -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON -DMEMMAMBA_IMPORT_FORMATS=OFF \
  -DMEMMAMBA_FUZZ=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 \
  || { tail -30 "$out/configure.log"; exit 1; }
stamp configured
cmake --build "$build" -j16 --target test_scan_gpu mm_engine_cli_driver test_engine_ops test_engine_model \
  > "$out/build.log" 2>&1 || { grep -E "error|Error" -A3 "$out/build.log" | head -60; exit 1; }
stamp "engine built"
# The command line too (needs the whole tree to compile); the driver runs the same bench code.
cmake --build "$build" -j16 --target memmamba >> "$out/build.log" 2>&1 && bench="$build/bin/memmamba" \
  || { echo "memmamba did not build (see build.log); benchmarks through mm_engine_cli_driver"; bench="$build/bin/mm_engine_cli_driver"; }
stamp "bench binary: $bench"
export OMP_WAIT_POLICY=PASSIVE
(cd "$build" && ctest -L gpu --output-on-failure --timeout 400 > "$out/ctest_gpu.log" 2>&1); stamp "gpu tests rc=$?"
grep -E "TIMING|Totals|PASS|FAIL|tests passed|Skipped|Failed" "$out/ctest_gpu.log" | head -40
"$build/bin/test_scan_gpu" kernelTimings 2>&1 | grep TIMING | tee "$out/timings.txt"
if [ "${1:-}" != quick ]; then
  (cd "$build" && ctest -L engine -LE gpu --timeout 300 > "$out/ctest_engine.log" 2>&1); stamp "engine tests rc=$?"
  tail -4 "$out/ctest_engine.log"
fi
b() { timeout 120 "$bench" bench ingest --device cuda --json "$@" 2>>"$out/bench.err" | tee -a "$out/bench.jsonl"; }
lengths="8192 65536 262144 1048576"; [ "${1:-}" != quick ] || lengths="65536"
for n in $lengths; do
  b --tokens "$n"
  b --tokens "$n" --notes off
  b --tokens "$n" --segment 65536
  b --tokens "$n" --notes off --segment 65536
done
stamp "memmamba benches"
for n in 8192 65536; do b --tokens "$n" --scan reference; b --tokens "$n" --scan reference --notes off; done
stamp "reference benches"
for n in 8192 16384 65536 262144; do b --tokens "$n" --arch transformer; done
for n in 65536 262144 1048576; do b --tokens "$n" --arch transformer --dtype bf16; done
stamp "transformer benches"
cp "$build/CMakeCache.txt" "$out/" 2>/dev/null
stamp done
