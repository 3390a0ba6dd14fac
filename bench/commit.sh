#!/bin/bash
# Commit bench: one changed file (/etc/motd + one line) on debian:bookworm, committed by layerctl,
# buildah, podman and umoci (each on its own store in the scratch dir); and the same change on an image
# with 10x the files and bytes, where the commit must cost about the same.
#
#   sudo bench/commit.sh                  full run (about 5 min, plus building the 10x image once: ~2 min)
#   sudo RUNS=3 bench/commit.sh           quick run
#
# Setup (untimed): layerctl container created + mounted, the line appended through the merged path;
# podman container (podman mount, append, podman umount); buildah working container (buildah mount,
# append, buildah umount); umoci bundle (umoci unpack of the same layout, append). Every timed run
# commits again from that same state.
# Tables (median of RUNS after WARMUP warm-up runs, hyperfine -N, whole processes):
#   commit       layerctl commit CTR committed:lc | buildah commit | podman commit | umoci repack
#                targets: layerctl <= 0.5x buildah, <= 0.05x umoci repack
#   commit-big   layerctl commit on debian vs on debian-big (debian + one layer holding 9 copies of the
#                rootfs' /usr, /etc and /var: ~10x the entries and bytes; cached in $BENCH_DIR/oci)
#                target: big <= 1.2x small
#
# Env: RUNS (10; COMMIT_RUNS overrides it), WARMUP (1), INTERLEAVE (1: rounds of hyperfine --runs 1 in rotated order, merged;
#      0: plain hyperfine --runs RUNS --warmup WARMUP), BENCH_DIR (image cache, /tmp/layerctl-bench),
#      CTR_SCRATCH (stores, /tmp/layerctl-bench-commit; removed at the end), LAYERCTL (bin/layerctl),
#      BIG_COPIES (9), BENCH_STRICT=1 (exit 3 when a target is missed).
# Output: the summary on stdout, saved with the hyperfine exports in bench/out/commit-DATE/ and
# bench/out/commit-latest.txt. Exit 0 ok, 1 a command failed (it is never timed), 3 missed (strict).
set -euo pipefail
. "$(dirname "$0")/containers_lib.sh"
ctr_init commit
BIG_COPIES=${BIG_COPIES:-9}
RUNS=${COMMIT_RUNS:-$RUNS}
LINE="changed by the commit bench"

ensure_tools hyperfine podman buildah skopeo umoci
ensure_layerctl
ensure_debian

