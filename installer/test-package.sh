#!/usr/bin/env bash
# The package test (ctest label "package"; docs/packaging.md): installs the .deb into a
# clean Debian 12 root made by debootstrap, with nothing else from this repository, and
# checks that it works and that purging it leaves nothing behind:
#   1. the .deb: --deb FILE, else cpack -G DEB in the build folder (all must be built);
#   2. a minimal bookworm root (debootstrap --variant=minbase), made once and kept as
#      BUILD/debroot-base, copied to a fresh BUILD/debroot for every run;
#   3. apt-get install ./memmamba-reader_*.deb inside it (dependencies from the mirror,
#      Depends only: no recommends), then as a fresh user: memmamba info, import and
#      search on the installed sample book, a short model run (bench), the reader's --help
#      and its window (offscreen) on the sample book;
#   4. apt-get purge: dpkg knows nothing of the package and none of its files is left.
# Exit status: 0 passed, 1 failed, 77 skipped (not root, no debootstrap, no mirror, no
# mount/chroot). Usage: installer/test-package.sh [--build-dir DIR] [--deb FILE] [--keep]
# Environment: MEMMAMBA_DEB_MIRROR (default: the mirror of this machine's apt sources,
# else http://deb.debian.org/debian).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$here/build-pkg"
deb=""
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$(cd "$2" && pwd)"; shift 2 ;;
    --deb) deb="$(readlink -f "$2")"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: installer/test-package.sh [--build-dir DIR] [--deb FILE] [--keep]" >&2; exit 2 ;;
  esac
done

start=$SECONDS
phase_start=$SECONDS
phase() { echo "== [$((SECONDS - start)) s] $*"; phase_start=$SECONDS; }
done_phase() { echo "   ($((SECONDS - phase_start)) s)"; }
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

# ---- can it run here? ------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, mount)"
mirror="${MEMMAMBA_DEB_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -rhoE 'https?://[^ ]*debian\.org/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | grep -v security | head -1)
  mirror="${mirror:-http://deb.debian.org/debian}"
fi
mirror="${mirror%/}"
host=$(echo "$mirror" | sed -E 's#^https?://([^/:]+).*#\1#')
if ! timeout 15 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null; then
  skip "the Debian mirror $mirror cannot be reached"
fi
if ! command -v debootstrap >/dev/null; then
  echo "test-package: installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null 2>&1 \
    || skip "debootstrap is missing and could not be installed"
fi

