#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool) to train the shipped model and its notes-off
# baseline side by side on one H200 (docs/training.md, "On the GPU machine").
#
#   scripts/gpu/train.sh start [--minutes M] [-- extra memmamba train options]
#       carry: .gpu-debs and the corpus shards .data/train-0N.tar.xz (up to 4) and
#       .data/valid.tar.xz. Builds memmamba-train, extracts the books into /tmp, launches
#       both trainings in the background (setsid: they outlive this call), watches them
#       for ~90 s (until both have printed their step-time estimate) and returns.
#   scripts/gpu/train.sh wait [--max-wait S]
#       follows the logs until both trainings have exited or S seconds (default 540)
#       have passed, then copies what exists (model folders, logs, GPU memory log) to
#       $OUT. Call it again while it says "still running".
#   scripts/gpu/train.sh all [--minutes M] [--eval-budget S] [-- options]
#       start, wait, scripts/gpu/eval_models.sh and collect in one call (the safe way:
#       the machine does not survive a gap between calls).
#   scripts/gpu/train.sh status
#       the log tails and GPU memory now.
#   scripts/gpu/train.sh stop
#       SIGTERM to both trainings (by their pids): each finishes its step, checkpoints and
#       writes its model folder; then call wait to collect.
#
# Both runs: same data, seed, batch, length and wall-clock budget; --steps auto fits the
# cosine schedule into the budget from the measured step time (each model its own).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=${MM_BUILD_DIR:-/tmp/mm-build}
data=/tmp/mm-data
runs=/tmp/mm-train
bin="$build/bin/memmamba-train"
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

# H200 defaults for the 8.85M-parameter model (reasoning in docs/training.md):
# 16 x 4096 = 64k tokens a step, lr 1e-3 peak (small model, short run), warm-up 100.
BATCH=${BATCH:-16}
SEQ_LEN=${SEQ_LEN:-4096}
LR=${LR:-1e-3}
SEED=${SEED:-1}
# (Environment overrides for a CPU rehearsal: DEVICE=cpu SKIP_BUILD=1 MM_BUILD_DIR=build-trn.)

gpu_memory() { nvidia-smi --query-gpu=memory.used,memory.total,utilization.gpu --format=csv,noheader 2>/dev/null; }

tails() {
  for run in memmamba baseline; do
    [ -f "$runs/$run.log" ] || continue
    echo "--- $run $( [ -f "$runs/$run.pid" ] && kill -0 "$(cat "$runs/$run.pid")" 2>/dev/null && echo running || echo exited)"
    grep -E "estimate|curriculum:|valid|saved|error|memmamba train" "$runs/$run.log" | tail -6
    tail -2 "$runs/$run.log"
  done
  echo "--- gpu memory used, total, utilisation: $(gpu_memory)"
}

running() {
  for run in memmamba baseline; do
    [ -f "$runs/$run.pid" ] && kill -0 "$(cat "$runs/$run.pid")" 2>/dev/null && return 0
  done
  return 1
}