# mktar DIR OUT.tar: deterministic uncompressed tar of DIR's contents (as images.sh)
mktar() {
  (cd "$1" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    tar --no-recursion -T - --numeric-owner --mtime=@"$MK_EPOCH" --clamp-mtime \
      --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$2")
}

# debian-big: the debian layout + one layer with BIG_COPIES copies of /usr, /etc, /var under /opt/bulk
build_big() {
  local d=$W/oci/debian-big want tmp src i t0
  want="v1 copies=$BIG_COPIES $(cat "$W/oci/debian.stamp" 2>/dev/null) $(sha256sum < "$W/oci/debian/index.json" | cut -c1-16)"
  if [ -f "$d/index.json" ] && [ "$(cat "$d.stamp" 2>/dev/null)" = "$want" ]; then return 0; fi
  log "building debian-big (debian + $BIG_COPIES copies of /usr /etc /var in one layer; cached in $d)"
  t0=$(date +%s%N)
  tmp=$W/oci/.debian-big.$$; rm -rf "$tmp"; mkdir -p "$tmp/bulk/opt/bulk"
  CLEANUP_HOOK="rm -rf $tmp"
  src=$W/src/debian-rootfs
  if [ ! -x "$src/bin/sh" ]; then
    src=$tmp/rootfs; mkdir -p "$src"
    tar -xf "$W/tars/debian/l01.tar" -C "$src" || die "no debian rootfs: neither $W/src/debian-rootfs nor $W/tars/debian/l01.tar"
  fi
  for ((i = 1; i <= BIG_COPIES; i++)); do
    mkdir "$tmp/bulk/opt/bulk/c$i"
    cp -a "$src/usr" "$src/etc" "$src/var" "$tmp/bulk/opt/bulk/c$i/"
  done
  mktar "$tmp/bulk" "$tmp/bulk.tar"
  rm -rf "$tmp/bulk" "$tmp/rootfs"
  cp -a "$W/oci/debian" "$tmp/layout"
  umoci raw add-layer --image "$tmp/layout:latest" --history.created "$(date -u -d @$MK_EPOCH +%Y-%m-%dT%H:%M:%SZ)" \
    --history.created_by "add bulk.tar ($BIG_COPIES copies of /usr /etc /var)" "$tmp/bulk.tar" || die "umoci raw add-layer failed"
  umoci gc --layout "$tmp/layout" || die "umoci gc failed"
  rm -rf "$d"; mv "$tmp/layout" "$d"; echo "$want" > "$d.stamp"
  rm -rf "$tmp"; CLEANUP_HOOK=""
  note "built debian-big in $(ms_since "$t0") ms"
}
build_big
snapshot debian
snapshot debian-big

note "machine: $(nproc) cores, load $(load) at start; kernel $(uname -r); scratch $CT on $(df -T /tmp | awk 'NR==2{print $2}')"
note "busiest processes at start: $(ps -eo pcpu=,comm= --sort=-pcpu | head -4 | awk '{printf "%s %s%%; ", $2, $1}')"
note "versions: $(hyperfine --version); podman $(podman --version | awk '{print $3}'); buildah $(buildah --version | awk '{print $3}'); umoci $(umoci --version | awk '{print $3}')"
note "runs: $RUNS (+$WARMUP warm-up), interleaved=$INTERLEAVE"

# ---------------------------------------------------------------- setup (untimed)
need "layerctl pull debian" $LCX pull -q "oci:$CT/img/debian:latest" debian:bookworm
note "layerctl pull debian:bookworm: $CHK_MS ms"
need "layerctl pull debian-big" $LCX pull -q "oci:$CT/img/debian-big:latest" debian-big:bookworm
note "layerctl pull debian-big:bookworm ($(layout_stats "$CT/img/debian-big" | awk '{printf "%d layers, %.0f MB compressed", $1, $2/1e6}')): $CHK_MS ms"
need "layerctl create cmt" $LCX create --name cmt debian:bookworm
need "layerctl mount cmt" $LCX mount cmt; M_SMALL=$CHK_OUT
echo "$LINE" >> "$M_SMALL/etc/motd"
need "layerctl create cmt-big" $LCX create --name cmt-big debian-big:bookworm
need "layerctl mount cmt-big" $LCX mount cmt-big; M_BIG=$CHK_OUT
echo "$LINE" >> "$M_BIG/etc/motd"
# how much bigger is the big rootfs? (entries and bytes seen through the merged paths)
rootfs_size() { echo "$(find "$1" -xdev | wc -l) $(du -sb --apparent-size -x "$1" | cut -f1)"; }
read -r e1 b1 <<<"$(rootfs_size "$M_SMALL")"
read -r e2 b2 <<<"$(rootfs_size "$M_BIG")"
python3 -c "import sys; e1,b1,e2,b2=map(int,sys.argv[1:]); print(f'rootfs: debian {e1} entries, {b1/1e6:.0f} MB; debian-big {e2} entries, {b2/1e6:.0f} MB ({e2/e1:.1f}x the entries, {b2/b1:.1f}x the bytes); the change: one line appended to /etc/motd in both')" \
  "$e1" "$b1" "$e2" "$b2" > "$R/big-size"
note "$(cat "$R/big-size")"

need "podman pull debian" $POD pull -q "oci:$CT/img/debian:latest"
need "podman tag debian" $POD tag "$(tail -1 <<<"$CHK_OUT")" localhost/debian:bookworm
need "podman create cmt-src" $POD create -q --name cmt-src --network none localhost/debian:bookworm /bin/true
need "podman mount cmt-src" $POD mount cmt-src
echo "$LINE" >> "$CHK_OUT/etc/motd"
need "podman umount cmt-src" $POD umount cmt-src
need "buildah from" $BUILDAH from -q --pull-never localhost/debian:bookworm; BC=$(tail -1 <<<"$CHK_OUT")
need "buildah mount" $BUILDAH mount "$BC"
echo "$LINE" >> "$CHK_OUT/etc/motd"
need "buildah umount" $BUILDAH umount "$BC"
mkdir -p "$CT/umoci"; cp -a "$W/oci/debian" "$CT/umoci/oci"   # a real copy: umoci writes index.json
need "umoci unpack" umoci unpack --image "$CT/umoci/oci:latest" "$CT/umoci/bundle"
echo "$LINE" >> "$CT/umoci/bundle/rootfs/etc/motd"

# ---------------------------------------------------------------- 1. commit, four tools
hf_add "layerctl commit" "" "$LCX commit cmt committed:lc"
hf_add "buildah commit" "" "$BUILDAH commit -q $BC localhost/committed:buildah"
hf_add "podman commit" "" "$POD commit -q cmt-src localhost/committed:podman"
hf_add "umoci repack (whole-rootfs diff)" "" "umoci repack --image $CT/umoci/oci:committed $CT/umoci/bundle"
hf_run commit "$RUNS" "$WARMUP"

# ---------------------------------------------------------------- 2. the same change on the 10x image
hf_add "layerctl commit, debian (1x)" "" "$LCX commit cmt committed:lc"
hf_add "layerctl commit, debian-big (10x)" "" "$LCX commit cmt-big committed-big:lc"
hf_run commit-big "$RUNS" "$WARMUP"

# ---------------------------------------------------------------- the committed images must hold the change
check_committed() {  # check_committed IMAGE BASE_IMAGE
  local base_n n top sz m
  chk "layerctl inspect $2" $LCX inspect "$2" || return 0
  base_n=$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)["RootFS"]["Layers"]))' <<<"$CHK_OUT")
  chk "layerctl inspect $1" $LCX inspect "$1" || return 0
  read -r n top <<<"$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["RootFS"]["Layers"]), d["ChainIDs"][-1])' <<<"$CHK_OUT")"
  [ "$n" = $((base_n + 1)) ] || fail "$1: $n layers, expected $((base_n + 1)) ($2 + 1)"
  sz=$($LCX layers --format json | python3 -c 'import json,sys; t=sys.argv[1]; print(next((l["Size"] for l in json.load(sys.stdin) if l["ChainID"]==t), "?"))' "$top")
  chk "layerctl create (check $1)" $LCX create "$1" || return 0
  local id=$CHK_OUT
  if chk "layerctl mount (check $1)" $LCX mount "$id"; then
    m=$CHK_OUT
    [ "$(tail -1 "$m/etc/motd")" = "$LINE" ] || fail "$1: /etc/motd does not end with the committed line (last line: $(tail -1 "$m/etc/motd"))"
    note "$1: $n layers, the new layer holds $sz bytes; /etc/motd ends with the committed line"
  fi
  chk "layerctl rm -f (check $1)" $LCX rm -f "$id" >/dev/null || true
}
check_committed committed:lc debian:bookworm
check_committed committed-big:lc debian-big:bookworm
n=$($LCX images | grep -c . || true)
note "layerctl images after the bench: $((n - 1)) (each timed commit adds one; the older ones are left untagged)"

report_and_exit
