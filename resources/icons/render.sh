#!/usr/bin/env bash
# Renders memmamba-reader.svg to the hicolor PNG sizes committed beside it
# (hicolor/SIZExSIZE/memmamba-reader.png). Needs rsvg-convert (Debian: librsvg2-bin).
# The build installs the committed PNGs, so it needs neither this script nor rsvg.
set -euo pipefail
cd "$(dirname "$0")"
for size in 16 22 24 32 48 64 128 256; do
  mkdir -p "hicolor/${size}x${size}"
  rsvg-convert -w "$size" -h "$size" memmamba-reader.svg -o "hicolor/${size}x${size}/memmamba-reader.png"
done
