#!/usr/bin/env bash
# Run HERE (Debian 12): downloads the Debian packages that the GPU machine lacks into the
# ignored folder .gpu-debs/, which a device call then carries. The GPU machine (Ubuntu
# 24.04, no network) has CUDA LibTorch 2.11 and sentencepiece but no Qt, no SQLite header,
# no nlohmann-json, no Gloo headers (c10d's ProcessGroupGloo.hpp needs them); these Debian builds run there unchanged (same x86-64, older glibc).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu-debs/' .git/info/exclude 2>/dev/null || echo '/.gpu-debs/' >> .git/info/exclude
mkdir -p .gpu-debs && cd .gpu-debs
apt-get download -q \
  libqt6core6 libqt6test6 libqt6concurrent6 qt6-base-dev qt6-base-dev-tools qmake6 qmake6-bin \
  libicu72 libdouble-conversion3 libb2-1 libpcre2-16-0 libglib2.0-0 libpcre2-8-0 libffi8 libmount1 libselinux1 libblkid1 \
  libsqlite3-dev nlohmann-json3-dev libzstd-dev libgloo-dev 2>&1 | grep -v "^W: Download is performed unsandboxed" || true
ls -la
