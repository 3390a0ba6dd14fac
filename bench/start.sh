#!/bin/bash
# Start-latency bench: `layerctl run --rm busybox /bin/true` against the floor, crun, runc and podman
# (under the same capabilities and seccomp profile as layerctl's containers), and the CPU share of a busy loop under `--cpus 0.2`.
#
#   sudo bench/start.sh                      full run (about 30-60 s on 2 cores)
#   sudo RUNS=3 WARMUP=1 bench/start.sh      quick run
#
# Tables (median of RUNS after WARMUP warm-ups, hyperfine -N, whole processes):
#   1  inside ONE private mount namespace (unshare -m --propagation private) where /sys/fs/cgroup/unified is
#      unmounted (crun 1.8 refuses hybrid cgroups); hyperfine runs in it:
#        floor     unshare --pid --fork --mount --uts --ipc --net chroot BUNDLE/rootfs /bin/true
#        crun      crun run -b BUNDLE ID          (umoci-unpacked busybox, process.terminal=false, args /bin/true,
#                  Docker's capabilities and the default seccomp profile: what layerctl's container gets)
#        crun, no seccomp: umoci's config as is (3 capabilities, no filter), for reference
#        runc      runc run -b BUNDLE ID
#        podman    podman run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 busybox /bin/true
#                  (private --root/--runroot/--tmpdir/--network-config-dir, cgroupfs, file events)
#        layerctl  layerctl --root STORE run --rm busybox /bin/true   (the whole run: create, mount, cgroup, rm)
#      targets: layerctl <= 1.0x crun and <= 0.1x podman
#   2  host conditions (normal mount namespace, hybrid cgroups): layerctl, the floor and runc
#   3  CPU share: layerctl run --rm --cpus 0.2 busybox sh -c 'timeout 5 sh -c "while :; do :; done"; echo loop-exit=$?'
#      (host and namespace); share = delta cpuacct.usage / wall over the loop's steady window; target 0.15-0.25
#      (`sh -c 'timeout 5 ...'` alone would never end: sh execs timeout, timeout's SIGTERM goes to PID 1,
#      which the kernel drops for a PID 1 without a handler, as in any container without an init)
#   4  diagnostics: layerctl run of a one-file image (a 129-byte static /true) vs busybox, and `layerctl --help`
#      (the cost of one layerctl process start); phases of a run from strace -f --seccomp-bpf -ttt -T traces;
#      strace -f -c
#
# Env: RUNS (20), WARMUP (3), INTERLEAVE (0: one hyperfine per table as the tracker asks; 1: one hyperfine
#      round per run with the commands in rotated order, merged), WITH_PODMAN (1; 0 skips podman),
#      CPU_TEST (1), CPU_SECS (5), CPUS (0.2), DIAG (1), DIAG_RUNS (5: traced runs),
#      BB_LAYOUT (OCI layout of busybox; default $BENCH_DIR/oci/busybox of images.sh when present, else one
#      made once by testdata/mkimage.sh busybox in $BENCH_DIR/oci/mk-busybox), BENCH_DIR (/tmp/layerctl-bench),
#      START_SCRATCH (/tmp/layerctl-bench-start: stores, bundle; removed at the end), LAYERCTL (bin/layerctl;
#      copied into the scratch dir so that a rebuild during the run does not change it), BENCH_STRICT=1,
#      BENCH_NO_LAYERCTL=1 (peers only, as in run.sh).
# Output: the table on stdout, saved with the hyperfine exports in bench/out/start-DATE/ and
# bench/out/start-latest.txt. Exit 0 ok, 1 a command failed (it is never timed), 3 target missed (strict).
# Cleanup (also on Ctrl-C/failure): layerctl rm -f leftovers, runc/crun delete -f, podman rm -af + system
# reset -f of the private root, unmounts under the scratch dir, the namespace holder (by PID) killed.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ "$(id -u)" = 0 ] || die "run as root (namespaces, overlay mounts, cgroups, podman's store)"
HELPER=$BENCH_SRC/start_helper.py
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
INTERLEAVE=${INTERLEAVE:-0}
PODMAN_ON=${WITH_PODMAN:-1}   # (PODMAN is taken: env.sh sets it to a podman command line)
CPU_TEST=${CPU_TEST:-1}
CPU_SECS=${CPU_SECS:-5}
CPUS=${CPUS:-0.2}
DIAG=${DIAG:-1}
DIAG_RUNS=${DIAG_RUNS:-5}
CT=${START_SCRATCH:-/tmp/layerctl-bench-start}
case $CT in /tmp/?*) ;; *) die "START_SCRATCH must be a dir under /tmp (it is removed at the end)" ;; esac
HOLDER_TAG=layerctl-bench-start-ns   # argv[0] of the process that keeps the private mount namespace
# podman's store in the scratch dir; without systemd: cgroupfs and file events
POD="podman --root $CT/pod-root --runroot $CT/pod-run --tmpdir $CT/pod-run/libpod-tmp --volumepath $CT/pod-root/volumes --network-config-dir $CT/pod-net --storage-driver overlay --cgroup-manager cgroupfs --events-backend file"
# this VM has no CAP_SYS_RESOURCE: podman's default rlimits cannot be set
POD_ULIMITS="--ulimit nofile=1024:1024 --ulimit nproc=4096:4096"
RUNC_ID=bench-start-runc-$$
CRUN_ID=bench-start-crun-$$

