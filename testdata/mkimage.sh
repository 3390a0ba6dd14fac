#!/bin/bash
# Build small, deterministic OCI image layouts for tests and the demo, with umoci.
#
#   mkimage.sh busybox OUTDIR    1 layer: static busybox, applet symlinks, /etc/passwd, /etc/group,
#                                /tmp (1777), /root (700); Cmd ["/bin/sh"]
#   mkimage.sh many N OUTDIR     N layers: layer 1 = the busybox rootfs + /data/l001/f1..f4;
#                                layer k adds /data/lKKK/f1..f4 and whites out /data/l(k-1)/f1
#   mkimage.sh derived OUTDIR    3 layers: 1 = the busybox layer (same digests);
#                                2 adds /etc/motd, /opt/app/{one,two}, /opt/app/sub/old;
#                                3 has /opt/app/.wh.one and an opaque /opt/app/sub with a new child
#                                `new`, so the merged /opt/app is {two, sub/new}
#
# Every layout is tagged `latest`. The same inputs (and the same /bin/busybox) give the same
# digests: tars have sorted names, mtimes clamped to SOURCE_DATE_EPOCH, owner 0:0 and no
# atime/ctime, and all config/history timestamps are SOURCE_DATE_EPOCH.
# OUTDIR is replaced as a whole; it must be absent, empty or an OCI layout.
set -euo pipefail

usage() { echo "usage: $0 busybox OUTDIR | many N OUTDIR | derived OUTDIR" >&2; exit 2; }
die() { echo "mkimage.sh: $*" >&2; exit 1; }

kind=${1:-}; shift || true
case "$kind" in
busybox | derived) [ $# -eq 1 ] || usage ;;
many) [ $# -eq 2 ] && [[ $1 =~ ^[1-9][0-9]*$ ]] || usage; N=$1; shift ;;
*) usage ;;
esac
OUT=$(realpath -m "$1") # absolute: mktar changes directory

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
CREATED=$(date -u -d @"$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
BUSYBOX=${BUSYBOX:-/bin/busybox}
umask 022 # modes in the tars must not depend on the caller's umask

command -v umoci >/dev/null || die "umoci not found (apt-get install umoci)"
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (apt-get install busybox-static)"
# A dynamically linked busybox (Debian's `busybox` package) would not run inside the image.
! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is dynamically linked (apt-get install busybox-static)"
if [ -e "$OUT" ] && [ ! -f "$OUT/oci-layout" ] && [ -n "$(ls -A "$OUT")" ]; then
  die "$OUT exists and is not an OCI layout; refusing to replace it"
fi

case $(uname -m) in
x86_64) ARCH=amd64 ;; aarch64) ARCH=arm64 ;; i?86) ARCH=386 ;; armv7l) ARCH=arm ;; *) ARCH=$(uname -m) ;;
esac

# Work next to OUTDIR so that the finished layout is published by a rename.
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d "$(dirname "$OUT")/.mkimage.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# mktar DIR OUT.tar: a deterministic uncompressed tar of DIR's contents (without ./ itself).
mktar() {
  (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    tar --no-recursion -T - --numeric-owner --owner=0 --group=0 \
      --mtime=@"$SOURCE_DATE_EPOCH" --clamp-mtime --format=posix \
      --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$2")
}

# busybox_rootfs DIR: the minimal busybox root filesystem.
busybox_rootfs() {
  local r=$1 a
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var,dev,proc,sys}
  chmod 1777 "$r/tmp"
  chmod 700 "$r/root"
  install -m 0755 "$BUSYBOX" "$r/bin/busybox"
  for a in $("$BUSYBOX" --list-full); do
    [ -e "$r/$a" ] || [ -L "$r/$a" ] || ln -s /bin/busybox "$r/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
}

# build_image LAYER.tar...: a new layout at $WORK/layout:latest with these layers, base first.
build_image() {
  local l=$WORK/layout t
  umoci init --layout "$l"
  umoci new --image "$l:latest"
  for t in "$@"; do
    umoci raw add-layer --image "$l:latest" --history.created "$CREATED" \
      --history.created_by "add ${t##*/}" "$t"
  done
  umoci config --image "$l:latest" --no-history --created "$CREATED" --os linux --architecture "$ARCH" \
    --config.cmd /bin/sh --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  umoci gc --layout "$l"
}

# file PATH TEXT: write TEXT and a newline to PATH, creating its parents.
file() { mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1"; }

case "$kind" in
busybox)
  busybox_rootfs "$WORK/busybox"
  mktar "$WORK/busybox" "$WORK/busybox.tar"
  build_image "$WORK/busybox.tar"
  ;;
many)
  # Names by printf -v and one mkdir per layer: forks dominate the time of a 200-layer image.
  tars=()
  for ((k = 1; k <= N; k++)); do
    printf -v L '%s/l%03d' "$WORK" "$k"
    printf -v d '%s/data/l%03d' "$L" "$k"
    printf -v p '%s/data/l%03d' "$L" $((k - 1))
    if [ "$k" = 1 ]; then busybox_rootfs "$L"; mkdir -p "$d"; else mkdir -p "$d" "$p"; fi
    for f in 1 2 3 4; do
      printf 'layer %d file %d\n%0200d\n' "$k" "$f" "$((k * 10 + f))" >"$d/f$f"
    done
    [ "$k" = 1 ] || : >"$p/.wh.f1"
    mktar "$L" "$L.tar"
    tars+=("$L.tar")
  done
  build_image "${tars[@]}"
  ;;
derived)
  busybox_rootfs "$WORK/busybox"
  # Layer 2: /etc keeps the base's mode, so a merged view does not change it.
  mkdir -p "$WORK/l2/etc"
  file "$WORK/l2/etc/motd" "welcome to the derived image"
  file "$WORK/l2/opt/app/one" "one"
  file "$WORK/l2/opt/app/two" "two"
  file "$WORK/l2/opt/app/sub/old" "old"
  # Layer 3: delete one file, and hide all of sub's lower children but add a new one.
  mkdir -p "$WORK/l3/opt/app/sub"
  : >"$WORK/l3/opt/app/.wh.one"
  : >"$WORK/l3/opt/app/sub/.wh..wh..opq"
  file "$WORK/l3/opt/app/sub/new" "new"
  for l in busybox l2 l3; do mktar "$WORK/$l" "$WORK/$l.tar"; done
  build_image "$WORK/busybox.tar" "$WORK/l2.tar" "$WORK/l3.tar"
  ;;
esac

rm -rf "$OUT"
mv "$WORK/layout" "$OUT"
