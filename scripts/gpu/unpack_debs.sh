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
missing=$(ldd /usr/lib/x86_64-linux-gnu/libQt6Core.so.6 /usr/lib/x86_64-linux-gnu/libQt6Test.so.6 /usr/lib/qt6/libexec/moc /usr/lib/x86_64-linux-gnu/libglib-2.0.so.0 2>/dev/null | grep "not found" | sort -u || true)
[ -z "$missing" ] || { echo "still missing: $missing"; exit 1; }
echo "unpacked $(ls .gpu-debs/*.deb | wc -l) packages"
