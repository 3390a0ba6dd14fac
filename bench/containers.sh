#!/bin/bash
# Container bench: layerctl create/mount/umount/rm/diff against podman, and mounts of deep images.
#
#   sudo bench/containers.sh                   full run (about 5 min on 2 cores, plus the image builds once)
#   sudo RUNS=3 bench/containers.sh            quick run
#
# Tables (median of RUNS timed runs after WARMUP warm-up runs, hyperfine -N, whole processes):
#   cycle      sh -c 'id=$(L create debian:bookworm) && L mount $id && L umount $id && L rm $id'
#              vs the same with podman create/mount/umount/rm           target: layerctl <= 0.2x podman
#   mount-600-first  `layerctl mount` of a fresh container of a 600-layer image: the first mount
#              flattens the lower layers (prepare: rm -f the container, gc, create it again)
#   mount      `layerctl mount` / `umount` of existing containers of 1-, 64-, 260- and 600-layer images
#              (testdata/mkimage.sh many N), and `podman mount` of the 64-layer image for reference
#              target: 260 layers < 15 ms; also printed: growth per layer (t260 - t1) / 259
#   diff       `layerctl diff` of debian containers with 0, 1 and 10,000 changes (files created
#              through the merged path): the cost must follow the change, not the rootfs
#
# Env: RUNS (10; CONTAINERS_RUNS overrides it), WARMUP (1), INTERLEAVE (1: one hyperfine round per run with the commands of a table
#      in rotated order, merged into one export; 0: plain hyperfine --runs RUNS --warmup WARMUP),
#      PODMAN_MOUNT=0 (skip the podman many:64 reference), BENCH_DIR (image cache, /tmp/layerctl-bench),
#      CTR_SCRATCH (stores and mounts, /tmp/layerctl-bench-containers; removed at the end),
#      LAYERCTL (binary, default bin/layerctl), BENCH_STRICT=1 (exit 3 when a target is missed).
# Output: the summary on stdout, saved with the hyperfine exports in bench/out/containers-DATE/ and
# bench/out/containers-latest.txt. Exit 0 ok, 1 a command failed (it is never timed), 3 missed (strict).
set -euo pipefail
. "$(dirname "$0")/containers_lib.sh"
ctr_init containers
PODMAN_MOUNT=${PODMAN_MOUNT:-1}
RUNS=${CONTAINERS_RUNS:-$RUNS}
LAYER_COUNTS="1 64 260 600"

ensure_tools hyperfine podman skopeo umoci
ensure_layerctl
ensure_debian

# many:N images (testdata/mkimage.sh), cached in $W/oci/mk-manyN; rebuilt when mkimage.sh or
# /bin/busybox change
MK=$REPO/testdata/mkimage.sh
mk_recipe=$(cat "$MK" /bin/busybox | sha256sum | cut -c1-16)
for n in $LAYER_COUNTS; do
  d=$W/oci/mk-many$n
  if [ -f "$d/index.json" ] && [ "$(cat "$d.stamp" 2>/dev/null)" = "$mk_recipe" ]; then continue; fi
  log "building many:$n with testdata/mkimage.sh (cached in $d)"
  t0=$(date +%s%N)
  mkdir -p "$W/oci"
  "$MK" many "$n" "$d" >&2 || die "testdata/mkimage.sh many $n $d failed"
  echo "$mk_recipe" > "$d.stamp"
  note "built many:$n in $(ms_since "$t0") ms"
done
snapshot debian
for n in $LAYER_COUNTS; do snapshot mk-many$n; done

note "machine: $(nproc) cores, load $(load) at start; kernel $(uname -r); scratch $CT on $(df -T /tmp | awk 'NR==2{print $2}')"
note "busiest processes at start: $(ps -eo pcpu=,comm= --sort=-pcpu | head -4 | awk '{printf "%s %s%%; ", $2, $1}')"
note "versions: $(hyperfine --version); podman $(podman --version | awk '{print $3}')"
note "runs: $RUNS (+$WARMUP warm-up), interleaved=$INTERLEAVE"

