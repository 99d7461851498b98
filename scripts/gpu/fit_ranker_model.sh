#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool; carry .gpu-debs, .data/dev-xz (a tar.xz of the dev
# set's uga_821.txt and uga_3069.txt), .data/train-xz (a tar.xz of the 180 books listed in
# .data/qa/books.txt: the whole shards do not fit the 64 MiB a call carries), and
# .data/qa/books.txt, gen-train.json and gen-holdout.json from scripts/fit_ranker.sh): fits the
# learned answer scorer with the model's likelihood as a feature. Reads the 135 fitting
# books, the 45 held-out books and the dev set's three books into the model's memory on
# CUDA, answers every generated question with the model (features on), fits, and measures
# the fit with and without the model on the dev set and the held-out questions.
# Writes $OUT/ranker.json (copy it to resources/answer/ranker.json), $OUT/fit.md, rows in fit.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=/tmp/mm-build; work=/tmp/mm-fit; rm -rf "$work"; mkdir -p "$work"
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
bash scripts/gpu/build_cli.sh "$build" "$work" || exit 1
stamp "memmamba built"
mm="$build/bin/memmamba"
train=.data/train; mkdir -p "$train"
for t in .data/train-xz/*.tar.xz; do tar -xJf "$t" -C "$train"; done
mkdir -p .data/gpu-qa; for t in .data/dev-xz/*.tar.xz; do tar -xJf "$t" -C .data/gpu-qa; done
fit=(); held=(); n=0
while read -r b; do
  n=$((n + 1))
  if [ $((n % 4)) -eq 0 ]; then held+=("$train/$b"); else fit+=("$train/$b"); fi
done < .data/qa/books.txt
stamp "books: ${#fit[@]} fitting, ${#held[@]} held out"
lib="$work/train.sqlite3"; hlib="$work/held.sqlite3"; dlib="$work/dev.sqlite3"
"$mm" ingest "${fit[@]}" --db "$lib" --device cuda > "$work/ingest-train.log" 2>&1; stamp "fitting books read rc=$?"
"$mm" ingest "${held[@]}" --db "$hlib" --device cuda > "$work/ingest-held.log" 2>&1; stamp "held-out books read rc=$?"
"$mm" ingest resources/books/shirley.txt .data/gpu-qa/uga_821.txt .data/gpu-qa/uga_3069.txt --db "$dlib" --device cuda \
  > "$work/ingest-dev.log" 2>&1; stamp "dev books read rc=$?"
dev=(--set eval/qa/dev.json --books resources/books --books .data/gpu-qa --db "$dlib" --quiet --json)
"$mm" eval qa --set .data/qa/gen-train.json --books "$train" --db "$lib" --device cuda --scorer hand --features --quiet --json \
  > "$work/f-train.json" 2> "$work/f-train.err"; stamp "fitting rows with the model rc=$?"
"$mm" eval qa "${dev[@]}" --device cuda --scorer hand --features > "$work/f-dev.json" 2> "$work/f-dev.err"; stamp "dev rows rc=$?"
"$mm" eval qa --set .data/qa/gen-train.json --books "$train" --db "$lib" --no-model --fit "$out/ranker.json" \
  --rows "$work/f-train.json" --calibrate "$work/f-dev.json" --l2 0.1 > "$work/fit.log" 2>&1; stamp "fitted rc=$?"
hold=(--set .data/qa/gen-holdout.json --books "$train" --db "$hlib" --quiet --json --scorer "$out/ranker.json")
"$mm" eval qa "${dev[@]}" --device cuda --scorer "$out/ranker.json" > "$work/dev-model.json" 2>&1; stamp "dev, model rc=$?"
"$mm" eval qa "${dev[@]}" --no-model --scorer "$out/ranker.json" > "$work/dev-nomodel.json" 2>&1; stamp "dev, no model rc=$?"
"$mm" eval qa "${hold[@]}" --device cuda > "$work/hold-model.json" 2>&1; stamp "held out, model rc=$?"
"$mm" eval qa "${hold[@]}" --no-model > "$work/hold-nomodel.json" 2>&1; stamp "held out, no model rc=$?"
python3 - "$work" > "$out/fit.md" <<'PY'
import json, sys, os
w = sys.argv[1]
print("| run | accuracy | evidence@3 | spoiler not found | answer_ms p50 | p95 |")
print("| --- | --- | --- | --- | --- | --- |")
for name in ["dev-model", "dev-nomodel", "hold-model", "hold-nomodel", "f-dev", "f-train"]:
    try:
        s = json.load(open(os.path.join(w, name + ".json")))["summary"]
    except Exception as e:
        print(f"| {name} | failed: {e} |"); continue
    print(f"| {name} | {s['accuracy']:.3f} | {s['evidence_at_3']:.3f} | {s['spoiler_not_found']:.3f} | {s['answer_ms_p50']:.1f} | {s['answer_ms_p95']:.1f} |")
PY
cat "$out/fit.md"; tail -12 "$work/fit.log"
tar -czf "$out/fit.tar.gz" -C "$work" $(cd "$work" && ls dev-*.json hold-*.json *.log *.err 2>/dev/null)
stamp done
