#!/usr/bin/env bash
# One command to the Debian 12 package of MemMamba Reader (docs/packaging.md):
#   installer/package.sh
# installs the build dependencies (installer/install-deps.sh), configures a Release build
# for the prefix /usr (CPU LibTorch from Debian, no tests), builds it, runs cpack -G DEB
# and prints the path of the .deb. Install it with
#   sudo apt-get install ./build-package/packages/memmamba-reader_*_amd64.deb
# Environment: BUILD_DIR (default build-package), JOBS (default: all cores),
# CMAKE_ARGS (extra configure arguments, after ours, so they win), SKIP_DEPS=1 (do not
# run install-deps.sh), TEST=1 (then run the package test, installer/test-package.sh:
# root and network needed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
build_dir="${BUILD_DIR:-build-package}"
jobs="${JOBS:-$(nproc)}"

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  bash installer/install-deps.sh
fi

# CUDA off: the package's dependencies must all come from Debian, whose LibTorch is
# CPU-only (a CUDA build is done by hand: README.md, "Building against the CUDA LibTorch").
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DMEMMAMBA_CUDA=OFF -DMEMMAMBA_BUILD_TESTS=OFF ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$jobs"

rm -f "$build_dir"/packages/*.deb
(cd "$build_dir" && cpack -G DEB) > "$build_dir/cpack.log" 2>&1 || { tail -40 "$build_dir/cpack.log"; exit 1; }
debs=("$build_dir"/packages/*.deb)
deb="${debs[0]}"
echo "package: $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version), $(du -h "$deb" | cut -f1)"
echo "Depends: $(dpkg-deb -f "$deb" Depends)"

if [ "${TEST:-0}" = 1 ]; then
  bash installer/test-package.sh --build-dir "$build_dir" --deb "$deb"
fi
echo "$deb"
