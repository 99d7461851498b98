#!/usr/bin/env bash
# Fits the learned answer scorer again (docs/answers.md "The learned scorer"): questions are
# generated from training books only (../shared/corpus/train-00 and -01; never the dev
# set's books or the sample book), the 180 largest sorted by name, every 4th held out.
#   scripts/fit_ranker.sh [BUILD_DIR]     (default build); writes resources/answer/ranker.json
# and leaves the sets, rows and libraries in .data/qa/ (ignored) for the held-out figures:
#   memmamba eval qa --set .data/qa/gen-holdout.json --books .data/train --no-model --json
set -euo pipefail
cd "$(dirname "$0")/.."
mm="${1:-build}/bin/memmamba"
qa=.data/qa; train=.data/train
mkdir -p "$qa" "$train"
if [ ! -e "$train/.extracted" ]; then
  for part in 00 01; do tar -xJf ../shared/corpus/train-$part.tar.xz -C "$train"; done
  touch "$train/.extracted"
fi
(cd "$train" && ls -S *.txt | head -180 | LC_ALL=C sort) > "$qa/books.txt"
fit=(); held=()
n=0
while read -r b; do
  n=$((n + 1))
  if [ $((n % 4)) -eq 0 ]; then held+=(--generate "$train/$b"); else fit+=(--generate "$train/$b"); fi
done < "$qa/books.txt"
[ -s "$qa/gen-train.json" ] || "$mm" eval qa "${fit[@]}" --out "$qa/gen-train.json" --db "$qa/gen-train.sqlite3" --quiet
[ -s "$qa/gen-holdout.json" ] || "$mm" eval qa "${held[@]}" --out "$qa/gen-holdout.json" --db "$qa/gen-holdout.sqlite3" --quiet
"$mm" eval qa --set "$qa/gen-train.json" --books "$train" --db "$qa/gen-train.sqlite3" --no-model --scorer hand \
  --features --quiet --json > "$qa/f-train.json"
"$mm" eval qa --set eval/qa/dev.json --no-model --scorer hand --features --quiet --json > "$qa/f-dev.json"
"$mm" eval qa --set "$qa/gen-train.json" --books "$train" --no-model --fit resources/answer/ranker.json \
  --rows "$qa/f-train.json" --calibrate "$qa/f-dev.json" --l2 0.1
