#!/bin/bash
# Build the bench images as OCI layouts (cached under $BENCH_DIR/oci) and push them to a registry.
#
#   images.sh build        build what is missing or out of date (default)
#   images.sh push REG     skopeo copy every layout to docker://REG/NAME:TAG (plain HTTP)
#
# Images (layer tarballs are deterministic: sorted names, numeric owners, mtimes clamped to
# SOURCE_DATE_EPOCH, no atime/ctime; layouts built with umoci init/new/raw add-layer/config/gc):
#   busybox:latest           1 layer: static /bin/busybox (busybox-static), applet symlinks, /etc/passwd, /etc/group
#   debian:bookworm          1 layer: debootstrap --variant=minbase bookworm from the host's apt mirror
#   debian-10layer:bookworm  the same base layer + 9 layers with modified files, whiteouts (incl. a hardlink),
#                            opaque dirs, an 8 MiB incompressible blob that a later layer deletes, 200 small files
#   many:64                  64 tiny layers; layer k adds /data/lKKK/f1..f4 and whites out /data/l(k-1)/f1
# busybox and many:64 are byte-reproducible; debian depends on what debootstrap fetches (its rootfs is cached).
set -euo pipefail
. "$(dirname "$0")/env.sh"
SRC=$W/src OCI=$W/oci TARS=$W/tars
CREATED=$(date -u -d @"$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
# a change to this script rebuilds the layouts (not the debootstrap rootfs)
RECIPE=$(sha256sum "$BENCH_SRC/images.sh" | cut -c1-16)

# mktar DIR OUT.tar : deterministic uncompressed tar of DIR's contents
mktar() {
  (cd "$1" && find . -mindepth 1 -printf '%P\n' | sort | \
    tar --no-recursion -T - --numeric-owner --mtime=@"$SOURCE_DATE_EPOCH" --clamp-mtime \
        --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$2")
}

# build_image LAYOUT CMD LAYER.tar... : fresh OCI layout (tag latest) with these layers, base first
build_image() {
  local layout=$1 cmd=$2 t; shift 2
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:latest"
  for t in "$@"; do
    umoci raw add-layer --image "$layout:latest" --history.created "$CREATED" \
      --history.created_by "add $(basename "$t")" "$t"
  done
  umoci config --image "$layout:latest" --no-history --created "$CREATED" --os linux --architecture amd64 \
    --config.cmd "$cmd" --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  umoci gc --layout "$layout"
}

# fresh NAME EXTRA : true if layout NAME was built by this recipe (EXTRA: inputs it depends on)
fresh() { [ -f "$OCI/$1.stamp" ] && [ "$(cat "$OCI/$1.stamp")" = "$RECIPE $2" ] && [ -f "$OCI/$1/index.json" ]; }
stamp() { echo "$RECIPE $2" > "$OCI/$1.stamp"; }

# mkparents LAYERDIR PATH BASE : create the ancestors of PATH in LAYERDIR with the modes/owners they have in BASE
mkparents() {
  local ld=$1 p=$2 base=$3 d acc="" parts
  IFS=/ read -ra parts <<<"${p#/}"
  unset 'parts[${#parts[@]}-1]'
  for d in "${parts[@]}"; do
    acc="$acc/$d"; mkdir -p "$ld$acc"
    if [ -e "$base$acc" ]; then chmod --reference="$base$acc" "$ld$acc"; chown --reference="$base$acc" "$ld$acc"; fi
  done
}

mirror() {
  local m=""
  [ -n "${MIRROR:-}" ] && { echo "$MIRROR"; return; }
  [ -f /etc/apt/sources.list.d/debian.sources ] &&
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -n "$m" ] || { [ -f /etc/apt/sources.list ] &&
    m=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^(https?|file|ftp):/) {print $i; exit}}' /etc/apt/sources.list); }
  [ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list (set MIRROR)"
  echo "$m"
}

build_busybox() {
  fresh busybox "" && return 0
  log "building busybox:latest"
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox is missing or not static (apt-get install busybox-static)"
  local R=$SRC/busybox-rootfs a
  rm -rf "$R"; mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var,dev,proc,sys}
  chmod 1777 "$R/tmp"; chmod 700 "$R/root"
  install -m 0755 /bin/busybox "$R/bin/busybox"
  for a in $(/bin/busybox --list-full); do [ "$a" = bin/busybox ] || [ -e "$R/$a" ] || ln -s /bin/busybox "$R/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$R/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
  mkdir -p "$TARS"; mktar "$R" "$TARS/busybox.tar"
  build_image "$OCI/busybox" /bin/sh "$TARS/busybox.tar"
  stamp busybox ""
}

