#!/usr/bin/env bash
# One device call: model-level CUDA tests, then ingest + ask on a long book with the trained model.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=/tmp/mm-build
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
if [ ! -f "$build/build.ninja" ]; then
  bash scripts/gpu/unpack_debs.sh > "$out/unpack.log" 2>&1
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON \
    -DMEMMAMBA_IMPORT_FORMATS=OFF -DMEMMAMBA_FUZZ=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
fi
targets="memmamba memmamba_spm"; [ "${MM_SKIP_TESTS:-0}" = 1 ] || targets="$targets tst_engine_model tst_scan_gpu"
cmake --build "$build" -j16 --target $targets > "$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }
stamp built
export OMP_WAIT_POLICY=PASSIVE MEMMAMBA_RESOURCES=$PWD/resources
model=${MM_MODEL:-.data/models/memmamba-run1}; [ -d "$model" ] || model=resources/models/default
if [ "${MM_SKIP_TESTS:-0}" != 1 ]; then
  (cd "$build" && ctest -R "tst_engine_model|tst_scan_gpu" --output-on-failure --timeout 240 > "$out/ctest.log" 2>&1); tail -8 "$out/ctest.log"
  grep -E "cudaMatchesCpu" "$out/ctest.log" | head -3
  stamp tests
fi
M="--model $model --device cuda"
db=/tmp/lib.sqlite3; rm -f $db*
ms() { date +%s%3N; }
# The engine's raw reading speed on this model: the book's length in one 64k-segment read,
# and in 16k segments (the longest ingest span), surprisal on (what ingest computes).
for seg in 65536 16384; do
  "$build/bin/memmamba" bench ingest --device cuda --model $model --tokens 567804 --segment $seg --surprisal on --json > "$out/bench_$seg.json" 2>>"$out/bench.err"
  python3 -c "import json;d=json.load(open('$out/bench_$seg.json'));print('bench segment $seg', {k:d.get(k) for k in ['tokens_per_s','seconds','peak_device_mb']})"
done
w0=$(ms); timeout 120 "$build/bin/memmamba" ingest .data/valid/uga_821.txt --db $db $M --json > "$out/ingest.json" 2> "$out/ingest.err"; echo "ingest exit $? wall $(( $(ms) - w0 )) ms"
python3 -c "import json;d=json.load(open('$out/ingest.json'));e=d['documents'][0];print('ingest', {k:e.get(k) for k in ['tokens','seconds','read_seconds','tokenize_seconds','store_seconds','tokens_per_s','read_tokens_per_s','longest_span_seconds','checkpoints']}, {k:d.get(k) for k in ['model_load_ms','warmup_ms','device']})"
stamp ingested
# Cancel: Ctrl-C (SIGINT) while reading; time from the signal to the process's exit.
db2=/tmp/lib2.sqlite3; rm -f $db2*
"$build/bin/memmamba" ingest .data/valid/uga_821.txt --db $db2 $M --json > "$out/cancel.json" 2> "$out/cancel.err" & pid=$!
until grep -q "reading:" "$out/cancel.err" 2>/dev/null || ! kill -0 $pid 2>/dev/null; do sleep 0.02; done
sleep 0.3; s0=$(ms); kill -INT $pid; wait $pid; echo "cancel: exit $? $(( $(ms) - s0 )) ms after SIGINT; $(tail -2 "$out/cancel.err" | tr '\n' ' ')"
for at in "" "" "--at 1000000" "--at 1500000" "--at 1500000"; do
  w0=$(ms); timeout 60 "$build/bin/memmamba" ask --doc 1 $at "Who is Florence?" --db $db $M --json --max-tokens 16 > "$out/ask.json" 2>>"$out/ask.err"; w=$(( $(ms) - w0 ))
  python3 -c "import json;d=json.load(open('$out/ask.json'));print('ask $at wall_ms $w', {k:d.get(k) for k in ['answer','state_load_ms','replay_ms','replayed_tokens','question_ms','first_token_ms','total_ms','checkpoint_pos','startup_ms','model_load_ms','warmup_ms']})"
done
stamp done
