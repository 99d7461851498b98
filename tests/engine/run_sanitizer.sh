#!/usr/bin/env bash
# Runs a test binary under compute-sanitizer memcheck: exit 77 (ctest: skipped) when
# there is no GPU or no compute-sanitizer (on PATH or in /usr/local/cuda/bin).
# Usage: run_sanitizer.sh TEST_BINARY [test function...]
set -u
nvidia-smi -L > /dev/null 2>&1 || { echo "SKIP: no GPU"; exit 77; }
sanitizer=$(command -v compute-sanitizer || true)
[ -n "$sanitizer" ] || [ ! -x /usr/local/cuda/bin/compute-sanitizer ] || sanitizer=/usr/local/cuda/bin/compute-sanitizer
[ -n "$sanitizer" ] || { echo "SKIP: no compute-sanitizer"; exit 77; }
# The test itself exits 77 without a CUDA build: pass that through as a skip.
"$1" -functions > /dev/null 2>&1; [ $? -ne 77 ] || { echo "SKIP: test binary has no CUDA"; exit 77; }
# Passes only when memcheck ran and reported no errors (its summary line says so).
log=$("$sanitizer" --tool memcheck --error-exitcode 1 "$@" 2>&1); rc=$?
printf '%s\n' "$log"
[ $rc -eq 0 ] || exit $rc
printf '%s\n' "$log" | grep -q "ERROR SUMMARY: 0 errors" || { echo "FAIL: no memcheck summary"; exit 1; }
