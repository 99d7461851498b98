#!/usr/bin/env bash
# Trains the shipped tokenizer, resources/tokenizer/memmamba.{model,vocab}.
#
# Inputs : the training shards train-00 and train-01 of /work/shared/corpus (or $CORPUS),
#          extracted into an ignored folder ($WORK, default <repo>/.data/tokenizer).
# Sample : whole books in a fixed pseudo-random order (sorted by SHA-256 of
#          "$SAMPLE_SEED:<file name>", so no tool's RNG is involved) until SAMPLE_BYTES
#          (30 MB) are taken; each non-empty line is one training "sentence" (books are
#          hard-wrapped, so a newline is never inside a piece: at encode time it goes
#          through byte fallback as <0x0A>).
# Train  : spm_train, unigram, vocab 8192, byte fallback, split digits, identity
#          normalisation (token byte spans map to the source exactly), no dummy prefix,
#          whitespace kept as is, fixed --random_seed. ids: <unk> 0, <s> 1, </s> 2,
#          <pad> 3, then the control symbols <doc> <q> <a> <note> <reserved0..3> = 4..11.
# Output : $OUT_DIR (default <repo>/resources/tokenizer)/memmamba.model and .vocab, and
#          the training log in $WORK/spm_train.log.
# Usage  : scripts/train_tokenizer.sh            (about 70 s on 2 idle cores; see README)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-/work/shared/corpus}
WORK=${WORK:-$REPO/.data/tokenizer}
OUT_DIR=${OUT_DIR:-$REPO/resources/tokenizer}
SHARDS=(train-00 train-01)
SAMPLE_SEED=memmamba-tokenizer-v1
SAMPLE_BYTES=30000000
SPM_SEED=20240601
THREADS=${THREADS:-2}

mkdir -p "$WORK/shards" "$OUT_DIR"

# 1. Extract the fixed shards (about 1 s each).
for shard in "${SHARDS[@]}"; do
  if [[ ! -f "$WORK/shards/$shard.done" ]]; then
    mkdir -p "$WORK/shards/$shard"
    tar -xJf "$CORPUS/$shard.tar.xz" -C "$WORK/shards/$shard"
    touch "$WORK/shards/$shard.done"
  fi
done

# 2. Deterministic sample: order books by SHA-256("$SAMPLE_SEED:<name>"), take whole
#    books until SAMPLE_BYTES, keep non-empty lines.
sample="$WORK/sample.txt"
: > "$sample"
: > "$WORK/sample_books.txt"
taken=0
while read -r _key path; do
  (( taken >= SAMPLE_BYTES )) && break
  grep -v '^$' "$path" >> "$sample" || true
  echo "$(basename "$path")" >> "$WORK/sample_books.txt"
  taken=$(( taken + $(stat -c %s "$path") ))
done < <(find "$WORK/shards" -name '*.txt' -type f | LC_ALL=C sort | while read -r f; do
           printf '%s %s\n' "$(printf '%s:%s' "$SAMPLE_SEED" "$(basename "$f")" | sha256sum | cut -c1-64)" "$f"
         done | LC_ALL=C sort)
echo "sample: $(wc -l < "$WORK/sample_books.txt") books, $(wc -l < "$sample") lines, $(stat -c %s "$sample") bytes, sha256 $(sha256sum "$sample" | cut -c1-64)"

# 3. Train. input_sentence_size bounds memory and time (511,979 lines are in the
#    sample, so all of them are used); shuffle is seeded by --random_seed.
#    Relative paths: the model embeds its trainer_spec (input and prefix included), so
#    absolute paths would make the model depend on where the checkout is.
start=$(date +%s)
(cd "$WORK" && spm_train \
  --input=sample.txt \
  --model_prefix=memmamba \
  --model_type=unigram \
  --vocab_size=8192 \
  --byte_fallback=true \
  --split_digits=true \
  --normalization_rule_name=identity \
  --add_dummy_prefix=false \
  --remove_extra_whitespaces=false \
  --allow_whitespace_only_pieces=true \
  --character_coverage=0.9995 \
  --input_sentence_size=600000 \
  --shuffle_input_sentence=true \
  --random_seed=$SPM_SEED \
  --num_threads="$THREADS" \
  --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=3 \
  --control_symbols='<doc>,<q>,<a>,<note>,<reserved0>,<reserved1>,<reserved2>,<reserved3>' \
  > spm_train.log 2>&1)
echo "spm_train: $(( $(date +%s) - start )) s"

cp "$WORK/memmamba.model" "$WORK/memmamba.vocab" "$OUT_DIR/"
echo "model: $OUT_DIR/memmamba.model sha256 $(sha256sum "$OUT_DIR/memmamba.model" | cut -c1-64)"
