# Common settings for the bench scripts (sourced, not run).
# Everything lives under one work dir: BENCH_DIR (default /tmp/layerctl-bench).
#   cache (kept between runs): src/ (rootfs sources), tars/, oci/ (built images), registry-data/, floor-cache/
#   scratch (removed at the end), under $SCR: lc-root/, pod-root/, pod-run/, pull/, floor/, trash/ (old stores)
#   results/: hyperfine JSON exports and summary.txt of the last run (copied to bench/out/)
# BENCH_FS: where the stores, pulls and floors are written (see reset.sh for why it matters here)
#   dir (default): SCR=$W, straight on the filesystem of $W (/tmp: ext4 without a journal here)
#   loop:          SCR=$W/scratch, a fresh ext4 (with a journal) in the image file $W/scratch.img, on
#                  a direct-io loop device: the same disk, isolated from other work's deletes

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # this bench/ directory
REPO=$(cd "$BENCH_SRC/.." && pwd)
export BENCH_DIR=${BENCH_DIR:-/tmp/layerctl-bench}
W=$BENCH_DIR
export BENCH_FS=${BENCH_FS:-dir}
case $BENCH_FS in
loop) SCR=$W/scratch ;;
dir) SCR=$W ;;
*) printf 'bench: BENCH_FS=%s: not loop or dir\n' "$BENCH_FS" >&2; exit 1 ;;
esac
TRASH=$SCR/trash
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export LC_ALL=C

# the images: registry name:tag -> layout dir under $W/oci
IMAGE_REFS="busybox:latest debian:bookworm debian-10layer:bookworm many:64"
layout_of() {
  case $1 in
  busybox:latest) echo busybox ;;
  debian:bookworm) echo debian ;;
  debian-10layer:bookworm) echo debian10 ;;
  many:64) echo many64 ;;
  *) echo "unknown image $1" >&2; return 1 ;;
  esac
}

# tool command lines (REG is set by run.sh once the registry is up)
LAYERCTL=${LAYERCTL:-$REPO/bin/layerctl}
LC="$LAYERCTL --root $SCR/lc-root"
# podman as root without systemd: private store and state, cgroupfs, file events.
PODMAN="podman --root $SCR/pod-root --runroot $SCR/pod-run --tmpdir $SCR/pod-run/libpod-tmp --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
