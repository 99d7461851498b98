#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool, with .gpu-debs carried), after a build of the
# full tree there (scripts/gpu/profile.sh leaves /tmp/mm-build) or alone: configures the
# trainer with -DMEMMAMBA_DISTRIBUTED=ON against the machine's LibTorch 2.x (c10d with
# Gloo, and NCCL where its header is there), builds tst_train_ddp and runs it (two Gloo
# ranks on the CPU; issue 20). Log: $OUT/ddp.log (appended by the caller's tar).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
log=${DDP_LOG:-$out/ddp.log}
build=/tmp/mm-ddp
[ -f /usr/lib/x86_64-linux-gnu/libQt6Core.so.6 ] || bash scripts/gpu/unpack_debs.sh > /tmp/unpack-ddp.log 2>&1
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
inc=$(python3 -c 'import torch,os;print(os.path.join(os.path.dirname(torch.__file__),"include"))')
{
  echo "torch include: $inc"; ls "$inc" | head -30
  ls "$inc/torch/csrc/distributed/c10d/" 2>&1 | grep -E "Gloo|NCCL" | head
  cmake -S . -B "$build" -G Ninja -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON -DMEMMAMBA_IMPORT_FORMATS=OFF \
    -DMEMMAMBA_FUZZ=OFF -DMEMMAMBA_DISTRIBUTED=ON -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 2>&1 | tail -15
  timeout 240 cmake --build "$build" -j16 --target tst_train_ddp 2>&1 | grep -E "error|Error|warning: |Linking" | head -40
  echo "build rc=${PIPESTATUS[0]}"
  [ -x "$build/bin/tst_train_ddp" ] && (cd "$build" && QT_QPA_PLATFORM=offscreen timeout 200 ./bin/tst_train_ddp 2>&1 | tail -25)
} > "$log" 2>&1
tail -30 "$log"
