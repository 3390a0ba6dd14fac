#!/bin/bash
# reset.sh lc|podman|oci|floor [REF [TAG]] : give one tool an empty store (the --prepare of a cold run),
# then optionally pull REF (a registry ref HOST:PORT/NAME:TAG) into it untimed (oci: as tag TAG,
# default base), and sync. Exits non-zero when that pull fails.
#
# The old store is not deleted but renamed into $SCR/trash (run.sh deletes it after the bench).
# /tmp is ext4 without a journal here. On such a filesystem ext4's inode allocator skips every inode
# deleted in the last 60 s (recently_deleted()), so a cold run right after an `rm -rf` of a
# 6,666-file tree creates its files 2-8x slower (tar -x of the debian layer: 0.6 s vs 1.2-5.3 s).
# Deletes made by other work on the machine have the same effect. BENCH_FS=loop puts $SCR on its own
# journaled ext4 to avoid that. BENCH_DELETE=1 deletes instead (for a disk short of space).
set -eu
. "$(dirname "$0")/env.sh"
tool=${1:-} ref=${2:-} otag=${3:-base}
# umount_under DIR: unmount DIR and everything mounted below it, deepest first
umount_under() { findmnt -rno TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r | xargs -r umount -l; }
# retire DIR...: unmount and move out of the way (or delete, with BENCH_DELETE=1)
retire() {
  local d
  for d in "$@"; do
    [ -e "$d" ] || continue
    umount_under "$d"
    if [ "${BENCH_DELETE:-0}" = 1 ]; then
      rm -rf "$d"
    else
      mkdir -p "$TRASH"; mv "$d" "$(mktemp -d "$TRASH/$(basename "$d").XXXXXX")/"
    fi
  done
}
case $tool in
lc)
  retire "$SCR/lc-root"
  [ -z "$ref" ] || $LC pull --insecure -q "$ref" >/dev/null ;;
podman)
  retire "$SCR/pod-root" "$SCR/pod-run"
  [ -z "$ref" ] || $PODMAN pull -q --tls-verify=false "$ref" >/dev/null ;;
oci)
  retire "$SCR/pull"; mkdir -p "$SCR/pull"
  [ -z "$ref" ] || skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$SCR/pull/oci:$otag" ;;
floor)
  retire "$SCR/floor"; mkdir -p "$SCR/floor" ;;
*) die "usage: reset.sh lc|podman|oci|floor [REF [TAG]]" ;;
esac
sync
