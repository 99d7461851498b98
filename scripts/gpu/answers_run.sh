#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool; carry .gpu-debs and .data/gpu-qa holding uga_821.txt,
# uga_3069.txt and tmg_10800.txt from ../shared/corpus/valid.tar.xz): builds `memmamba`
# (no GUI, -j16), runs the answer dev set without the model, reads the three books into
# the model's memory on CUDA, runs the dev set with the model on CUDA, and times answers
# deep in a ~1M-token book (eval/qa/deep_speed.json) with and without the model.
# Summaries go to $OUT/answers.md, the JSON of each run into answers-logs.tar.gz. Both sets
# are also run with the prompt folded into the answers' pass (MEMMAMBA_ANSWER_PROMPT=folded);
# the dev set without the overlap and readEach (serial; NO_SERIAL=1 skips it; DEEP_SERIAL=1
# adds the same deep in the long book), with the answers read one by one on threads
# (THREADS_ROW=1), and REPEATS=N times again (GLIBC_ROWS=1: beside glibc's heap policy).
set -uo pipefail
cd "$(dirname "$0")/../.."
# One hash order for every run, as on the build machine (docs/results.md: the runs of
# 2026-12-07 evening, without it, moved one question's confidence between runs).
export QT_HASH_SEED="${QT_HASH_SEED:-0}"
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=/tmp/mm-build; work=/tmp/mm-answers; rm -rf "$work"; mkdir -p "$work"
# Each run's JSON goes straight to $OUT (a run cut short by the device's limit still returns
# what it finished); logs stay in $work.
res="$out"
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$work/gpu.log"
{ uname -r; nproc; grep -m1 "model name" /proc/cpuinfo; lscpu | grep -E "^(Thread|Core|Socket|NUMA node\(s\)|CPU max MHz|L3)"; } 2>&1 | tee -a "$work/gpu.log"
EXTRA_TARGETS=tst_engine_model bash scripts/gpu/build_cli.sh "$build" "$work" || exit 1
stamp "memmamba built"
# Model::readEach on CUDA (concurrent streams) against clone + read, and the CUDA path against the CPU.
"$build/bin/tst_engine_model" readEachOnCuda readEachReadsFromCopies cudaMatchesCpu > "$out/tst_engine_model.txt" 2>&1
stamp "tst_engine_model rc=$? ($(grep -E '^Totals' "$out/tst_engine_model.txt"))"
mm="$build/bin/memmamba"
lib="$work/lib.sqlite3"; books=(--books resources/books --books .data/gpu-qa)
"$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --no-model --quiet --json > "$res/dev-nomodel.json" 2>"$work/dev-nomodel.err"
stamp "dev set, no model rc=$?"
for id in $("$mm" list --db "$lib" --json | python3 -c 'import json,sys;print(" ".join(str(d["doc"]) for d in json.load(sys.stdin)["documents"]))'); do
  /usr/bin/time -f "%e s" "$mm" ingest --doc "$id" --db "$lib" --device cuda > "$work/ingest-$id.log" 2>&1
  stamp "ingest doc $id rc=$? ($(tail -1 "$work/ingest-$id.log"))"
done
"$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json > "$res/dev-model.json" 2>"$work/dev-model.err"
stamp "dev set, model on CUDA rc=$?"
deep="$work/deep.sqlite3"
if [ -z "${SKIP_DEEP:-}" ]; then
"$mm" eval qa --set eval/qa/deep_speed.json "${books[@]}" --db "$deep" --no-model --quiet --json > "$res/deep-nomodel.json" 2>"$work/deep-nomodel.err"
for id in $("$mm" list --db "$deep" --json | python3 -c 'import json,sys;print(" ".join(str(d["doc"]) for d in json.load(sys.stdin)["documents"]))'); do
  /usr/bin/time -f "%e s" "$mm" ingest --doc "$id" --db "$deep" --device cuda > "$work/ingest-deep-$id.log" 2>&1
  stamp "ingest deep doc $id rc=$? ($(tail -1 "$work/ingest-deep-$id.log"))"
done
"$mm" eval qa --set eval/qa/deep_speed.json "${books[@]}" --db "$deep" --device cuda --quiet --json > "$res/deep-model.json" 2>"$work/deep-model.err"
stamp "deep speed rc=$?"
fi
# The prompt folded into the answers' one pass (MEMMAMBA_ANSWER_PROMPT=folded) against the
# default (the prompt read beside the text pipeline, the answers after it); NO_FOLDED=1 skips it.
[ -z "${NO_FOLDED:-}" ] && MEMMAMBA_ANSWER_PROMPT=folded "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json \
  > "$res/dev-model-folded.json" 2>"$work/dev-model-folded.err"
