#!/usr/bin/env bash
# Run ON THE GPU MACHINE: unpacks the carried .gpu-debs/*.deb without overwriting any file
# the machine already has (cp -n), so its own libraries stay as they are.
set -euo pipefail
cd "$(dirname "$0")/../.."
stage=/tmp/gpu-debs-root
rm -rf "$stage" && mkdir -p "$stage"
for deb in .gpu-debs/*.deb; do dpkg-deb -x "$deb" "$stage"; done
cp -rn --preserve=links "$stage"/usr / 2>/dev/null || cp -rn "$stage"/usr /
ldconfig
echo "unpacked $(ls .gpu-debs/*.deb | wc -l) packages"
