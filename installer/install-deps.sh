#!/usr/bin/env bash
# Installs the Debian 12 packages MemMamba Reader needs to build, test and run.
# Idempotent: packages already present are skipped, and apt-get update runs only
# when something is missing. Run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev libqt6sql6-sqlite qt6-base-dev-tools
  libtorch-dev libopenblas0-openmp libgloo-dev
  libsentencepiece-dev sentencepiece
  libsqlite3-dev nlohmann-json3-dev libzstd-dev
  libzip-dev libpugixml-dev libgumbo-dev qt6-pdf-dev qpdf clang libclang-rt-14-dev
  xvfb xauth imagemagick xz-utils
  fonts-dejavu-core
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
