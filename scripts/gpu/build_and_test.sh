#!/usr/bin/env bash
# Run ON THE GPU MACHINE (via the device tool, with .gpu-debs carried): builds the engine,
# storage and command line against the machine's CUDA LibTorch (no GUI: no Qt Widgets
# there), runs every test suite, then the reading benchmark on the GPU.
# Logs go to $OUT (or /tmp/gpu-out). Usage: scripts/gpu/build_and_test.sh [bench lengths...]
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=/tmp/mm-build
bash scripts/gpu/unpack_debs.sh > "$out/unpack.log" 2>&1 || { cat "$out/unpack.log"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv > "$out/gpu.txt" 2>&1
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
{ time cmake -S . -B "$build" -G Ninja -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 ; } > "$out/configure.log" 2>&1 \
  || { tail -40 "$out/configure.log"; exit 1; }
{ time cmake --build "$build" -j16 ; } > "$out/build.log" 2>&1 || { grep -E "error|Error" -A3 "$out/build.log" | head -60; exit 1; }
echo "build ok"
ctest --test-dir "$build" --output-on-failure --timeout 600 > "$out/ctest.log" 2>&1
tail -25 "$out/ctest.log"
lengths=("$@"); [ ${#lengths[@]} -gt 0 ] || lengths=(8192 65536 262144)
for n in "${lengths[@]}"; do
  for notes in on off; do
    "$build/bin/memmamba" bench ingest --tokens "$n" --device cuda --notes "$notes" --json 2>>"$out/bench.err" | tee -a "$out/bench.jsonl"
  done
done
"$build/bin/memmamba" info --json --device cuda > "$out/info.json" 2>&1
cp "$build/CMakeCache.txt" "$out/" 2>/dev/null
echo done
