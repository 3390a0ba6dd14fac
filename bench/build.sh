#!/bin/bash
# Build bench: a 10-step Dockerfile (busybox base; RUN steps writing files; COPY of a 5,000-file
# context) built by `layerctl build` and `buildah bud --layers` (overlay storage, chroot isolation,
# each on its own store), cold (--no-cache) and fully cached; and a Dockerfile that only COPYs the
# 5,000-file context. docker build needs dockerd, which cannot run here: it is not timed.
#
#   sudo bench/build.sh              full run
#   sudo RUNS=3 bench/build.sh       quick run
#
# Tables (median of RUNS after one warm-up, hyperfine -N, whole processes):
#   cold     layerctl build --no-cache | buildah bud --layers --no-cache     target <= 0.5x buildah
#   cached   layerctl build | buildah bud --layers (both after one build)    target < 100 ms, <= 0.2x buildah
#   copy     FROM busybox + COPY of 5,000 files, --no-cache                  target <= 0.5x buildah
# Env: RUNS (5), BENCH_DIR (/tmp/layerctl-bench; the context and busybox layout are kept in
#      $BENCH_DIR/build), LAYERCTL (bin/layerctl), BENCH_STRICT=1 (exit 3 when a target is missed).
# Output: the summary on stdout, saved with the hyperfine exports in bench/out/build-latest.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
RUNS=${RUNS:-5}
W=${BENCH_DIR:-/tmp/layerctl-bench}/build
LAYERCTL=${LAYERCTL:-$REPO/bin/layerctl}
OUT=$REPO/bench/out
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000} LC_ALL=C

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
log() { printf '== %s\n' "$*" >&2; }
for t in hyperfine buildah umoci jq; do command -v $t >/dev/null || die "$t not found (bench/install.sh)"; done
[ "$(id -u)" = 0 ] || die "run as root: builds run containers"
[ -x "$LAYERCTL" ] || die "$LAYERCTL not built (make build)"

# The inputs, kept between runs: the busybox layout and the 5,000-file context.
mkdir -p "$W" "$OUT"
[ -f "$W/busybox/index.json" ] || "$REPO/testdata/mkimage.sh" busybox "$W/busybox" >/dev/null
CTX=$W/context
if [ ! -f "$CTX/.done" ]; then
  log "writing the 5,000-file context in $CTX"
  rm -rf "$CTX"
  for d in $(seq -w 0 49); do
    mkdir -p "$CTX/files/d$d"
    for f in $(seq -w 0 99); do printf 'file %s/%s\n' "$d" "$f" >"$CTX/files/d$d/f$f"; done
  done
  cat >"$CTX/Dockerfile" <<'EOF'
FROM busybox
ENV APP=/app
WORKDIR /app
RUN echo one > /app/one
RUN mkdir -p /app/gen && for i in $(seq 1 100); do echo $i > /app/gen/f$i; done
COPY files /app/files
RUN echo three > /app/three
LABEL bench=build
RUN ls /app/files | wc -l > /app/count
CMD ["cat", "/app/count"]
EOF
  printf 'FROM busybox\nCOPY files /app/files\n' >"$CTX/Dockerfile.copy"
  touch "$CTX/.done"
fi

# Fresh stores for each run of the script, removed at the end.
S=$(mktemp -d "$W/stores.XXXXXX")
LC="$LAYERCTL --root $S/lc"
BAH="buildah --root $S/bah-root --runroot $S/bah-run --storage-driver overlay"
cleanup() {
  $BAH rm --all >/dev/null 2>&1 || true
  $BAH unshare true >/dev/null 2>&1 || true
  umount -R "$S/bah-root/overlay" 2>/dev/null || true
  rm -rf "$S"
}
trap cleanup EXIT
$LC pull -q "oci:$W/busybox:latest" busybox:latest >/dev/null
id=$($BAH pull -q "oci:$W/busybox:latest")
$BAH tag "$id" busybox:latest

LCB="$LC build -q -t bench"
BAHB="$BAH bud -q --layers --isolation chroot -t bench"
table() { # NAME CMD1 CMD2: hyperfine both, export JSON
  local name=$1
  shift
  hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$S/$name.json" \
    -n layerctl "$1" -n buildah "$2" >&2
}
log "cold: both, --no-cache"
table cold "$LCB --no-cache $CTX" "$BAHB --no-cache $CTX"
log "cached: both, after one build"
$LCB "$CTX" >/dev/null
$BAHB "$CTX" >/dev/null
table cached "$LCB $CTX" "$BAHB $CTX"
log "copy: COPY of 5,000 files, --no-cache"
table copy "$LCB --no-cache -f $CTX/Dockerfile.copy $CTX" "$BAHB --no-cache -f $CTX/Dockerfile.copy $CTX"

median() { jq -r ".results[] | select(.command==\"$2\") | .median" "$S/$1.json"; }
miss=0
check() { # NAME MAX_RATIO [MAX_MS]
  local l b ratio verdict=PASS
  l=$(median "$1" layerctl)
  b=$(median "$1" buildah)
  ratio=$(echo "$l $b" | awk '{printf "%.3f", $1/$2}')
  awk -v r="$ratio" -v m="$2" 'BEGIN{exit !(r > m)}' && verdict=MISS
  if [ -n "${3:-}" ] && awk -v l="$l" -v m="$3" 'BEGIN{exit !(l*1000 > m)}'; then verdict=MISS; fi
  [ $verdict = PASS ] || miss=1
  printf '%-7s layerctl %8.1f ms   buildah %8.1f ms   ratio %s (target <= %s%s)  %s\n' \
    "$1" "$(echo "$l" | awk '{print $1*1000}')" "$(echo "$b" | awk '{print $1*1000}')" "$ratio" "$2" \
    "${3:+, < $3 ms}" "$verdict"
}
{
  echo "build bench, $(date -u +%FT%TZ), $RUNS runs each (medians), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  check cold 0.5
  check cached 0.2 100
  check copy 0.5
  echo "docker build: not run (dockerd cannot run on this machine)"
} | tee "$OUT/build-latest.txt"
[ "${BENCH_STRICT:-0}" = 1 ] && [ $miss = 1 ] && exit 3
exit 0
