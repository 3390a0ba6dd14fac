#!/bin/bash
# Pull benchmark: layerctl vs skopeo+umoci vs podman, against a local registry. Entry point of `make bench`.
#
#   sudo make bench                                  full run (10-20 min on 2 cores)
#   sudo RUNS=2 WARM_RUNS=3 IMAGES="busybox:latest many:64" bench/run.sh     quick run
#
# Env: BENCH_DIR (work dir, default /tmp/layerctl-bench; built images are cached there),
#      RUNS (cold/partial/floor runs per command, 5), WARM_RUNS (10), WARMUP (warm-up rounds, 1),
#      IMAGES (subset of: busybox:latest debian:bookworm debian-10layer:bookworm many:64),
#      INTERLEAVE (1: one hyperfine round per run, commands interleaved; 0: plain hyperfine --runs),
#      LAYERCTL (binary, default bin/layerctl; built with `make build` when missing),
#      BENCH_NO_LAYERCTL=1 (peers only), BENCH_STRICT=1 (exit 3 when a target is missed),
#      BENCH_FS=dir|loop (stores straight in BENCH_DIR, the default, or on a fresh journaled ext4 image
#      on a loop device; see env.sh), BENCH_DELETE=1 (delete old stores between runs instead of keeping them
#      until the end; see reset.sh).
# Output: the summary table on stdout, saved with the hyperfine JSON exports under bench/out/.
# Exit status: 0 ok, 1 a command failed (a failing command is never timed), 3 target missed (strict).
# Everything the run starts (registry, stores, mounts) is stopped/removed on exit, also on Ctrl-C.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ "$(id -u)" = 0 ] || die "run as root (podman's store, debootstrap and layerctl's overlay mounts need it)"
for img in ${IMAGES:-$IMAGE_REFS}; do layout_of "$img" >/dev/null 2>&1 || die "IMAGES: unknown image $img (known: $IMAGE_REFS)"; done
mkdir -p "$W/results"
exec 9>"$W/.lock"
flock -n 9 || die "another bench is running on $W (lock $W/.lock)"