# ---------------------------------------------------------------- stores (untimed)
need "layerctl pull debian" $LCX pull -q "oci:$CT/img/debian:latest" debian:bookworm
note "layerctl pull debian:bookworm from oci:$W/oci/debian: $CHK_MS ms, $(tail -1 <<<"$CHK_OUT")"
for n in $LAYER_COUNTS; do
  need "layerctl pull many:$n" $LCX pull -q "oci:$CT/img/mk-many$n:latest" "many:$n"
  note "layerctl pull many:$n ($(layout_stats "$CT/img/mk-many$n" | awk '{print $1}') layers): $CHK_MS ms"
done
need "podman pull debian" $POD pull -q "oci:$CT/img/debian:latest"
pod_deb=$(tail -1 <<<"$CHK_OUT")
need "podman tag debian" $POD tag "$pod_deb" localhost/debian:bookworm
note "podman pull debian:bookworm from the same layout: image $pod_deb"

# ---------------------------------------------------------------- 1. create+mount+umount+rm
n_lc=$($LCX ps -a --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin) or []))')
n_pod=$($POD ps -aq | wc -l)
hf_add "layerctl create+mount+umount+rm" "" \
  "sh -c 'id=\$($LCX create debian:bookworm) && $LCX mount \$id >/dev/null && $LCX umount \$id && $LCX rm \$id'"
hf_add "podman create+mount+umount+rm" "" \
  "sh -c 'id=\$($POD create -q --network none localhost/debian:bookworm) && $POD mount \$id >/dev/null && $POD umount \$id && $POD rm \$id'"
hf_run cycle "$RUNS" "$WARMUP"
# every cycle must have removed its container
n=$($LCX ps -a --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin) or []))')
[ "$n" = "$n_lc" ] || fail "cycle: layerctl ps -a lists $n containers after the cycles, $n_lc before (rm left some)"
n=$($POD ps -aq | wc -l)
[ "$n" = "$n_pod" ] || fail "cycle: podman ps -a lists $n containers after the cycles, $n_pod before"
left=$(grep -cF " $CT/lc/" /proc/mounts || true)
[ "$left" = 0 ] || fail "cycle: $left layerctl mounts left after the cycles"

# ---------------------------------------------------------------- 2. first mount of a 600-layer image
need "layerctl create f600" $LCX create --name f600 many:600
flat_count() { { find "$CT/lc/flat" -mindepth 1 -maxdepth 1 2>/dev/null || true; } | wc -l; }
FIRST_PREP="sh -c '$LCX rm -f f600 >/dev/null && $LCX gc >/dev/null && $LCX create --name f600 many:600 >/dev/null'"
# does the prepare really undo the flattening? (store internals: $CT/lc/flat; a note, not a failure)
if sh -c "$FIRST_PREP" 2>/dev/null; then
  f0=$(flat_count)
  if chk "layerctl mount f600 (first)" $LCX mount f600; then
    note "600 layers: first mount (untimed check) $CHK_MS ms; flattened bases in the store: $f0 after rm+gc+create, $(flat_count) after the mount"
  fi
fi
hf_add "layerctl mount, 600 layers, first (flattens)" "$FIRST_PREP" "$LCX mount f600"
hf_run mount-600-first "$RUNS" "$WARMUP"
need "layerctl rm f600" $LCX rm -f f600

# ---------------------------------------------------------------- 3. mounts of existing containers
for n in $LAYER_COUNTS; do
  need "layerctl create m$n" $LCX create --name "m$n" "many:$n"
  need "layerctl mount m$n" $LCX mount "m$n"          # the first mount (flattens for 600): untimed
  [ -f "$CHK_OUT/data/l$(printf %03d "$n")/f1" ] && [ ! -e "$CHK_OUT/data/l$(printf %03d $((n - 1)))/f1" ] ||
    fail "mount m$n: the merged view is wrong: expected data/l$(printf %03d "$n")/f1 and no data/l$(printf %03d $((n - 1)))/f1 under $CHK_OUT"
  mp=$CHK_OUT
  grep -qF " $mp overlay " /proc/mounts || fail "mount m$n: $mp is not an overlay mount in /proc/mounts"
  need "layerctl umount m$n" $LCX umount "m$n"
  ! grep -qF " $mp " /proc/mounts || fail "umount m$n: $mp is still mounted after layerctl umount"
