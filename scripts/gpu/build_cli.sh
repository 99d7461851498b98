#!/usr/bin/env bash
# Run ON THE GPU MACHINE: unpacks the carried .debs, configures the engine-and-CLI build
# (no GUI, CUDA for sm_90) and builds `memmamba` into BUILD (default /tmp/mm-build) with
# -j16 (and EXTRA_TARGETS, e.g. a test); logs go to LOGDIR (default BUILD). Used by answers_run.sh
# and fit_ranker_model.sh.
#   bash scripts/gpu/build_cli.sh [BUILD [LOGDIR]]
set -uo pipefail
cd "$(dirname "$0")/../.."
build="${1:-/tmp/mm-build}"; logs="${2:-$build}"; mkdir -p "$logs"
bash scripts/gpu/unpack_debs.sh > "$logs/unpack.log" 2>&1 || { cat "$logs/unpack.log"; exit 1; }
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -G Ninja -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON -DMEMMAMBA_IMPORT_FORMATS=OFF \
  -DMEMMAMBA_FUZZ=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$logs/configure.log" 2>&1 \
  || { tail -30 "$logs/configure.log"; exit 1; }
cmake --build "$build" -j16 --target memmamba ${EXTRA_TARGETS:-} > "$logs/build.log" 2>&1 \
  || { grep -E "error|Error" -A3 "$logs/build.log" | head -60; exit 1; }
