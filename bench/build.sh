#!/bin/bash
# Build bench: a 10-step Dockerfile (busybox base; RUN steps writing files; COPY of a 5,000-file
# context) built by `layerctl build`, `buildah bud --layers` (overlay storage, chroot isolation) and
# `docker build` (BuildKit, on a private dockerd 20.10 from Debian's docker.io: overlay2, cgroupfs, no
# bridge or iptables, as in ../shared/peers), each on its own store, cold (--no-cache) and fully
# cached; and a Dockerfile that only COPYs the 5,000-file context. RUN steps use the host network in
# all three (layerctl's default, buildah's with chroot isolation, `--network host` for docker).
#
#   sudo bench/build.sh              full run
#   sudo RUNS=3 bench/build.sh       quick run
#
# Tables (median of RUNS after one warm-up, hyperfine -N, whole processes):
#   cold     layerctl build --no-cache | buildah bud --layers --no-cache | docker build --no-cache
#            target <= 0.5x buildah
#   cached   the same three after one build of each          target < 100 ms, <= 0.2x buildah
#   copy     FROM busybox + COPY of 5,000 files, --no-cache  target <= 0.5x buildah
# The targets are against buildah; the ratio to docker build is printed beside them. docker's times are
# its client's wall clock, which waits for the daemon's build, export and tag.
# Env: RUNS (5), BENCH_DIR (/tmp/layerctl-bench; the context and busybox layout are kept in
#      $BENCH_DIR/build), LAYERCTL (bin/layerctl), DOCKER_PEER=0 (leave docker out),
#      BENCH_STRICT=1 (exit 3 when a target is missed).
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
[ "$(id -u)" = 0 ] || die "run as root: builds run containers"
tools=(hyperfine buildah umoci jq)
[ "${DOCKER_PEER:-1}" = 1 ] && tools+=(dockerd)
bench/install.sh "${tools[@]}" || die "bench/install.sh ${tools[*]} failed"
for t in "${tools[@]}"; do command -v $t >/dev/null || die "$t not found (bench/install.sh)"; done
# dockerd's own client: a newer docker CLI on PATH wants the buildx plugin for BuildKit builds.
DOCKER_CLI=/usr/bin/docker
docker_peer=${DOCKER_PEER:-1}
if [ "$docker_peer" = 1 ] && { ! command -v dockerd >/dev/null || [ ! -x $DOCKER_CLI ]; }; then
  die "dockerd or $DOCKER_CLI not found (bench/install.sh dockerd; DOCKER_PEER=0 leaves docker out)"
fi
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
DK=$S/dk
DOCKER="$DOCKER_CLI -H unix://$DK/docker.sock"
dockerd_pid=
cgroups_before=$(ls -d /sys/fs/cgroup/*/docker 2>/dev/null || true)
stop_dockerd() { # by the PID we started; then the cgroups it made, when they were not there before
  [ -n "$dockerd_pid" ] || return 0
  kill "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$dockerd_pid" 2>/dev/null || true
  dockerd_pid=
  umount -R "$DK/root/overlay2" 2>/dev/null || true
  if [ -z "$cgroups_before" ]; then
    for d in /sys/fs/cgroup/*/docker; do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null; done
  fi
  return 0
}
cleanup() {
  stop_dockerd
  $BAH rm --all >/dev/null 2>&1 || true
  $BAH unshare true >/dev/null 2>&1 || true
  umount -R "$S/bah-root/overlay" 2>/dev/null || true
  rm -rf "$S"
}
trap cleanup EXIT
$LC pull -q "oci:$W/busybox:latest" busybox:latest >/dev/null
id=$($BAH pull -q "oci:$W/busybox:latest")
$BAH tag "$id" busybox:latest
if [ "$docker_peer" = 1 ]; then
  log "starting a private dockerd in $DK"
  mkdir -p "$DK"
  dockerd --data-root "$DK/root" --exec-root "$DK/exec" --pidfile "$DK/docker.pid" --storage-driver overlay2 \
    --iptables=false --ip6tables=false --bridge=none --host "unix://$DK/docker.sock" >"$DK/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 150); do $DOCKER version >/dev/null 2>&1 && break; sleep 0.2; done
  $DOCKER version >/dev/null 2>&1 || die "dockerd did not start: $(tail -3 "$DK/dockerd.log")"
  # the same busybox, through layerctl's docker-archive writer
  $LC push busybox:latest "docker-archive:$DK/busybox.tar:busybox:latest" >/dev/null
  $DOCKER load -q -i "$DK/busybox.tar" >/dev/null
fi

LCB="$LC build -q -t bench"
BAHB="$BAH bud -q --layers --isolation chroot -t bench"
DKB="env DOCKER_BUILDKIT=1 $DOCKER build -q --network host -t bench"
table() { # NAME ARGS: hyperfine the three builders with the same build arguments, export JSON
  local name=$1 args=$2 peers=()
  [ "$docker_peer" = 1 ] && peers=(-n docker "$DKB $args")
  hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$S/$name.json" \
    -n layerctl "$LCB $args" -n buildah "$BAHB $args" "${peers[@]}" >&2
}
log "cold: --no-cache"
table cold "--no-cache $CTX"
log "cached: after one build of each"
$LCB "$CTX" >/dev/null
$BAHB "$CTX" >/dev/null
[ "$docker_peer" = 1 ] && $DKB "$CTX" >/dev/null
table cached "$CTX"
log "copy: COPY of 5,000 files, --no-cache"
table copy "--no-cache -f $CTX/Dockerfile.copy $CTX"
stop_dockerd

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
  if [ "$docker_peer" = 1 ]; then
    d=$(median "$1" docker)
    printf '%-7s layerctl %8.1f ms   docker  %8.1f ms   ratio %s\n' "$1" "$(echo "$l" | awk '{print $1*1000}')" \
      "$(echo "$d" | awk '{print $1*1000}')" "$(echo "$l $d" | awk '{printf "%.3f", $1/$2}')"
  fi
}
{
  echo "build bench, $(date -u +%FT%TZ), $RUNS runs each (medians), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  check cold 0.5
  check cached 0.2 100
  check copy 0.5
  if [ "$docker_peer" = 1 ]; then
    echo "docker build: BuildKit on dockerd $($DOCKER_CLI --version | awk '{print $3}' | tr -d ,)"
  fi
} | tee "$OUT/build-latest.txt"
[ "${BENCH_STRICT:-0}" = 1 ] && [ $miss = 1 ] && exit 3
exit 0