exec 8>"$CT.lock"
flock -n 8 || die "another start bench is running (lock $CT.lock)"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT_DIR=$BENCH_SRC/out/start-$STAMP
R=$CT/results
HOLDER="" HF_PID="" SAVED=""
SHM_LOCK_BEFORE=$([ -e /dev/shm/libpod_lock ] && echo 1 || true)

note() { echo "$*" >> "$R/notes"; echo "   $*" >&2; }
fail() { echo "$*" >> "$R/failed"; echo "FAILED: $*" >&2; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# umount_under DIR: unmount DIR and everything below it (this mount namespace), deepest first
umount_under() { findmnt -rno TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r | xargs -r umount -l; }
inns() { nsenter -t "$HOLDER" -m -- "$@"; }        # run in the private namespace
# ctx_run ns|host CMD...: run a command in the namespace of a table
ctx_run() { local c=$1; shift; if [ "$c" = ns ]; then inns "$@"; else "$@"; fi; }

# lc_clean CTX: layerctl rm -f every container of the store (rm -f unmounts in the namespace it runs in)
lc_clean() {
  [ -x "$CT/bin/layerctl" ] && [ -d "$CT/lc" ] || return 0
  local ids id
  ids=$(ctx_run "$1" "$CT/bin/layerctl" --root "$CT/lc" ps -a --format json 2>/dev/null |
    python3 -c 'import json,sys
try: print(" ".join(c["Id"] for c in json.load(sys.stdin) or []))
except Exception: pass') || true
  for id in $ids; do
    ctx_run "$1" "$CT/bin/layerctl" --root "$CT/lc" rm -f "$id" >/dev/null 2>&1 || echo "cleanup: layerctl rm -f $id failed" >&2
  done
}
# oci_clean CTX: runc/crun delete -f of this run's containers (their state in /run is shared by all namespaces)
oci_clean() {
  ctx_run "$1" runc delete -f "$RUNC_ID" >/dev/null 2>&1 || true
  ctx_run "$1" crun delete -f "$CRUN_ID" >/dev/null 2>&1 || true
}
pod_clean() {
  [ -d "$CT/pod-root" ] || return 0
  ctx_run "$1" $POD rm -a -f >/dev/null 2>&1 || true
  ctx_run "$1" $POD system reset -f >/dev/null 2>&1 || echo "cleanup: podman system reset -f failed" >&2
}

save_results() {
  [ -z "$SAVED" ] || return 0; SAVED=1
  [ -n "$(ls -A "$R" 2>/dev/null)" ] || return 0
  mkdir -p "$OUT_DIR"
  cp -r "$R/." "$OUT_DIR/"
  [ ! -f "$R/summary.txt" ] || cp "$R/summary.txt" "$BENCH_SRC/out/start-latest.txt"
  log "results saved in $OUT_DIR/"
}

cleanup() {
  local rc=$? left
  set +e
  trap - EXIT INT TERM
  if [ -n "$HF_PID" ] && kill -0 "$HF_PID" 2>/dev/null; then
    # hyperfine runs in its own session (setsid): stop it and the command it is timing
    kill -TERM -- "-$HF_PID" 2>/dev/null; sleep 0.5; kill -KILL -- "-$HF_PID" 2>/dev/null
    wait "$HF_PID" 2>/dev/null
  fi
  if [ -d "$R" ] && [ ! -f "$R/summary.txt" ] && [ -f "$R/notes" ]; then
    echo "(bench stopped early, exit $rc)" >> "$R/notes"
    python3 "$BENCH_SRC/report" start "$R" > "$R/summary.txt" && cat "$R/summary.txt"
  fi
  if [ -n "$HOLDER" ] && kill -0 "$HOLDER" 2>/dev/null; then
    lc_clean ns; oci_clean ns; pod_clean ns
    inns sh -c "findmnt -rno TARGET | awk -v d='$CT' '\$0 == d || index(\$0, d \"/\") == 1' | sort -r | xargs -r umount -l"
    left=$(inns findmnt -rno TARGET | grep -F "$CT/" || true)
    [ -z "$left" ] || { echo "cleanup: mounts left under $CT in the private namespace (they go with it):" >&2; echo "$left" >&2; }
    kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
  fi
  lc_clean host; oci_clean host; pod_clean host
  umount_under "$CT"
  left=$(grep -F " $CT/" /proc/mounts | cut -d' ' -f2)
  if [ -n "$left" ]; then
    echo "cleanup: mounts left under $CT (not removing it):" >&2; echo "$left" >&2; [ "$rc" != 0 ] || rc=1
  else
    save_results
    rm -rf "$CT"
  fi
  # podman's lock file in /dev/shm is shared by every podman of root: remove it only if this run made it
  # and no other podman is running
  if [ -z "$SHM_LOCK_BEFORE" ] && ! pgrep -x podman >/dev/null && ! pgrep -x buildah >/dev/null; then
    rm -f /dev/shm/libpod_lock
  fi
  rm -f "$CT.lock"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- leftovers of a run killed hard
if [ -f "$CT/holder.pid" ]; then
  p=$(cat "$CT/holder.pid")
  if [ -n "$p" ] && [ "$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -d' ' -f1)" = "$HOLDER_TAG" ]; then
    log "killing the namespace holder $p of an earlier run"; kill "$p" 2>/dev/null || true
  fi
fi
umount_under "$CT"; rm -rf "$CT"
mkdir -p "$R" "$CT/img" "$CT/bin"
: > "$R/notes"; : > "$R/failed"
ls -d /sys/fs/cgroup/*/layerctl/*/ 2>/dev/null | sort > "$R/cgroups.before" || true

# ---------------------------------------------------------------- tools (Debian 12 packages)
tools=(hyperfine runc crun umoci skopeo strace nsenter unshare)
[ "$PODMAN_ON" = 0 ] || tools+=(podman)
"$BENCH_SRC/install.sh" "${tools[@]}" || die "install.sh ${tools[*]} failed"

# ---------------------------------------------------------------- layerctl (a copy: others may rebuild bin/)
L=$CT/bin/layerctl
LCR="$L --root $CT/lc"
LC_OK=1
if [ -n "${BENCH_NO_LAYERCTL:-}" ]; then
  LC_OK=0; note "layerctl: skipped (BENCH_NO_LAYERCTL is set): peers only"
else
  if [ ! -x "$LAYERCTL" ]; then
    log "building $LAYERCTL (make build)"
    (cd "$REPO" && make build) > "$R/build.log" 2>&1 || die "make build failed: $(tail -3 "$R/build.log")"
  fi
  cp "$LAYERCTL" "$L"
  note "layerctl: $LAYERCTL (built $(date -r "$LAYERCTL" '+%F %T'), sha256 $(sha256sum "$L" | cut -c1-12)), run from a copy in $CT/bin"
fi
note "machine: $(nproc) cores, load $(load) at start; kernel $(uname -r); scratch $CT on $(df -T /tmp | awk 'NR==2{print $2}')"
note "busiest processes at start: $(ps -eo pcpu=,comm= --sort=-pcpu | head -4 | awk '{printf "%s %s%%; ", $2, $1}')"
note "versions: $(hyperfine --version); runc $(runc --version | awk 'NR==1{print $3}'); crun $(crun --version | awk 'NR==1{print $3}'); $([ "$PODMAN_ON" = 0 ] || podman --version); umoci $(umoci --version | awk '{print $3}')"
note "runs: $RUNS (+$WARMUP warm-up) per command, interleaved=$INTERLEAVE"

# ---------------------------------------------------------------- images: busybox layout, tiny one-file layout
if [ -n "${BB_LAYOUT:-}" ]; then
  src=$BB_LAYOUT
elif [ -f "$W/oci/busybox/index.json" ]; then
  src=$W/oci/busybox
else
  src=$W/oci/mk-busybox
  recipe=$(cat "$REPO/testdata/mkimage.sh" /bin/busybox | sha256sum | cut -c1-16)
  if [ ! -f "$src/index.json" ] || [ "$(cat "$src.stamp" 2>/dev/null)" != "$recipe" ]; then
    log "building busybox with testdata/mkimage.sh (cached in $src)"
    mkdir -p "$W/oci"
    "$REPO/testdata/mkimage.sh" busybox "$src" >&2 || die "testdata/mkimage.sh busybox $src failed"
    echo "$recipe" > "$src.stamp"
  fi
fi
[ -f "$src/index.json" ] || die "no OCI layout at $src"
cp -a "$src" "$CT/img/busybox"      # a private copy (1 MB): a rebuild of the cache cannot change this run
note "busybox image: OCI layout $src (manifest $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][:19])' "$CT/img/busybox/index.json"))"

t=$CT/img/tiny-src; mkdir -p "$t/rootfs"
python3 "$HELPER" tinyelf "$t/rootfs/true"
(cd "$t/rootfs" && tar --numeric-owner --owner=0 --group=0 --mtime=@1700000000 --format=posix \
  --pax-option=delete=atime,delete=ctime -cf "$t/layer.tar" true)
{
  umoci init --layout "$CT/img/tiny" && umoci new --image "$CT/img/tiny:latest" &&
    umoci raw add-layer --image "$CT/img/tiny:latest" "$t/layer.tar" &&
    umoci config --image "$CT/img/tiny:latest" --no-history --os linux --architecture amd64 --config.cmd /true
} > "$R/tiny.log" 2>&1 || die "building the tiny image failed: $(tail -3 "$R/tiny.log")"

# ---------------------------------------------------------------- the private mount namespace (kept by a holder)
# unshare execs bash, which execs sleep under the name $HOLDER_TAG: $! is a process in the namespace
setsid unshare -m --propagation private bash -c \
  'umount /sys/fs/cgroup/unified 2>/dev/null; exec -a '"$HOLDER_TAG"' sleep infinity' &
HOLDER=$!
echo "$HOLDER" > "$CT/holder.pid"
for _ in $(seq 100); do
  [ "$(tr '\0' ' ' < "/proc/$HOLDER/cmdline" 2>/dev/null | cut -d' ' -f1)" = "$HOLDER_TAG" ] && break
  kill -0 "$HOLDER" 2>/dev/null || die "the namespace holder (unshare -m) died"
  sleep 0.05
done
[ "$(readlink "/proc/$HOLDER/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] || die "the holder is not in a new mount namespace"
if inns findmnt -rn /sys/fs/cgroup/unified >/dev/null; then die "/sys/fs/cgroup/unified is still mounted in the private namespace"; fi
note "private mount namespace: held by pid $HOLDER ($(readlink "/proc/$HOLDER/ns/mnt")), /sys/fs/cgroup/unified unmounted there; host: $(findmnt -rno FSTYPE /sys/fs/cgroup/unified >/dev/null && echo "hybrid (cgroup2 at unified: $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null))" || echo "no unified mount")"

# ---------------------------------------------------------------- setup (untimed; every step checked)
CHK_OUT=""
# chk WHAT CTX CMD...: run a setup command; on failure record command, exit code, stderr, time; return non-zero
chk() {
  local what=$1 c=$2 t0 rc; shift 2
  t0=$(date +%s%N)
  if CHK_OUT=$(ctx_run "$c" "$@" 2>"$R/chk.err"); then CHK_MS=$(ms_since "$t0"); return 0; else rc=$?; fi
  CHK_MS=$(ms_since "$t0")
  fail "$what: \`$*\` ($c) exit $rc after $CHK_MS ms: $(grep -v '^\s*$' "$R/chk.err" | tail -3 | tr '\n' ' ')"
  return $rc
}
TINY_OK=$LC_OK BUNDLE_OK=1 POD_OK=$PODMAN_ON
if [ "$LC_OK" = 1 ]; then
  chk "layerctl pull busybox" host $LCR pull -q "oci:$CT/img/busybox:latest" busybox:latest || LC_OK=0
  [ "$LC_OK" = 0 ] || note "layerctl pull busybox from the layout: $CHK_MS ms, image $(tail -1 <<<"$CHK_OUT" | cut -c1-19)"
  chk "layerctl pull tiny" host $LCR pull -q "oci:$CT/img/tiny:latest" tiny:latest || TINY_OK=0
fi
chk "umoci unpack" host umoci unpack --image "$CT/img/busybox:latest" "$CT/bundle" || BUNDLE_OK=0
mkdir -p "$CT/bundle-plain"
[ "$BUNDLE_OK" = 0 ] || chk "bundle config" host python3 "$HELPER" bundle "$CT/bundle/config.json" \
  "$CT/bundle-plain/config.json" "$CT/bundle/rootfs" || BUNDLE_OK=0
[ "$BUNDLE_OK" = 0 ] || note "crun and runc bundle: Docker's capabilities and the default seccomp profile podman gives crun ($(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["linux"]["seccomp"]; print(sum(len(r["names"]) for r in s["syscalls"]), "syscalls in", len(s["syscalls"]), "rules")' "$CT/bundle/config.json")), as layerctl runs Docker's; 'crun run, no seccomp' is umoci's config as is (3 capabilities, no filter)"
if [ "$POD_OK" = 1 ]; then
  mkdir -p "$CT/pod-net"
  if chk "podman pull busybox" ns $POD pull -q "oci:$CT/img/busybox:latest"; then
    pid_=$(tail -1 <<<"$CHK_OUT")
    if chk "podman tag" ns $POD tag "$pid_" localhost/busybox:latest &&
      chk "podman image exists" ns $POD image exists localhost/busybox:latest; then
      note "podman pull from the layout: image ${pid_:0:12}, tagged localhost/busybox:latest"
    else POD_OK=0; fi
  else POD_OK=0; fi
fi
BB=$CT/bundle

# ---------------------------------------------------------------- hyperfine
# hf_table TABLE CTX NAME CMD [NAME CMD]...: check each command once in CTX (a failing one is reported and never
# timed), then time them with hyperfine -N into $R/TABLE.json; a command that fails while timed is dropped and
# the table is timed again without it
hf_table() {
  local table=$1 c=$2 i t0 rc ms out=$R/$1.txt name idx
  shift 2
  local N=() C=()
  while [ $# -gt 0 ]; do
    t0=$(date +%s%N)
    if ctx_run "$c" sh -c "$2" >/dev/null 2>"$R/chk.err"; then rc=0; else rc=$?; fi
    ms=$(ms_since "$t0")
    if [ "$rc" = 0 ]; then N+=("$1"); C+=("$2"); printf '%s\t%s\n' "$1" "$2" >> "$R/$table.cmds"
    else fail "$table: '$1': \`$2\` exit $rc after $ms ms: $(grep -v '^\s*$' "$R/chk.err" | tail -3 | tr '\n' ' ') (not timed)"; fi
    shift 2
  done
  : > "$out"
  sync   # write back what the setup dirtied, so that it does not land on the fsyncs of the timed commands
  while [ ${#C[@]} -gt 0 ]; do
    log "$table: ${#C[@]} commands x $RUNS runs (+$WARMUP warm-up), load $(load)"
    if hf_once "$table" "$c" "$out" N C; then
      python3 - "$R/$table.json" >&2 <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"   {r['command']:<36} median {r['median']*1000:8.1f} ms  (min {r['min']*1000:.1f}, max {r['max']*1000:.1f}, n={len(r['times'])})")
PY
      return 0
    fi
    rm -f "$R/$table.json"
    name=$(grep -E '^Benchmark [0-9]+: ' "$out" | tail -1 | sed 's/^Benchmark [0-9]*: //')
    idx=-1
    for i in "${!N[@]}"; do [ "${N[$i]}" = "$name" ] && idx=$i; done
    local again="" cmd_="?"
    if [ "$idx" -ge 0 ]; then
      cmd_=${C[$idx]}   # hyperfine -N hides the output: run the command once more for its stderr
      t0=$(date +%s%N)
      if ctx_run "$c" sh -c "${C[$idx]}" >/dev/null 2>"$R/chk.err"; then rc=0; else rc=$?; fi
      again="; run once more: exit $rc after $(ms_since "$t0") ms: $(grep -v '^\s*$' "$R/chk.err" | tail -3 | tr '\n' ' ')"
    fi
    fail "$table: hyperfine failed while timing '${name:-?}' (\`$cmd_\`): $(grep -v '^\s*$' "$out" | grep -iE 'error|exit|fail' | tail -1 | cut -c1-120)$again (dropped from the table)"
    [ "$idx" -ge 0 ] || return 1
    sed -i "/^$(printf '%s' "$name" | sed 's/[]\/$*.^[]/\\&/g')\t/d" "$R/$table.cmds"
    N=("${N[@]:0:idx}" "${N[@]:idx+1}"); C=("${C[@]:0:idx}" "${C[@]:idx+1}")
    echo "--- again without '$name'" >> "$out"
  done
}
# hf_exec CTX OUT ARGS...: hyperfine in its own session (the cleanup stops it by PID)
hf_exec() {
  local c=$1 out=$2 rc=0; shift 2
  if [ "$c" = ns ]; then setsid nsenter -t "$HOLDER" -m -- hyperfine -N --style basic "$@" >> "$out" 2>&1 &
  else setsid hyperfine -N --style basic "$@" >> "$out" 2>&1 & fi
  HF_PID=$!
  wait "$HF_PID" || rc=$?
  HF_PID=""
  return $rc
}
# hf_once TABLE CTX OUT NAMES_VAR CMDS_VAR
hf_once() {
  local table=$1 c=$2 out=$3 r k i n files=() A
  local -n NN=$4 CC=$5
  n=${#CC[@]}
  if [ "$INTERLEAVE" = 1 ] && [ "$n" -gt 1 ]; then
    # one hyperfine round per run, commands in a rotated order; rounds <= 0 are warm-ups, not kept
    mkdir -p "$R/rounds"; rm -f "$R/rounds/$table".*
    printf '%s\n' "${NN[@]}" > "$R/rounds/$table.names"
    for ((r = 1 - WARMUP; r <= RUNS; r++)); do
      A=()
      for ((k = 0; k < n; k++)); do i=$(( (k + r + WARMUP) % n )); A+=(-n "${NN[$i]}" "${CC[$i]}"); done
      echo "--- round $r" >> "$out"
      hf_exec "$c" "$out" --runs 1 --export-json "$R/rounds/$table.$r.json" "${A[@]}" || return 1
      [ $r -le 0 ] || files+=("$R/rounds/$table.$r.json")
    done
    python3 "$HELPER" merge "$R/$table.json" "$R/rounds/$table.names" "${files[@]}"
  else
    A=()
    for ((k = 0; k < n; k++)); do A+=(-n "${NN[$k]}" "${CC[$k]}"); done
    hf_exec "$c" "$out" --runs "$RUNS" --warmup "$WARMUP" --export-json "$R/$table.json" "${A[@]}"
  fi
}

FLOOR="unshare --pid --fork --mount --uts --ipc --net chroot $BB/rootfs /bin/true"
LC_RUN="$LCR run --rm busybox /bin/true"
T1=()
[ "$BUNDLE_OK" = 0 ] || T1+=("floor: unshare+chroot" "$FLOOR" "runc run" "runc run -b $BB $RUNC_ID" "crun run" "crun run -b $BB $CRUN_ID"
  "crun run, no seccomp" "crun run -b $CT/bundle-plain $CRUN_ID")
[ "$POD_OK" = 0 ] || T1+=("podman run --rm" "$POD run --rm --network none $POD_ULIMITS localhost/busybox:latest /bin/true")
[ "$LC_OK" = 0 ] || T1+=("layerctl run --rm" "$LC_RUN")
[ ${#T1[@]} = 0 ] || hf_table ns ns "${T1[@]}"

T2=()
[ "$LC_OK" = 0 ] || T2+=("layerctl run --rm (host)" "$LC_RUN")
[ "$BUNDLE_OK" = 0 ] || T2+=("floor: unshare+chroot (host)" "$FLOOR" "runc run (host)" "runc run -b $BB $RUNC_ID")
[ ${#T2[@]} = 0 ] || hf_table host host "${T2[@]}"

# ---------------------------------------------------------------- CPU share under --cpus
if [ "$CPU_TEST" = 1 ] && [ "$LC_OK" = 1 ]; then
  for c in host ns; do
    log "cpu share ($c): layerctl run --rm --cpus $CPUS busy loop for $CPU_SECS s, load $(load)"
    args=(--layerctl "$L" --root "$CT/lc" --name "bench-cpu-$c-$$" --cpus "$CPUS" --secs "$CPU_SECS" --ctx "$c")
    [ "$c" = host ] || args+=(--nsenter "$HOLDER")
    if python3 "$HELPER" cpushare "$R/cpu-$c.json" "${args[@]}"; then
      python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print("   cgroup share %.3f, loop %.3f, tree %.3f, wall %.2f s" % (c["cg_share"], c["loop_share"] or 0, c.get("tree_share") or 0, c["wall_s"]))' "$R/cpu-$c.json" >&2 || true
    else
      fail "cpu share ($c): $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(" ".join(c["cmd"][-12:]), "->", c.get("error"), "| stderr:", c.get("stderr","").strip()[-200:])' "$R/cpu-$c.json" 2>/dev/null || echo "start_helper.py cpushare failed")"
    fi
  done
fi

# ---------------------------------------------------------------- diagnostics: where layerctl's time goes
if [ "$DIAG" = 1 ] && [ "$LC_OK" = 1 ]; then
  T3=("layerctl run --rm busybox /bin/true" "$LC_RUN")
  [ "$TINY_OK" = 0 ] || T3+=("layerctl run --rm tiny /true (1 file)" "$LCR run --rm tiny /true")
  T3+=("layerctl --help (process start, no run)" "$L --help")
  # ps and images against a Go hello world built as make build builds layerctl (static, -trimpath,
  # -s -w, the heap's base as the Makefile's HEAPBASE sets it)
  GO=$(command -v go || echo /usr/local/go/bin/go)
  HEAPBASE=$(GOEXPERIMENT=norandomizedheapbase64 "$GO" env GOEXPERIMENT 2>/dev/null || true)
  mkdir -p "$CT/hello"
  printf 'module hello\n\ngo 1.21\n' > "$CT/hello/go.mod"
  printf 'package main\n\nimport "os"\n\nfunc main() { os.Stdout.WriteString("hello\\n") }\n' > "$CT/hello/main.go"
  if chk "build the Go hello world" host sh -c "cd $CT/hello && CGO_ENABLED=0 GOEXPERIMENT=$HEAPBASE GOFLAGS= $GO build -trimpath -ldflags='-s -w' -o $CT/bin/hello ."; then
    T3+=("go hello world (same build flags)" "$CT/bin/hello" "layerctl ps" "$LCR ps" "layerctl images" "$LCR images")
  fi
  hf_table diag ns "${T3[@]}"
  # package initialisation before main, as the Go runtime reports it (GODEBUG=inittrace=1), per package
  for i in 1 2 3 4 5; do GODEBUG=inittrace=1 "$L" --help 2>&1 >/dev/null | grep '^init ' || true; done > "$R/inittrace.txt"
  log "diag: $DIAG_RUNS runs of layerctl run under strace -f --seccomp-bpf, load $(load)"
  traces=() ctraces=()
  STRACE="strace -f -y --seccomp-bpf -ttt -T -e trace=execve,clone,clone3,vfork,mount,umount2,fsync,fdatasync,renameat,renameat2,mkdirat,unlinkat,pivot_root,exit_group,waitid,wait4,flock,sethostname,ioctl,write"
  for i in $(seq 1 "$DIAG_RUNS"); do
    if chk "strace layerctl run ($i)" ns $STRACE -o "$R/trace.$i.txt" $LC_RUN; then traces+=("$R/trace.$i.txt"); fi
    # crun under the same strace, for its cgroup.procs writes and fsyncs
    if [ "$BUNDLE_OK" = 1 ] && chk "strace crun run ($i)" ns $STRACE -o "$R/trace-crun.$i.txt" crun run -b "$BB" "$CRUN_ID"; then
      ctraces+=("$R/trace-crun.$i.txt"); fi
  done
  [ ${#traces[@]} = 0 ] || python3 "$HELPER" phases "$R/phases.json" "${traces[@]}" -- "${ctraces[@]}" ||
    fail "diag: could not parse the strace traces"
  chk "strace -c layerctl run" ns strace -f -c -o "$R/strace-c.txt" $LC_RUN || true
  # the traces are large: keep one
  for f in "${traces[@]:1}" "${ctraces[@]:1}"; do rm -f "$f"; done
fi

# ---------------------------------------------------------------- leftovers check, report
if [ -x "$L" ] && [ -d "$CT/lc" ]; then
  n=$(ctx_run host $LCR ps -a --format json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin) or []))' || echo "?")
  [ "$n" = 0 ] || fail "layerctl ps -a lists $n containers after the bench (run --rm should have removed them): $($LCR ps -a 2>&1 | tail -n +2 | head -3 | tr '\n' ';')"
fi
# every layerctl container was run with --rm: none of its overlay mounts may be left, in either namespace
for c in host ns; do
  left=$(ctx_run "$c" findmnt -rno TARGET | grep -F "$CT/lc/" | tr '\n' ' ' || true)
  [ -z "$left" ] || fail "mounts left under the layerctl store ($c namespace) after the bench: $left"
done
# layerctl cgroup dirs that appeared during the run and are still there 2 s later (a concurrent layerctl of
# someone else, e.g. go test, makes short-lived ones too)
ls -d /sys/fs/cgroup/*/layerctl/*/ 2>/dev/null | sort > "$R/cgroups.after" || true
left=$(comm -13 "$R/cgroups.before" "$R/cgroups.after")
if [ -n "$left" ]; then
  sleep 2
  left=$(for d in $left; do [ ! -d "$d" ] || echo "$d"; done | tr '\n' ' ')
  [ -z "$left" ] || note "layerctl cgroup dirs that appeared during the run and are still there (this run's or another user's): $left"
fi
note "load at end: $(load)"
set +e
python3 "$BENCH_SRC/report" start "$R" > "$R/summary.txt"
rc=$?
cat "$R/summary.txt"
if [ -s "$R/failed" ]; then echo "bench FAILED: $(wc -l < "$R/failed") failure(s), listed above" >&2; exit 1; fi
exit $rc