[ -z "${SKIP_DEEP:-}${NO_FOLDED:-}" ] && MEMMAMBA_ANSWER_PROMPT=folded "$mm" eval qa --set eval/qa/deep_speed.json "${books[@]}" --db "$deep" --device cuda --quiet --json \
  > "$work/deep-model-folded.json" 2>"$work/deep-model-folded.err"
stamp "dev and deep sets, model on CUDA, prompt folded rc=$?"
# The answers read only once ranked (MEMMAMBA_ANSWER_AHEAD=off), against reading every
# candidate ahead beside the ranking (the default on CUDA).
[ -z "${SKIP_DEEP:-}" ] && MEMMAMBA_ANSWER_AHEAD=off "$mm" eval qa --set eval/qa/deep_speed.json "${books[@]}" --db "$deep" --device cuda --quiet --json \
  > "$work/deep-model-noahead.json" 2>"$work/deep-model-noahead.err"
# The previous way of reading the candidate answers (one read each, on threads and streams of
# their own), with THREADS_ROW=1.
if [ -n "${THREADS_ROW:-}" ]; then
  MEMMAMBA_READ_EACH=threads "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json \
    > "$work/dev-model-threads.json" 2>"$work/dev-model-threads.err"
  stamp "dev set, model on CUDA, answers on threads rc=$?"
fi
# The same without the two latency measures (answers identical; only the time differs):
# the question read before the text pipeline instead of beside it, the answers one by one.
if [ -z "${NO_SERIAL:-}" ]; then
  MEMMAMBA_ANSWER_OVERLAP=off MEMMAMBA_READ_EACH=serial "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" \
    --device cuda --quiet --json > "$res/dev-model-serial.json" 2>"$work/dev-model-serial.err"
  stamp "dev set, model on CUDA, serial rc=$?"
fi
# Warm repeats (REPEATS=N): the same binary and libraries again, with and without the model,
# for the spread of the p95 on one machine (their JSON in answers-logs.tar.gz: $OUT takes 8 files),
# each beside the same run with the prompt folded (MEMMAMBA_ANSWER_PROMPT=folded),
# and, with GLIBC_ROWS=1, with glibc's own heap policy (MEMMAMBA_MALLOC=default, app/heap.h).
for r in $(seq 1 "${REPEATS:-0}"); do
  "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --no-model --quiet --json > "$work/dev-nomodel-r$r.json" 2>/dev/null
  "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json > "$work/dev-model-r$r.json" 2>/dev/null
  MEMMAMBA_ANSWER_PROMPT=folded "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json > "$work/dev-model-folded-r$r.json" 2>/dev/null
  [ -z "${SKIP_DEEP:-}" ] && "$mm" eval qa --set eval/qa/deep_speed.json "${books[@]}" --db "$deep" --device cuda --quiet --json > "$work/deep-model-r$r.json" 2>/dev/null
  if [ -n "${GLIBC_ROWS:-}" ]; then
    MEMMAMBA_MALLOC=default "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --no-model --quiet --json > "$work/dev-nomodel-glibc-r$r.json" 2>/dev/null
    MEMMAMBA_MALLOC=default "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json > "$work/dev-model-glibc-r$r.json" 2>/dev/null
  fi
  stamp "repeat $r"