# ---- 1. the package --------------------------------------------------------------------
if [ -z "$deb" ]; then
  phase "cpack -G DEB in $build_dir"
  [ -f "$build_dir/CPackConfig.cmake" ] || fail "$build_dir is not a configured build folder"
  rm -f "$build_dir"/packages/*.deb
  (cd "$build_dir" && cpack -G DEB) > "$build_dir/cpack.log" 2>&1 || { tail -30 "$build_dir/cpack.log"; fail "cpack failed"; }
  debs=("$build_dir"/packages/*.deb)
  deb="${debs[0]}"
  done_phase
fi
[ -f "$deb" ] || fail "no .deb (looked for $deb)"
pkg=$(dpkg-deb -f "$deb" Package)
echo "package: $deb ($(du -h "$deb" | cut -f1)), $pkg $(dpkg-deb -f "$deb" Version)"
echo "Depends: $(dpkg-deb -f "$deb" Depends)"

# ---- 2. a clean Debian 12 root ---------------------------------------------------------
base="$build_dir/debroot-base"
root="$build_dir/debroot"
archives="$build_dir/debroot-archives"   # downloaded .debs, kept between runs
mounted=()
cleanup() {
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null; done
  mounted=()
  # Never delete through a mount that failed to come off (the archives bind mount is on
  # the same file system, so --one-file-system alone would not stop rm there).
  if grep -qF " $root/" /proc/mounts; then echo "test-package: $root still has mounts, left in place"; return; fi
  if [ "$keep" -eq 0 ] && [ -d "$root" ]; then rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ ! -f "$base/.memmamba-complete" ]; then
  phase "debootstrap --variant=minbase bookworm $base ($mirror)"
  rm -rf --one-file-system "$base"
  debootstrap --variant=minbase bookworm "$base" "$mirror" > "$build_dir/debootstrap.log" 2>&1 \
    || { tail -20 "$build_dir/debootstrap.log"; umount "$base/proc" 2>/dev/null; skip "debootstrap failed (log: $build_dir/debootstrap.log)"; }
  umount "$base/proc" 2>/dev/null || true
  touch "$base/.memmamba-complete"
  done_phase
fi
phase "fresh root $root (copy of the cached base)"
cleanup
cp -a "$base" "$root" || fail "cannot copy $base"
mkdir -p "$archives/partial"
# A Debian 12 machine's sources: the release, its updates and security.
cat > "$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d" && chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc" || skip "cannot mount /proc in the root"
mounted+=("$root/proc")
mount --bind "$archives" "$root/var/cache/apt/archives" && mounted+=("$root/var/cache/apt/archives")
cp "$deb" "$root/tmp/" || fail "cannot copy the .deb"
debname=$(basename "$deb")
done_phase

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
                   DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 3. install and use it ---------------------------------------------------------------
phase "apt-get install ./$debname (dependencies from $mirror)"
in_root apt-get update -qq > "$build_dir/package-apt.log" 2>&1 || { tail -20 "$build_dir/package-apt.log"; fail "apt-get update failed in the root"; }
in_root apt-get install -y --no-install-recommends "/tmp/$debname" >> "$build_dir/package-apt.log" 2>&1 \
  || { tail -30 "$build_dir/package-apt.log"; fail "apt-get install of the package failed"; }
grep -E "^[0-9]+ upgraded, [0-9]+ newly installed" "$build_dir/package-apt.log" | tail -1
in_root dpkg -L "$pkg" > "$build_dir/package-files.txt" || fail "dpkg -L $pkg after install"
done_phase

phase "checks in the root, as a fresh user with an empty home"
in_root useradd --create-home --home-dir /home/reader --shell /bin/bash reader || fail "useradd"
reader_ids="$(in_root id -u reader):$(in_root id -g reader)"
as_reader() { chroot --userspec="$reader_ids" "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/reader \
                     LANG=C.UTF-8 OMP_WAIT_POLICY=PASSIVE "$@"; }
ok=1
check() {  # check NAME COMMAND...: runs it, keeps its output in $out
  local name="$1"; shift
  if out=$("$@" 2>"$root/tmp/stderr"); then echo "  ok   $name"; else
    echo "  FAIL $name (exit $?)"; echo "$out" | tail -5; tail -5 "$root/tmp/stderr"; ok=0; fi
}
expect() {  # expect NAME EXTENDED-REGEX: the output of the last check matches
  if echo "$out" | grep -qE -- "$2"; then echo "  ok   $1"; else echo "  FAIL $1: no match for /$2/ in:"; echo "$out" | head -c 1500; echo; ok=0; fi
}
# shellcheck disable=SC2016  # expanded by the shell in the root
missing=$(in_root sh -c 'for f in /usr/bin/memmamba* /usr/lib/memmamba/*.so; do ldd "$f" | grep "not found" | sed "s#^#$f: #"; done')
if [ -z "$missing" ]; then echo "  ok   every library of the programs and the module resolves"; else echo "  FAIL unresolved libraries:"; echo "$missing"; ok=0; fi

check "memmamba --version" as_reader memmamba --version
expect "version" '^memmamba [0-9]+\.[0-9]+'
check "memmamba info --json" as_reader memmamba info --json
echo "$out" > "$build_dir/package-info.json"
expect "info: resources in /usr/share/memmamba" '"resources": *"/usr/share/memmamba"'
expect "info: the tokenizer loaded and matches the model" '"matches_model": *true'
expect "info: the shipped model found" '/usr/share/memmamba/models/default'
expect "info: the default library in the user's home" '/home/reader/\.local/share/MemMamba/MemMamba Reader/library\.sqlite3'
check "memmamba import (sample book)" as_reader memmamba import /usr/share/memmamba/books/shirley.txt --collection Brontë --json
expect "import: one document with chapters" '"chapters": *[1-9][0-9]*'
expect "import: passages" '"passages": *[1-9][0-9]*'
check "memmamba search" as_reader memmamba search "an abundant shower of curates" --json --limit 3
expect "search: the hit in Shirley" 'abundant shower of curates'
check "memmamba list" as_reader memmamba list
expect "list: the book" 'Shirley'
if [ -f "$root/home/reader/.local/share/MemMamba/MemMamba Reader/library.sqlite3" ]; then
  echo "  ok   the library was created in the fresh home"
else echo "  FAIL no library in /home/reader"; ok=0; fi
check "memmamba bench (the model on LibTorch, tokenizer module)" as_reader memmamba bench ingest --tokens 256 --device cpu --json
expect "bench: tokens/s" 'tokens_per_s|tokens/s'
check "memmamba-reader --help" as_reader env QT_QPA_PLATFORM=offscreen memmamba-reader --help
expect "reader: its options" '--db'
# The window itself, offscreen: it imports and opens the book, loads the shipped model,
# and is still running when timeout ends it (exit 124).
as_reader env QT_QPA_PLATFORM=offscreen timeout 20 memmamba-reader /usr/share/memmamba/books/shirley.txt \
  > "$root/tmp/reader.out" 2>&1
rc=$?
cp "$root/tmp/reader.out" "$build_dir/package-reader.log" 2>/dev/null
if [ "$rc" -eq 124 ]; then echo "  ok   memmamba-reader ran 20 s offscreen on the sample book"
else echo "  FAIL memmamba-reader exited with $rc:"; tail -10 "$root/tmp/reader.out"; ok=0; fi
for f in /usr/share/applications/memmamba-reader.desktop /usr/share/metainfo/io.github.memmamba.Reader.metainfo.xml \
         /usr/share/icons/hicolor/scalable/apps/memmamba-reader.svg /usr/share/icons/hicolor/48x48/apps/memmamba-reader.png \
         /usr/share/man/man1/memmamba.1.gz /usr/share/man/man1/memmamba-reader.1.gz /usr/lib/memmamba/libmemmamba_spm.so \
         /usr/share/memmamba/tokenizer/memmamba.model /usr/share/memmamba/models/default/model.safetensors; do
  [ -f "$root$f" ] || { echo "  FAIL missing $f"; ok=0; }
done
# The desktop entry and the AppStream file as installed, with this machine's validators
# (desktop-file-utils, appstream) where it has them.
if command -v desktop-file-validate >/dev/null; then
  check "desktop-file-validate" desktop-file-validate "$root/usr/share/applications/memmamba-reader.desktop"
else echo "  --   desktop-file-validate not installed here"; fi
if command -v appstreamcli >/dev/null; then
  check "appstreamcli validate" appstreamcli validate --no-net "$root/usr/share/metainfo/io.github.memmamba.Reader.metainfo.xml"
else echo "  --   appstreamcli not installed here"; fi
done_phase
[ "$ok" -eq 1 ] || fail "the installed package does not work (see above)"

# ---- 4. purge ------------------------------------------------------------------------------
phase "apt-get purge $pkg"
in_root apt-get purge -y "$pkg" >> "$build_dir/package-apt.log" 2>&1 || { tail -20 "$build_dir/package-apt.log"; fail "apt-get purge failed"; }
if in_root dpkg -L "$pkg" >/dev/null 2>&1; then fail "dpkg still lists $pkg after purge"; fi
left=""
while read -r f; do
  case "$f" in /.|/usr|/usr/bin|/usr/lib|/usr/share|/usr/share/*/|/usr/share/applications|/usr/share/doc|/usr/share/icons*|/usr/share/man*|/usr/share/metainfo) continue ;; esac
  if [ -e "$root$f" ] && [ ! -d "$root$f" ]; then left+="$f"$'\n'; fi
done < "$build_dir/package-files.txt"
for d in /usr/share/memmamba /usr/lib/memmamba "/usr/share/doc/$pkg"; do [ -e "$root$d" ] && left+="$d"$'\n'; done
[ -z "$left" ] || { echo "left behind:"; echo "$left"; fail "files of the package remain after purge"; }
echo "  ok   dpkg -L $pkg: not installed; none of its $(grep -c . "$build_dir/package-files.txt") paths left"
done_phase

echo "PASS: package test in $((SECONDS - start)) s"