# --- cleanup on exit, Ctrl-C or kill: bench processes, registry, mounts, stores ---
REG_PID="" PULL_PID="" SAVED=""
STAMP=$(date +%Y%m%d-%H%M%S)
export BENCH_OUT_DIR=$BENCH_SRC/out/pull-$STAMP
SHM_LOCK_BEFORE=$([ -e /dev/shm/libpod_lock ] && echo 1 || true)
save_results() {   # copy the results of this run to bench/out/ (gitignored)
  [ -z "$SAVED" ] || return 0; SAVED=1
  local o=$BENCH_SRC/out
  [ -d "$W/results" ] && [ -n "$(ls -A "$W/results" 2>/dev/null)" ] || return 0
  mkdir -p "$BENCH_OUT_DIR"
  cp -r "$W/results/." "$BENCH_OUT_DIR/"
  if [ -f "$W/results/summary.txt" ]; then cp "$W/results/summary.txt" "$o/pull-latest.txt"; fi
  log "results saved in $BENCH_OUT_DIR/"
}
# scratch_up / scratch_down: the BENCH_FS=loop filesystem (see env.sh): a sparse image file with a
# fresh ext4, on a direct-io loop device, mounted at $W/scratch; removed whole at the end, so that
# nothing else on the machine sees its deletes
scratch_up() {
  [ "$BENCH_FS" = loop ] || return 0
  local dev
  truncate -s 48G "$W/scratch.img"
  mkfs.ext4 -q -F -m 0 -E lazy_itable_init=0,lazy_journal_init=0 -L lcbench "$W/scratch.img"
  dev=$(losetup --find --show --direct-io=on "$W/scratch.img")
  mkdir -p "$SCR"
  mount "$dev" "$SCR" || { losetup -d "$dev"; die "mount $dev (loop of $W/scratch.img) on $SCR failed"; }
}
scratch_down() {
  local dev
  [ -e "$W/scratch.img" ] || return 0
  findmnt -rno TARGET | awk -v d="$W/scratch" '$0 == d || index($0, d "/") == 1' | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
  for dev in $(losetup -nO NAME -j "$W/scratch.img"); do losetup -d "$dev"; done
  rm -f "$W/scratch.img"; rmdir "$W/scratch" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if [ -n "$PULL_PID" ] && kill -0 "$PULL_PID" 2>/dev/null; then
    # pull.sh runs in its own session (setsid): stop it and whatever it started (hyperfine, pulls)
    log "stopping the bench (process group $PULL_PID)"
    kill -TERM -- "-$PULL_PID" 2>/dev/null; sleep 1; kill -KILL -- "-$PULL_PID" 2>/dev/null
    wait "$PULL_PID" 2>/dev/null
  fi
  if [ -n "$REG_PID" ] && kill -0 "$REG_PID" 2>/dev/null; then
    kill "$REG_PID"; wait "$REG_PID" 2>/dev/null || true
  fi
  scratch_down
  findmnt -rno TARGET | awk -v p="$W/" 'index($0, p) == 1' | sort -r | xargs -r umount -l
  if [ "$BENCH_FS" = dir ]; then
    if [ -d "$TRASH" ]; then log "removing the old stores in $TRASH"; fi
    rm -rf "$SCR/lc-root" "$SCR/pod-root" "$SCR/pod-run" "$SCR/pull" "$SCR/floor" "$TRASH"
    sync -f "$W"   # written-out inode tables shorten ext4's recently-deleted window (see reset.sh) to 60 s
  fi
  rm -f "$W/registry.pid"
  # podman's lock file in /dev/shm (shared by every podman of root): remove it if this run made it
  [ -n "$SHM_LOCK_BEFORE" ] || rm -f /dev/shm/libpod_lock
  save_results
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# leftovers of a run that was killed hard (SIGKILL): mounts, loop device and stores under the work dir
scratch_down
findmnt -rno TARGET | awk -v p="$W/" 'index($0, p) == 1' | sort -r | xargs -r umount -l
rm -rf "$W/lc-root" "$W/pod-root" "$W/pod-run" "$W/pull" "$W/floor" "$W/trash" "$W/results"; mkdir -p "$W/results"
# the old stores of every cold run are kept until the end (see reset.sh): about 12 GB for a full run
avail=$(df -Pk "$W" | awk 'NR==2{print int($4 / 1048576)}')
if [ "${BENCH_DELETE:-0}" != 1 ] && [ "$avail" -lt 20 ]; then
  log "only $avail GB free on $W: old stores are deleted between runs (BENCH_DELETE=1), cold runs get slower"
  export BENCH_DELETE=1
fi

# --- tools: install the missing ones (Debian 12) ---
"$BENCH_SRC/install.sh" hyperfine skopeo umoci docker-registry podman debootstrap pigz zstd || die "install.sh failed"

# --- layerctl ---
LC_SKIP=""
if [ -n "${BENCH_NO_LAYERCTL:-}" ]; then
  LC_SKIP="BENCH_NO_LAYERCTL is set"
elif [ ! -x "$LAYERCTL" ]; then
  log "building $LAYERCTL (make build)"
  if ! (cd "$REPO" && make build) > "$W/results/build.log" 2>&1; then
    LC_SKIP="make build failed: $(grep -v '^\s*$' "$W/results/build.log" | tail -1)"
  elif [ ! -x "$LAYERCTL" ]; then
    LC_SKIP="make build did not produce $LAYERCTL"
  fi
fi
[ -z "$LC_SKIP" ] || log "layerctl column skipped: $LC_SKIP"
export LC_SKIP LAYERCTL

# --- images (cached in $W/oci) ---
"$BENCH_SRC/images.sh" build

# --- local registry on a free port; stopped by PID on exit ---
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_registry() {
  local port=$1
  mkdir -p "$W/registry-data"
  cat > "$W/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $W/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  docker-registry serve "$W/registry.yml" > "$W/registry.log" 2>&1 &
  REG_PID=$!; echo "$REG_PID" > "$W/registry.pid"
  python3 - "$port" "$REG_PID" <<'PY'
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
for _ in range(100):
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).read()
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
}
for attempt in 1 2 3; do
  port=$(free_port)
  if start_registry "$port"; then break; fi
  kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; REG_PID=""
  [ "$attempt" = 3 ] && { tail -5 "$W/registry.log" >&2; die "docker-registry did not start"; }
done
export REG=127.0.0.1:$port
log "registry $REG (pid $REG_PID, data $W/registry-data)"
"$BENCH_SRC/images.sh" push "$REG"

# --- the filesystem for the stores (BENCH_FS=loop: a fresh ext4 image, see env.sh) ---
scratch_up
log "stores on $SCR (BENCH_FS=$BENCH_FS)"

# --- the bench: in its own session, so that cleanup can stop it and its children at once ---
setsid "$BENCH_SRC/pull.sh" &
PULL_PID=$!
rc=0
wait "$PULL_PID" || rc=$?
PULL_PID=""
save_results
exit $rc