done
# Variants of the dev set with the model (VARIANTS="name:VAR=value[,VAR=value] ..."), each run
# beside the default in VARIANT_ROUNDS interleaved rounds (a machine's speed drifts within a
# call), e.g. VARIANTS="folded:MEMMAMBA_ANSWER_PROMPT=folded block:MEMMAMBA_CUDA_WAIT=block".
variant_names=""
for r in $(seq 1 "${VARIANT_ROUNDS:-0}"); do
  "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json > "$work/v-default-$r.json" 2>/dev/null
  for v in ${VARIANTS:-}; do
    name="${v%%:*}"; assigns="${v#*:}"
    env ${assigns//,/ } "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --device cuda --quiet --json \
      > "$work/v-$name-$r.json" 2>"$work/v-$name-$r.err"
  done
  "$mm" eval qa --set eval/qa/dev.json "${books[@]}" --db "$lib" --no-model --quiet --json > "$work/v-nomodel-$r.json" 2>/dev/null
  stamp "variants round $r"
done
for v in default ${VARIANTS:-} nomodel; do
  name="${v%%:*}"
  for r in $(seq 1 "${VARIANT_ROUNDS:-0}"); do variant_names="$variant_names v-$name-$r"; done
done
if [ -n "${DEEP_SERIAL:-}" ]; then
  MEMMAMBA_ANSWER_OVERLAP=off MEMMAMBA_READ_EACH=serial "$mm" eval qa --set eval/qa/deep_speed.json "${books[@]}" --db "$deep" \
    --device cuda --quiet --json > "$res/deep-model-serial.json" 2>"$work/deep-model-serial.err"
  stamp "deep speed, serial rc=$?"
fi
SKIP_DEEP="${SKIP_DEEP:-}" NO_FOLDED="${NO_FOLDED:-}" RES="$res" REPEATS="${REPEATS:-0}" NO_SERIAL="${NO_SERIAL:-}" VARIANT_NAMES="$variant_names" python3 - "$work" > "$out/answers.md" <<'PY'
import json, sys, os
w = sys.argv[1]
print("```\n" + open(os.path.join(w, "gpu.log")).read() + "```\n")
print("| run | accuracy | evidence@3 | spoiler not found | leaks | answer_ms p50 | p95 | state_load_ms p95 | model_ms p50 | p95 | retrieval_ms p50 | p95 | scoring_ms p95 | model wait p50 / p95 | model answers p50 / p95 | prompt p50 / p95 | ahead p50 / p95 | all read ahead |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
names = ["dev-nomodel", "dev-model", "dev-model-folded", "dev-model-threads", "dev-model-serial", "deep-nomodel", "deep-model",
         "deep-model-folded", "deep-model-noahead", "deep-model-serial"]
names += [f"{s}-{m}-r{r}" for r in range(1, int(os.environ.get("REPEATS", "0")) + 1)
          for s, m in (("dev", "nomodel"), ("dev", "model"), ("dev", "model-folded"), ("deep", "model"),
                       ("dev", "nomodel-glibc"), ("dev", "model-glibc"))]
names += os.environ.get("VARIANT_NAMES", "").split()
for name in names:
    try:
        f = os.path.join(os.environ["RES"], name + ".json")
        j = json.load(open(f if os.path.exists(f) else os.path.join(w, name + ".json")))
    except Exception as e:
        if (name.endswith("serial") and os.environ.get("NO_SERIAL")) or "threads" in name or "glibc" in name \
           or ("folded" in name and os.environ.get("NO_FOLDED")) \
           or (name.startswith("deep") and os.environ.get("SKIP_DEEP")): continue
        print(f"| {name} | failed: {e} |"); continue
    s = j.get("summary", j)
    g = lambda k: s.get(k, "-")
    def pct(key, p):
        v = sorted(r.get(key, 0) or 0 for r in j.get("rows", []))
        return round(v[int(p * (len(v) - 1))], 1) if v else "-"
    print(f"| {name} | {g('accuracy')} | {g('evidence_at_3')} | {g('spoiler_not_found')} | {g('spoiler_leaks')} | "
          f"{g('answer_ms_p50')} | {g('answer_ms_p95')} | {pct('state_load_ms', 0.95)} | {pct('model_ms', 0.5)} | {pct('model_ms', 0.95)} | "
          f"{pct('retrieval_ms', 0.5)} | {pct('retrieval_ms', 0.95)} | {pct('scoring_ms', 0.95)} | "
          f"{pct('model_wait_ms', 0.5)} / {pct('model_wait_ms', 0.95)} | {pct('model_answers_ms', 0.5)} / {pct('model_answers_ms', 0.95)} | "
          f"{pct('prompt_ms', 0.5)} / {pct('prompt_ms', 0.95)} | {pct('model_ahead_ms', 0.5)} / {pct('model_ahead_ms', 0.95)} | "
          f"{sum(1 for r in j.get('rows', []) if r.get('model_used') and r.get('model_ahead_hits', 0) > 0 and not r.get('model_answers_ms'))}"
          f" of {sum(1 for r in j.get('rows', []) if r.get('model_used'))} |")
    if "per_book" in s: print(f"\nper book ({name}): {json.dumps(s['per_book'])}\n")
PY
cat "$out/answers.md"
tar -czf "$out/answers-logs.tar.gz" -C "$work" $(cd "$work" && ls *.log *.err v-*.json dev-*-r*.json deep-*-r*.json deep-model-folded.json deep-model-noahead.json dev-model-threads.json 2>/dev/null)
stamp done
