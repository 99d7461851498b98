#!/usr/bin/env bash
# Run ON THE GPU MACHINE (device tool, with .gpu-debs carried), about 5-6 minutes: builds the
# engine only (-j16), runs the note path tests (the pool walk kernels against the host
# reference, label gpu), then docs/perf.md's per-stage profile of 1M-token reads (notes
# on with the device walk, notes on with the host walk, notes off; surprisal off and on)
# and the anchor: the same-size Transformer (bf16, SDPA) beside MemMamba at 64k, 256k, 1M.
# and the time of every CUDA kernel of a 128k-token read, notes on and off (Nsight Compute,
# summed per kernel name: kernels.md). bench.jsonl, profile.md, kernels.md and logs.tar.gz
# (configure, build, test and sanitizer logs) go to $OUT: at most 8 files come back.
# Usage: scripts/gpu/profile.sh [quick]   (quick: tests and the 1M profiles only)
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-/tmp/gpu-out}"; mkdir -p "$out"
build=/tmp/mm-build
t0=$(date +%s); stamp() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
bash scripts/gpu/unpack_debs.sh > /tmp/unpack.log 2>&1 || { cat /tmp/unpack.log; exit 1; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
git log -1 --format='%H %s' > "$out/commit.txt" 2>/dev/null
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
cmake -S . -B "$build" -G Ninja -DMEMMAMBA_BUILD_GUI=OFF -DMEMMAMBA_CUDA=ON -DMEMMAMBA_IMPORT_FORMATS=OFF \
  -DMEMMAMBA_FUZZ=OFF -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/configure.log" 2>&1 \
  || { tail -30 "$out/configure.log"; exit 1; }
stamp configured
cmake --build "$build" -j16 --target memmamba-engine tst_pool_walk_gpu tst_note_path tst_scan_gpu > "$out/build.log" 2>&1 \
  || { grep -E "error|Error" -A3 "$out/build.log" | head -60; exit 1; }
stamp "engine built"
export OMP_WAIT_POLICY=PASSIVE
(cd "$build" && timeout 120 ctest -R "tst_note_path" --output-on-failure --timeout 100 > "$out/ctest.log" 2>&1)
stamp "tst_note_path rc=$?"
logs=/tmp/mm-logs; mkdir -p "$logs"; mv "$out"/configure.log "$out"/build.log "$out"/ctest.log "$logs"/ 2>/dev/null
QT_QPA_PLATFORM=offscreen timeout 280 "$build/bin/tst_pool_walk_gpu" > "$logs/tst_pool_walk_gpu.log" 2>&1
stamp "tst_pool_walk_gpu rc=$?"
grep -E "FAIL|Loc|QINFO|TIMING|Totals" "$logs/tst_pool_walk_gpu.log" | head -40
QT_QPA_PLATFORM=offscreen timeout 280 "$build/bin/tst_scan_gpu" > "$logs/tst_scan_gpu.log" 2>&1
stamp "tst_scan_gpu rc=$?"
grep -E "FAIL|Loc|TIMING|Totals" "$logs/tst_scan_gpu.log" | head -20
timeout 240 bash tests/engine/run_sanitizer.sh "$build/bin/tst_pool_walk_gpu" sanitizerCase > "$logs/memcheck.log" 2>&1
stamp "memcheck rc=$? ($(grep -m1 "ERROR SUMMARY" "$logs/memcheck.log"))"

bench="$build/bin/memmamba-engine"  # `memmamba bench` without Qt (app/cli/cmd_bench.cpp)
b() { timeout 120 "$bench" bench ingest --device cuda --json "$@" 2>>"$logs/bench.err" | tee -a "$out/bench.jsonl"; }
n=1048576
for s in off on; do
  b --tokens $n --surprisal $s --profile
  b --tokens $n --surprisal $s --profile --pool-walk cpu --pool-attention reference --note-summaries all \
    --conv reference  # the previous code path
  b --tokens $n --surprisal $s --profile --notes off
done
stamp "1M profiles"
b --tokens $n --surprisal off                   # unprofiled figures beside the profiled ones
b --tokens $n --surprisal off --pool-attention reference
b --tokens $n --surprisal off --pool-attention sdpa
b --tokens $n --surprisal off --note-summaries all
b --tokens $n --surprisal off --conv reference
b --tokens $n --surprisal off --notes off --conv reference
b --tokens $n --surprisal off --pool-walk cpu
b --tokens $n --surprisal off --notes off
if [ "${1:-}" != quick ]; then
  for t in 65536 262144; do
    b --tokens $t --surprisal off
    b --tokens $t --surprisal off --notes off
  done
  # The anchor of the issue (d_model 384, 12 layers) and the same size as the default
  # MemMamba (320, 8 layers), each beside a MemMamba of that size.
  for t in 65536 262144 1048576; do
    b --tokens $t --arch transformer --dtype bf16 --d-model 384 --layers 12
    b --tokens $t --arch transformer --dtype bf16
  done
  b --tokens $n --surprisal off --d-model 384 --layers 12
  b --tokens $n --surprisal off --d-model 384 --layers 12 --notes off
  # The shipped model: trained scores, so the walk meets a real pool (surprisal off and on).
  b --tokens $n --surprisal off --model resources/models/default
  b --tokens $n --surprisal on --model resources/models/default
  stamp "anchor"
  # Every kernel's time (Nsight Compute, clocks and caches as they are), per kernel name.
  for notes in on off; do
    timeout 150 ncu --clock-control none --cache-control none --metrics gpu__time_duration.sum --csv \
      "$bench" bench ingest --device cuda --tokens 131072 --surprisal off --notes $notes \
      > "$logs/ncu-$notes.csv" 2>"$logs/ncu-$notes.err"
    stamp "ncu notes $notes rc=$?"
  done
  python3 - "$logs"/ncu-on.csv "$logs"/ncu-off.csv > "$out/kernels.md" <<'PY'
import csv, sys, collections
for path in sys.argv[1:]:
    lines = [l for l in open(path) if l.startswith('"')]
    rows = list(csv.DictReader(lines))
    total = collections.defaultdict(float); count = collections.Counter()
    for r in rows:
        if r.get("Metric Name") != "gpu__time_duration.sum":
            continue
        name = r["Kernel Name"][:90]
        total[name] += float(r["Metric Value"].replace(",", "")); count[name] += 1
    allns = sum(total.values())
    print(f"\n### {path.split('/')[-1]}: {sum(count.values())} kernels, {allns/1e6:.2f} ms (3 segments of 64k: warm-up + 128k timed)\n")
    print("| kernel | launches | ms | share |\n| --- | --- | --- | --- |")
    for name, ns in sorted(total.items(), key=lambda kv: -kv[1])[:30]:
        print(f"| `{name}` | {count[name]} | {ns/1e6:.2f} | {100*ns/allns:.1f}% |")
PY
  cat "$out/kernels.md" | head -80
fi
python3 - "$out/bench.jsonl" > "$out/profile.md" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
prof = [r for r in rows if "profile" in r]
if prof:
    def name(r):
        notes = r["config"]["notes"]
        walk = (f", {r['pool_walk']} walk, {r.get('pool_attention', '?')} attention, "
                f"{r.get('note_summaries', '?')} summaries" if notes == "on" else "")
        walk += f", conv {r.get('conv', '?')}"
        return f"notes {notes}{walk}, surprisal {'on' if r['surprisal'] else 'off'}"
    print("| stage (ms) | " + " | ".join(name(r) for r in prof) + " |")
    print("| --- |" + " --- |" * len(prof))
    for i, st in enumerate(prof[0]["profile"]):
        print(f"| {st['stage']} | " + " | ".join(f"{r['profile'][i]['ms']:.1f}" for r in prof) + " |")
    print("| all stages | " + " | ".join(f"{r['profile_ms']:.1f}" for r in prof) + " |")
    print("| tokens/s | " + " | ".join(f"{r['tokens_per_s']:,.0f}" for r in prof) + " |")
    print("| peak device MB | " + " | ".join(f"{r['peak_device_mb']:,.0f}" for r in prof) + " |")
print()
print("| arch | notes | walk, attention, summaries, conv | surprisal | tokens | tokens/s | peak device MB |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    if "profile" in r:
        continue
    cfg = r.get("config", {})
    arch = r.get("arch", "?") + (" " + r["dtype"] if r.get("arch") == "transformer" else "")
    arch += f" {cfg.get('d_model', '?')}x{cfg.get('n_layer', '?')}"
    notes = r.get("config", {}).get("notes", "-")
    tps = r.get("tokens_per_s")
    peak = r.get("peak_device_mb")
    tps_text = f"{tps:,.0f}" if tps else r.get("error", "?")
    peak_text = f"{peak:,.0f}" if peak else "-"
    how = (f"{r.get('pool_walk', '-')}, {r.get('pool_attention', '-')}, {r.get('note_summaries', '-')}"
           if notes == "on" else "-") + f", conv {r.get('conv', '-')}"
    print(f"| {arch} | {notes} | {how} | {r.get('surprisal', '-')} | {r['tokens']:,} | {tps_text} | {peak_text} |")
EOF
cat "$out/profile.md"
[ -z "${WITH_DDP:-}" ] || { DDP_LOG="$logs/ddp.log" bash scripts/gpu/ddp_check.sh; stamp "ddp check"; }
tar -czf "$out/logs.tar.gz" -C "$logs" . 2>/dev/null
stamp done
