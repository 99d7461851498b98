#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool) after scripts/gpu/train.sh, while the machine is
# still warm: evaluates the two trained models (/tmp/mm-train/{memmamba,baseline}/model)
# with `memmamba eval` on the validation books, each protocol with --no-pool beside it,
# and writes the JSON to $OUT/eval/ (docs/results.md is written from these files).
#
#   scripts/gpu/eval_models.sh [--budget S]
# Every protocol runs under `timeout`, cheapest first, so a call that runs out of time
# still returns what it finished; a protocol cut short writes its partial JSON
# (memmamba eval writes what it gathered on SIGINT).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out="${OUT:-/tmp/gpu-out}/eval"; mkdir -p "$out"
build=${MM_BUILD_DIR:-/tmp/mm-build}
runs=/tmp/mm-train
budget=420
[ "${1:-}" = --budget ] && budget=$2
t0=$(date +%s); end=$(( t0 + budget ))
stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
export OMP_WAIT_POLICY=PASSIVE MEMMAMBA_RESOURCES="$repo/resources"

if [ ! -x "$build/bin/memmamba" ]; then
  cmake --build "$build" -j16 --target memmamba memmamba_spm > "$out/build.log" 2>&1 \
    || { grep -E "error|Error" -A3 "$out/build.log" | head -40; exit 1; }
  stamp "memmamba built"
fi
mm="$build/bin/memmamba"
valid=$(dirname "$(find /tmp/mm-data/valid -name '*.txt' | head -1)")

# run NAME TAG SECONDS ARGS...: one protocol on both models, cut at SECONDS (or the
# budget), results in $out/TAG-<model>.{json,txt,err}.
run() {
  local name=$1 tag=$2 secs=$3; shift 3
  for model in memmamba baseline; do
    local left=$(( end - $(date +%s) ))
    [ "$left" -gt 10 ] || { stamp "skip $name $model: budget spent"; continue; }
    [ "$secs" -lt "$left" ] || secs=$left
    [ -d "$runs/$model/model" ] || { stamp "no model folder for $model"; continue; }
    timeout -s INT -k 10 "$secs" "$mm" eval "$name" --model "$runs/$model/model" --device "${DEVICE:-cuda}" --no-pool \
      --out "$out/$tag-$model.json" "$@" > "$out/$tag-$model.txt" 2> "$out/$tag-$model.err"
    stamp "$tag $model: exit $?"
    cat "$out/$tag-$model.txt"
  done
}

run ppl ppl 60 --books "$valid" --windows 1k,2k,4k,8k,16k,32k,64k --max-windows 4
run passkey passkey-repeat 60 --lengths 1k,4k,16k,64k,128k,256k,1M --filler repeat --trials 2
run multikey multikey 40 --lengths 1k,4k,16k,64k --keys 2,4,8 --filler repeat --trials 2
run passkey passkey-books 45 --lengths 1k,4k,16k,64k,128k --filler books --books "$valid" --trials 2
run fidelity fidelity 40 --books "$valid" --distances 1,4,16,64,256,1024,4096 --samples 8
run speed speed 30 --lengths 8k,64k,256k,1M
stamp done
