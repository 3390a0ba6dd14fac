#!/bin/bash
# Entry point of `make bench`: every benchmark, one after another (they would
# disturb each other side by side), each timing layerctl and its peers in one
# run and printing medians, ratios and PASS/MISS against the targets.
#   pull        bench/run.sh         layerctl pull vs skopeo+umoci vs podman, floors
#   containers  bench/containers.sh  create+mount cycle vs podman, mount of 1-600 layers, diff
#   commit      bench/commit.sh      layerctl commit vs buildah, podman, umoci repack; 10x image
#   start       bench/start.sh       run --rm /bin/true vs crun, runc, podman, floor; --cpus share
#   build       bench/build.sh       layerctl build vs buildah bud --layers and docker build: cold, cached, COPY
#   explore     bench/explore.sh     explore --format json and history of debian and its 10-layer variant
# BENCHES selects some ("pull start"); each script's own knobs (RUNS, ...) pass through.
set -uo pipefail
cd "$(dirname "$0")/.."
declare -A script=([pull]=run.sh [containers]=containers.sh [commit]=commit.sh [start]=start.sh [build]=build.sh [explore]=explore.sh)
# The one install step: every benchmark's tools, once (each script also checks its own when run alone).
bench/install.sh || exit 1
rc=0
for b in ${BENCHES:-pull containers commit start build explore}; do
  [ -n "${script[$b]:-}" ] || { echo "bench: unknown benchmark $b (pull containers commit start build explore)" >&2; exit 2; }
  echo "=== $b: bench/${script[$b]} ==="
  if ! "bench/${script[$b]}"; then
    r=$?
    echo "bench: $b failed (exit $r); going on with the others" >&2
    [ "$rc" -ne 0 ] || rc=$r
  fi
done
echo "=== summaries: bench/out/{pull,containers,commit,start,build,explore}-latest.txt ==="
exit "$rc"
