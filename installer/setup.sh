#!/usr/bin/env bash
# One command from a fresh Debian 12 checkout to a running reader or a full test run:
#   installer/setup.sh reader   install packages, build, open the reader on the sample book
#   installer/setup.sh test     install packages, build, run every test suite (ctest)
#   installer/setup.sh build    install packages and build only
# Environment: BUILD_DIR (default build), JOBS (default: all cores), CMAKE_ARGS (extra
# configure arguments), MEMMAMBA_DB (library used by `reader`; default the user's own).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
mode="${1:-build}"
build_dir="${BUILD_DIR:-build}"
jobs="${JOBS:-$(nproc)}"

case "$mode" in
  reader|test|build) ;;
  *) echo "usage: installer/setup.sh reader|test|build" >&2; exit 2 ;;
esac

bash installer/install-deps.sh

# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$jobs"

case "$mode" in
  reader)
    db_args=()
    if [ -n "${MEMMAMBA_DB:-}" ]; then db_args=(--db "$MEMMAMBA_DB"); fi
    exec "$build_dir/bin/memmamba-reader" "${db_args[@]}" resources/books/shirley.txt
    ;;
  test)
    # GPU suites (label gpu) skip themselves where there is no GPU. The package test
    # (label package: builds the .deb, installs it into a debootstrap root: minutes, root and network) is
    # left out; run it with `ctest --test-dir build -L package` (docs/packaging.md).
    exec ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -LE package
    ;;
esac