collect() {
  for run in memmamba baseline; do
    mkdir -p "$out/$run"
    cp "$runs/$run.log" "$out/$run/train.log" 2>/dev/null
    cp "$runs/$run/log.jsonl" "$out/$run/" 2>/dev/null
    [ -d "$runs/$run/model" ] && cp -r "$runs/$run/model" "$out/$run/"
    [ -f "$runs/$run.summary.json" ] && cp "$runs/$run.summary.json" "$out/$run/summary.json"
  done
  cp "$runs/gpu.log" "$out/" 2>/dev/null
  ls -la "$out"/*/ 2>/dev/null
  [ -n "${NO_PACK:-}" ] || pack
}

# The device returns at most 8 files of 16 MiB each: one tar of everything, cut into
# 15 MiB pieces (here: cat "$files_at"/train-results.tar.part-* | tar -x).
pack() {
  ( cd "$out" && rm -f train-results.tar.part-* &&
    tar -cf /tmp/train-results.tar $(ls -d memmamba baseline gpu.log eval 2>/dev/null) &&
    rm -rf memmamba baseline gpu.log eval && split -b 15m /tmp/train-results.tar train-results.tar.part- &&
    rm -f /tmp/train-results.tar && ls -la )
}

cmd=${1:-}; shift || true
case "$cmd" in
start)
  minutes=12
  extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --minutes) minutes=$2; shift 2 ;;
      --) shift; extra=("$@"); break ;;
      *) echo "train.sh start: unknown option $1"; exit 2 ;;
    esac
  done
  if running; then echo "trainings already running"; tails; exit 1; fi
  # Shards under .data/ or .data/gpu/ (whichever was carried); the full valid.tar.xz or valid-small.
  shards=$(ls .data/train-0*.tar.xz .data/gpu/train-0*.tar.xz 2>/dev/null)
  valid=$(ls .data/valid.tar.xz .data/gpu/valid.tar.xz .data/gpu/valid-small.tar.xz 2>/dev/null | head -1)
  [ -n "$shards" ] && [ -n "$valid" ] || { echo "carry .data/train-0N.tar.xz and .data/valid.tar.xz"; exit 1; }
  # SKIP_BUILD=1 (local rehearsal on the CPU): use the memmamba-train in $MM_BUILD_DIR as it is.
  [ -n "${SKIP_BUILD:-}" ] || bash scripts/gpu/unpack_debs.sh > /tmp/unpack.log 2>&1 || { cat /tmp/unpack.log; exit 1; }
  # Extract while building (about 1 s a shard).
  ( rm -rf "$data" && mkdir -p "$data/train" "$data/valid" &&
    for f in $shards; do tar -xJf "$f" -C "$data/train"; done &&
    tar -xJf "$valid" -C "$data/valid" ) > /tmp/extract.log 2>&1 &
  extract_pid=$!
  if [ -z "${SKIP_BUILD:-}" ]; then
  prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON \
    -DMEMMAMBA_IMPORT_FORMATS=OFF -DMEMMAMBA_FUZZ=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 \
    > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  stamp configured
  cmake --build "$build" -j16 --target memmamba-train memmamba_spm > "$out/build.log" 2>&1 \
    || { grep -E "error|Error" -A3 "$out/build.log" | head -60; exit 1; }
  stamp "memmamba-train built"
  fi
  wait "$extract_pid" || { cat /tmp/extract.log; exit 1; }
  # The archives hold one folder or loose files: find where the .txt books are.
  train_dir=$(dirname "$(find "$data/train" -name '*.txt' | head -1)")
  valid_dir=$(dirname "$(find "$data/valid" -name '*.txt' | head -1)")
  stamp "books: $(find "$data/train" -name '*.txt' | wc -l) train in $train_dir, $(find "$data/valid" -name '*.txt' | wc -l) valid"
  rm -rf "$runs" && mkdir -p "$runs"
  export OMP_WAIT_POLICY=PASSIVE MEMMAMBA_RESOURCES="$repo/resources"
  for run in memmamba baseline; do
    notes=on; [ $run = baseline ] && notes=off
    # setsid + nohup: a new session, so the trainings outlive this device call.
    setsid nohup "$bin" --data "$train_dir" --valid "$valid_dir" --out "$runs/$run" --device "${DEVICE:-cuda}" \
      --notes $notes --seed "$SEED" --batch "$BATCH" --seq-len "$SEQ_LEN" --lr "$LR" --steps auto \
      --time-budget-min "$minutes" --threads 8 --log-every 20 --valid-every 250 --valid-windows 16 \
      --checkpoint-every 250 --json "${extra[@]}" \
      > "$runs/$run.summary.json" 2> "$runs/$run.log" < /dev/null &
    echo $! > "$runs/$run.pid"
  done
  setsid nohup bash -c "while true; do echo \"\$(date +%T) \$(nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader)\" >> $runs/gpu.log; sleep 15; done" \
    > /dev/null 2>&1 < /dev/null &
  echo $! > "$runs/gpu-monitor.pid"
  stamp "launched: memmamba pid $(cat $runs/memmamba.pid), baseline pid $(cat $runs/baseline.pid), budget $minutes min"
  # The evaluation binary (scripts/gpu/eval_models.sh), built at low priority while the
  # trainings run, so the evaluation call after them starts at once. Not fatal.
  [ -n "${SKIP_BUILD:-}" ] || setsid nohup nice -n 19 cmake --build "$build" -j8 --target memmamba \
    > "$runs/build-memmamba.log" 2>&1 < /dev/null &
  for i in $(seq 1 12); do
    sleep 10
    n=$(cat "$runs"/*.log 2>/dev/null | grep -c estimate)
    running || break
    [ "$n" -ge 2 ] && break
  done
  tails
  ;;
wait)
  max=540
  [ "${1:-}" = --max-wait ] && max=$2
  end=$(( $(date +%s) + max ))
  while running && [ "$(date +%s)" -lt "$end" ]; do
    sleep 30
    stamp "$(grep -h "^step" "$runs"/memmamba.log 2>/dev/null | tail -1 | cut -c1-100)"
    stamp "$(grep -h "^step" "$runs"/baseline.log 2>/dev/null | tail -1 | cut -c1-100)"
  done
  tails
  if running; then
    echo "still running: call train.sh wait again"
    collect > /dev/null
  else
    [ -f "$runs/gpu-monitor.pid" ] && kill "$(cat "$runs/gpu-monitor.pid")" 2>/dev/null
    collect
    echo "both trainings finished; model folders and logs in \$OUT/memmamba and \$OUT/baseline"
  fi
  ;;
all)
  # Everything in ONE device call: build, train both models, evaluate, collect. The
  # machine is released when more than ~30 s pass between calls, taking background
  # trainings with it (docs/training.md, "Longer runs attempted"), so a run that must
  # not be lost fits in one call: --minutes 6 plus the build (~1 min) and the
  # evaluation (--eval-budget, default 100 s) stays under the 10-minute call limit.
  minutes=6; ebudget=100; extra=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --minutes) minutes=$2; shift 2 ;;
      --eval-budget) ebudget=$2; shift 2 ;;
      --) shift; extra=("$@"); break ;;
      *) echo "train.sh all: unknown option $1"; exit 2 ;;
    esac
  done
  bash "$0" start --minutes "$minutes" -- "${extra[@]}" || exit 1
  NO_PACK=1 bash "$0" wait --max-wait $(( ${minutes%.*} * 60 + 120 )) | tail -20
  OUT="$out" bash scripts/gpu/eval_models.sh --budget "$ebudget" | grep -E "exit|skip|done"
  pack
  ;;
continue)
  # ONE self-contained device call that grows a model (docs/training.md, "Continued runs"):
  # engine-only build (no Qt: only nlohmann-json travels, in .gpu-debs), the books,
  # training for --minutes from --init-from (a model folder with trainer.json, or the
  # shipped model to start), the recall evaluation with --no-pool beside it, and
  # everything back under $OUT as train-results.tar.part-* (model, trainer.json, logs).
  #   train.sh continue --minutes M [--init-from DIR] [--name NAME] [--eval-lengths L]
  #                     [--eval-seconds S] [-- memmamba train options]
  # Several runs share one GPU: --also 'NAME|options' (repeatable) starts another
  # training beside the first (same data, same minutes; fresh unless its options say
  # --init-from).
  minutes=6; init=""; name=run; elengths="1k,4k,16k"; esecs=60; extra=(); also=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --minutes) minutes=$2; shift 2 ;;
      --init-from) init=$2; shift 2 ;;
      --name) name=$2; shift 2 ;;
      --eval-lengths) elengths=$2; shift 2 ;;
      --eval-seconds) esecs=$2; shift 2 ;;
      --also) also+=("$2"); shift 2 ;;
      --) shift; extra=("$@"); break ;;
      *) echo "train.sh continue: unknown option $1"; exit 2 ;;
    esac
  done
  shards=$(ls .data/train-0*.tar.xz .data/gpu/train-0*.tar.xz 2>/dev/null)
  valid=$(ls .data/valid.tar.xz .data/gpu/valid.tar.xz .data/gpu/valid-small.tar.xz 2>/dev/null | head -1)
  [ -n "$shards" ] && [ -n "$valid" ] || { echo "carry .data/gpu (train-0N.tar.xz and valid*.tar.xz)"; exit 1; }
  ( rm -rf "$data" && mkdir -p "$data/train" "$data/valid" &&
    for f in $shards; do tar -xJf "$f" -C "$data/train"; done &&
    tar -xJf "$valid" -C "$data/valid" ) > /tmp/extract.log 2>&1 &
  extract_pid=$!
  engine="$build/bin/memmamba-engine"
  if [ -z "${SKIP_BUILD:-}" ]; then
    # nlohmann-json is header-only; the machine has CUDA LibTorch and sentencepiece.
    for deb in .gpu-debs/nlohmann-json3-dev_*.deb; do [ -f "$deb" ] && dpkg -x "$deb" /; done
    prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMEMMAMBA_ENGINE_ONLY=ON -DMEMMAMBA_CUDA=ON \
      -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 \
      || { tail -30 "$out/configure.log"; exit 1; }
    cmake --build "$build" -j16 --target memmamba-engine memmamba_spm > "$out/build.log" 2>&1 \
      || { grep -E "error|Error" -A3 "$out/build.log" | head -60; exit 1; }
    stamp "memmamba-engine built (engine only)"
  fi
  wait "$extract_pid" || { cat /tmp/extract.log; exit 1; }
  train_dir=$(dirname "$(find "$data/train" -name '*.txt' | head -1)")
  valid_dir=$(dirname "$(find "$data/valid" -name '*.txt' | head -1)")
  stamp "books: $(find "$data/train" -name '*.txt' | wc -l) train, $(find "$data/valid" -name '*.txt' | wc -l) valid"
  rm -rf "$runs" && mkdir -p "$runs"
  export OMP_WAIT_POLICY=PASSIVE MEMMAMBA_RESOURCES="$repo/resources"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader > "$runs/gpu.txt" 2>&1
  launch() {  # NAME INIT options...: one training in the background
    local run=$1 from=$2; shift 2
    local initArgs=(); [ -n "$from" ] && initArgs=(--init-from "$from")
    "$engine" train --data "$train_dir" --valid "$valid_dir" --out "$runs/$run" --device "${DEVICE:-cuda}" \
      --steps auto --time-budget-min "$minutes" --threads 8 --log-every 20 --valid-every 200 --valid-windows 16 \
      --checkpoint-every 0 --json "${initArgs[@]}" "$@" > "$runs/$run.summary.json" 2> "$runs/$run.log" < /dev/null &
    echo $! > "$runs/$run.pid"
  }
  launch "$name" "$init" "${extra[@]}"
  names=("$name")
  for spec in "${also[@]}"; do
    n=${spec%%|*}; opts=${spec#*|}
    # shellcheck disable=SC2086
    launch "$n" "" $opts
    names+=("$n")
  done
  ( while true; do echo "$(date +%T) $(gpu_memory)" >> "$runs/gpu.log"; sleep 15; done ) &
  monitor=$!
  for n in "${names[@]}"; do wait "$(cat "$runs/$n.pid")"; echo "$n exit $?"; done
  kill "$monitor" 2>/dev/null
  for n in "${names[@]}"; do stamp "$n: $(grep -E "estimate|curriculum:|schedule:|valid final|saved" "$runs/$n.log" | tail -8)"; done
  # Recall by length, with the pools emptied beside it (each run, cut at --eval-seconds).
  for n in "${names[@]}"; do
    [ -d "$runs/$n/model" ] || continue
    timeout -k 5 "$esecs" "$engine" recall --model "$runs/$n/model" --device "${DEVICE:-cuda}" \
      --lengths "$elengths" --trials 10 --tasks passkey,multikey --keys 4 --no-pool-too \
      > "$runs/$n/recall.json" 2> "$runs/$n/recall.err"
    stamp "$n recall: exit $?"
  done
  mkdir -p "$out"
  for n in "${names[@]}"; do
    mkdir -p "$out/$n"
    cp "$runs/$n.log" "$out/$n/train.log"; cp "$runs/$n.summary.json" "$out/$n/summary.json" 2>/dev/null
    cp "$runs/$n/log.jsonl" "$runs/$n/recall.json" "$runs/$n/recall.err" "$out/$n/" 2>/dev/null
    [ -d "$runs/$n/model" ] && cp -r "$runs/$n/model" "$out/$n/"
  done
  cp "$runs/gpu.log" "$runs/gpu.txt" "$out/" 2>/dev/null
  ( cd "$out" && rm -f train-results.tar.part-* &&
    tar -cf /tmp/train-results.tar "${names[@]}" gpu.log gpu.txt 2>/dev/null;
    rm -rf "${names[@]}" gpu.log gpu.txt && split -b 15m /tmp/train-results.tar train-results.tar.part- &&
    rm -f /tmp/train-results.tar && ls -la )
  stamp "done"
  ;;
status)
  tails
  ;;
stop)
  for run in memmamba baseline; do
    [ -f "$runs/$run.pid" ] && kill -TERM "$(cat "$runs/$run.pid")" 2>/dev/null && echo "asked $run to stop"
  done
  true
  ;;
*)
  echo "usage: scripts/gpu/train.sh continue [--minutes M] [--init-from DIR] [--name N] [--also 'N|opts'] [-- options] | all [--minutes M] [--eval-budget S] [-- options] | start [--minutes M] [-- options] | wait [--max-wait S] | status | stop"
  exit 2
  ;;
esac