build_many() {
  local N=64 k L d p f tars=()
  fresh many$N "$(cat "$OCI/busybox.stamp")" && return 0
  log "building many:$N"
  local T=$TARS/many$N; rm -rf "$T"; mkdir -p "$T"
  for k in $(seq 1 $N); do
    L=$T/l$(printf %03d "$k"); mkdir -p "$L"
    [ "$k" = 1 ] && cp -a "$SRC/busybox-rootfs/." "$L/"
    d=$L/data/l$(printf %03d "$k"); mkdir -p "$d"
    for f in 1 2 3 4; do printf 'layer %d file %d\n%0200d\n' "$k" "$f" "$((k * 10 + f))" > "$d/f$f"; done
    if [ "$k" -gt 1 ]; then p=$L/data/l$(printf %03d $((k - 1))); mkdir -p "$p"; : > "$p/.wh.f1"; fi
    mktar "$L" "$L.tar"; rm -rf "$L"; tars+=("$L.tar")
  done
  build_image "$OCI/many$N" /bin/sh "${tars[@]}"
  stamp many$N "$(cat "$OCI/busybox.stamp")"
}

debootstrap_rootfs() {
  local D=$SRC/debian-rootfs m
  [ -f "$D.done" ] && [ -x "$D/bin/sh" ] && return 0
  m=$(mirror)
  log "debootstrap --variant=minbase bookworm from $m (a few minutes; cached in $D)"
  rm -rf "$D" "$D.done"; mkdir -p "$D"
  if ! debootstrap --variant=minbase bookworm "$D" "$m" > "$SRC/debootstrap.log" 2>&1; then
    tail -20 "$SRC/debootstrap.log" >&2
    findmnt -rno TARGET | grep "^$D/" | sort -r | xargs -r umount -l
    die "debootstrap failed (log: $SRC/debootstrap.log)"
  fi
  rm -rf "$D"/var/cache/apt/archives/*.deb "$D"/var/lib/apt/lists/* "$D"/var/log/*
  date -u +%Y-%m-%dT%H:%M:%SZ > "$D.done"
}

build_debian() {
  debootstrap_rootfs
  local B=$SRC/debian-rootfs dep
  dep=$(cat "$B.done")
  fresh debian "$dep" && fresh debian10 "$dep" && return 0
  log "building debian:bookworm and debian-10layer:bookworm"
  local T=$TARS/debian k i p t; rm -rf "$T"; mkdir -p "$T"
  mktar "$B" "$T/l01.tar"
  L() { echo "$T/l$(printf %02d "$1")"; }
  put() { mkparents "$(L "$1")" "$2" "$B"; echo "$(L "$1")$2"; }                 # put K PATH: parents ready, print target
  wh() { local t; t=$(put "$1" "$2"); : > "$(dirname "$t")/.wh.$(basename "$t")"; }   # wh K PATH: whiteout PATH
  opq() { local t; t=$(dirname "$(put "$1" "$2/x")"); mkdir -p "$t"                   # opq K DIR: opaque DIR
          chmod --reference="$B$2" "$t"; chown --reference="$B$2" "$t"; : > "$t/.wh..wh..opq"; }
  for k in $(seq 2 10); do mkdir -p "$(L $k)"; done
  # l02: modify /etc/passwd and /etc/group; add /opt/app/bin/run.sh
  cp -a "$B/etc/passwd" "$(put 2 /etc/passwd)"; echo 'app:x:1000:1000::/opt/app:/bin/sh' >> "$(L 2)/etc/passwd"
  cp -a "$B/etc/group" "$(put 2 /etc/group)"; echo 'app:x:1000:' >> "$(L 2)/etc/group"
  mkdir -p "$(L 2)/opt/app/bin"; printf '#!/bin/sh\necho hello from app\n' > "$(L 2)/opt/app/bin/run.sh"; chmod 755 "$(L 2)/opt/app/bin/run.sh"
  # l03: delete 20 /usr/share/doc/<pkg> dirs and /usr/bin/perl5.36.0 (a hardlink of /usr/bin/perl)
  for p in $(ls "$B/usr/share/doc" | sort | head -20); do wh 3 "/usr/share/doc/$p"; done
  [ -e "$B/usr/bin/perl5.36.0" ] && wh 3 /usr/bin/perl5.36.0
  # l04: opaque replacement of /usr/share/locale
  opq 4 /usr/share/locale; echo "# replaced" > "$(L 4)/usr/share/locale/locale.alias"
  # l05: 8 MiB incompressible blob (deterministic)
  mkdir -p "$(L 5)/opt"
  python3 -c 'import hashlib,sys; sys.stdout.buffer.write(hashlib.shake_256(b"layerctl-bench").digest(8<<20))' > "$(L 5)/opt/blob.bin"
  # l06: modify a 1.2 MB binary (bash with 16 bytes appended)
  cp -a "$B/usr/bin/bash" "$(put 6 /usr/bin/bash)"; printf '0123456789abcdef' >> "$(L 6)/usr/bin/bash"
  # l07: delete the blob of l05 and the whole /usr/share/zoneinfo
  mkdir -p "$(L 7)/opt"; : > "$(L 7)/opt/.wh.blob.bin"; wh 7 /usr/share/zoneinfo
  # l08: opaque replacement of /etc/apt/apt.conf.d
  opq 8 /etc/apt/apt.conf.d; echo 'APT::Install-Recommends "false";' > "$(L 8)/etc/apt/apt.conf.d/99local"
  # l09: 200 small files under /srv/data
  mkdir -p "$(L 9)/srv/data"; for i in $(seq -w 1 200); do printf 'file %s\n' "$i" > "$(L 9)/srv/data/f0$i"; done
  # l10: modify /etc/hostname and /etc/motd; delete 10 of the l09 files
  echo layered > "$(put 10 /etc/hostname)"; echo "debian10 test image" > "$(put 10 /etc/motd)"
  mkdir -p "$(L 10)/srv/data"; for i in $(seq -w 1 10); do : > "$(L 10)/srv/data/.wh.f00$i"; done
  for k in $(seq 2 10); do mktar "$(L $k)" "$(L $k).tar"; rm -rf "$(L $k)"; done
  build_image "$OCI/debian" /bin/bash "$T/l01.tar"
  stamp debian "$dep"
  build_image "$OCI/debian10" /bin/bash $(for k in $(seq 1 10); do L $k; done | sed 's/$/.tar/')
  stamp debian10 "$dep"
}

push_all() {
  local reg=$1 ref
  for ref in $IMAGE_REFS; do
    skopeo copy -q --dest-tls-verify=false "oci:$OCI/$(layout_of "$ref"):latest" "docker://$reg/$ref"
  done
}

case ${1:-build} in
build)
  [ "$(id -u)" = 0 ] || die "images.sh must run as root (debootstrap, file owners)"
  mkdir -p "$SRC" "$OCI" "$TARS"
  build_busybox; build_many; build_debian
  for ref in $IMAGE_REFS; do
    python3 - "$ref" "$OCI/$(layout_of "$ref")" >&2 <<'PY'
import json, os, sys
ref, d = sys.argv[1:]
idx = json.load(open(os.path.join(d, 'index.json')))
m = json.load(open(os.path.join(d, 'blobs/sha256', idx['manifests'][0]['digest'][7:])))
size = sum(l['size'] for l in m['layers']) / 1e6
print(f"   {ref:<24} {len(m['layers']):3d} layers {size:7.2f} MB compressed  manifest {idx['manifests'][0]['digest'][:19]}")
PY
  done ;;
push) [ -n "${2:-}" ] || die "usage: images.sh push HOST:PORT"; push_all "$2" ;;
*) die "usage: images.sh [build | push HOST:PORT]" ;;
esac