done
lb() { if [ "$1" = 1 ]; then echo "1 layer"; else echo "$1 layers"; fi; }
for n in $LAYER_COUNTS; do
  hf_add "layerctl mount, $(lb $n)" "$LCX umount -f m$n" "$LCX mount m$n"
done
for n in $LAYER_COUNTS; do
  hf_add "layerctl umount, $(lb $n)" "sh -c '$LCX umount -f m$n >/dev/null && $LCX mount m$n >/dev/null'" "$LCX umount m$n"
done
if [ "$PODMAN_MOUNT" = 1 ]; then
  need "podman pull many:64" $POD pull -q "oci:$CT/img/mk-many64:latest"
  need "podman create pm64" $POD create -q --name pm64 --network none "$(tail -1 <<<"$CHK_OUT")"
  hf_add "podman mount, 64 layers" "$POD umount -f pm64" "$POD mount pm64"
  hf_add "podman umount, 64 layers" "sh -c '$POD umount -f pm64 >/dev/null && $POD mount pm64 >/dev/null'" "$POD umount pm64"
fi
hf_run mount "$RUNS" "$WARMUP"
for n in $LAYER_COUNTS; do $LCX umount -f "m$n" >/dev/null 2>&1 || true; done
[ "$PODMAN_MOUNT" != 1 ] || $POD umount -f pm64 >/dev/null 2>&1 || true

# ---------------------------------------------------------------- 4. diff: 0, 1 and 10,000 changes
for c in d0 d1 d10k; do need "layerctl create $c" $LCX create --name $c debian:bookworm; done
need "layerctl mount d0" $LCX mount d0
need "layerctl mount d1" $LCX mount d1; m1=$CHK_OUT
echo "changed by the containers bench" >> "$m1/etc/motd"
need "layerctl mount d10k" $LCX mount d10k; m2=$CHK_OUT
t0=$(date +%s%N)
mkdir "$m2/srv/many" && (cd "$m2/srv/many" && seq -f 'f%05g' 1 10000 | xargs touch) ||
  { fail "diff: creating 10,000 files under $m2/srv/many failed"; report_and_exit; }
note "diff: 10,000 files created through the merged path of d10k in $(ms_since "$t0") ms"
# the outputs must be right before they are timed
for c in d0 d1 d10k; do
  if chk "layerctl diff $c" $LCX diff $c; then printf '%s\n' "$CHK_OUT" > "$R/diff-$c.txt"; fi
done
[ ! -f "$R/diff-d0.txt" ] || [ "$(grep -c . "$R/diff-d0.txt")" = 0 ] ||
  fail "diff d0 (no change): expected no lines, got $(grep -c . "$R/diff-d0.txt"): $(head -3 "$R/diff-d0.txt" | tr '\n' ' ')"
[ ! -f "$R/diff-d1.txt" ] || [ "$(cat "$R/diff-d1.txt")" = "$(printf 'C /etc\nC /etc/motd')" ] ||
  fail "diff d1 (/etc/motd appended): expected 'C /etc' 'C /etc/motd', got: $(head -5 "$R/diff-d1.txt" | tr '\n' ' ')"
if [ -f "$R/diff-d10k.txt" ]; then
  a=$(grep -c '^A /srv/many/f' "$R/diff-d10k.txt" || true); all=$(grep -c . "$R/diff-d10k.txt" || true)
  [ "$a" = 10000 ] && [ "$all" = 10002 ] ||
    fail "diff d10k: expected 10,000 'A /srv/many/f*' lines (+ 'C /srv', 'A /srv/many'), got $a of $all lines"
fi
hf_add "layerctl diff, 0 changes" "" "$LCX diff d0"
hf_add "layerctl diff, 1 change" "" "$LCX diff d1"
hf_add "layerctl diff, 10,000 changes" "" "$LCX diff d10k"
hf_run diff "$RUNS" "$WARMUP"
for c in d0 d1 d10k; do chk "layerctl rm -f $c" $LCX rm -f $c >/dev/null || true; done

report_and_exit
