# Helpers shared by bench/containers.sh and bench/commit.sh (sourced, not run).
#
# Each script works in its own scratch dir ($CT, outside $BENCH_DIR so that run.sh's cleanup of
# $BENCH_DIR/ and these benches never touch each other's stores or mounts) and caches the images
# it builds under $BENCH_DIR/oci (next to the layouts of images.sh).
#
#   ctr_init NAME           lock, scratch dir /tmp/layerctl-bench-NAME, results dir, cleanup trap
#   ensure_tools CMD...     install.sh: the Debian packages of missing commands, and busybox-static
#   ensure_layerctl         bin/layerctl (make build when missing)
#   ensure_debian           the debian:bookworm OCI layout of images.sh (built when missing)
#   snapshot NAME           read-only copy (hard links) of $W/oci/NAME in $CT/img/NAME
#   hf_add NAME PREPARE CMD / hf_run TABLE RUNS WARMUP
#                           check every command once (a failing one is reported and never timed),
#                           then time them with hyperfine -N into $R/TABLE.json
#   chk CMD...              run a setup command; on failure record command, exit code, stderr, time
#   note / fail             notes and failures that end up in the summary

. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
BENCH_SRC=${BENCH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
REPO=${REPO:-$(cd "$BENCH_SRC/.." && pwd)}
W=${W:-${BENCH_DIR:-/tmp/layerctl-bench}}
LAYERCTL=${LAYERCTL:-$REPO/bin/layerctl}
declare -F log >/dev/null || log() { printf '== %s\n' "$*" >&2; }
declare -F die >/dev/null || die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
# layerctl commit takes SOURCE_DATE_EPOCH as its --timestamp: the benches time a plain commit
unset SOURCE_DATE_EPOCH
MK_EPOCH=1700000000   # for the layer tarballs built here

RUNS=${RUNS:-10}
WARMUP=${WARMUP:-1}
INTERLEAVE=${INTERLEAVE:-1}

# podman/buildah without systemd (cgroupfs, file events), on stores in the scratch dir
pod_flags() { echo "--root $CT/pod-root --runroot $CT/pod-run --storage-driver overlay"; }

# ---------------------------------------------------------------- setup, cleanup
HF_PID="" SAVED="" CLEANUP_HOOK=""
ctr_init() {
  BENCH_NAME=$1
  [ "$(id -u)" = 0 ] || die "run as root (overlay mounts, podman's store)"
  CT=${CTR_SCRATCH:-/tmp/layerctl-bench-$BENCH_NAME}
  R=$CT/results
  LCX="$LAYERCTL --root $CT/lc"
  POD="podman $(pod_flags) --tmpdir $CT/pod-run/libpod-tmp --cgroup-manager cgroupfs --events-backend file"
  BUILDAH="buildah $(pod_flags)"
  case $CT in /tmp/?*) ;; *) die "CTR_SCRATCH must be a dir under /tmp (it is removed at the end)" ;; esac
  exec 8>"$CT.lock"
  flock -n 8 || die "another $BENCH_NAME bench is running (lock $CT.lock)"
  STAMP=$(date +%Y%m%d-%H%M%S)
  OUT_DIR=$BENCH_SRC/out/$BENCH_NAME-$STAMP
  SHM_LOCK_BEFORE=$([ -e /dev/shm/libpod_lock ] && echo 1 || true)
  trap ctr_cleanup EXIT
  set -E
  trap 'fail "script error: \`$BASH_COMMAND\` exit $? at ${BASH_SOURCE[0]##*/}:$LINENO"' ERR
  trap 'echo "(interrupted: SIGINT)" >> "$R/notes" 2>/dev/null; exit 130' INT
  trap 'echo "(interrupted: SIGTERM)" >> "$R/notes" 2>/dev/null; exit 143' TERM
  # leftovers of a run killed hard
  umount_under "$CT"; rm -rf "$CT"
  mkdir -p "$R" "$CT/img"
  : > "$R/notes"; : > "$R/failed"
}

# umount_under DIR: unmount DIR and everything below it, deepest first
umount_under() {
  findmnt -rno TARGET | awk -v d="$1" '$0 == d || index($0, d "/") == 1' | sort -r | xargs -r umount -l
}

# lc_clean: remove every container of the layerctl store (rm -f unmounts first)
lc_clean() {
  [ -d "$CT/lc" ] && [ -x "$LAYERCTL" ] || return 0
  local ids
  ids=$($LCX ps -a --format json 2>/dev/null | python3 -c 'import json,sys
try:
    print(" ".join(c["Id"] for c in json.load(sys.stdin) or []))
except Exception:
    pass')
  local id
  for id in $ids; do $LCX rm -f "$id" >/dev/null 2>&1 || echo "cleanup: layerctl rm -f $id failed" >&2; done
}

pod_clean() {
  [ -d "$CT/pod-root" ] || return 0
  local c
  if command -v buildah >/dev/null; then
    for c in $($BUILDAH containers -q 2>/dev/null); do $BUILDAH umount "$c" >/dev/null 2>&1; $BUILDAH rm "$c" >/dev/null 2>&1; done
  fi
  $POD umount -a -f >/dev/null 2>&1
  $POD rm -a -f >/dev/null 2>&1
}

save_results() {
  [ -z "$SAVED" ] || return 0; SAVED=1
  [ -n "$(ls -A "$R" 2>/dev/null)" ] || return 0
  mkdir -p "$OUT_DIR"
  cp -r "$R/." "$OUT_DIR/"
  [ ! -f "$R/summary.txt" ] || cp "$R/summary.txt" "$BENCH_SRC/out/$BENCH_NAME-latest.txt"
  log "results saved in $OUT_DIR/"
}

ctr_cleanup() {
  local rc=$? left
  set +e
  trap - EXIT INT TERM ERR
  if [ -n "$HF_PID" ] && kill -0 "$HF_PID" 2>/dev/null; then
    # hyperfine runs in its own session (setsid): stop it and the command it is timing
    kill -TERM -- "-$HF_PID" 2>/dev/null; sleep 0.5; kill -KILL -- "-$HF_PID" 2>/dev/null
    wait "$HF_PID" 2>/dev/null
  fi
  # an early exit (error, Ctrl-C): still print what was measured
  if [ -d "$R" ] && [ ! -f "$R/summary.txt" ]; then
    echo "(bench stopped early, exit $rc)" >> "$R/notes"
    python3 "$BENCH_SRC/report" "$BENCH_NAME" "$R" > "$R/summary.txt"; cat "$R/summary.txt"
  fi
  [ -z "$CLEANUP_HOOK" ] || $CLEANUP_HOOK
  lc_clean
  pod_clean
  umount_under "$CT"
  left=$(grep -F " $CT/" /proc/mounts | cut -d' ' -f2)
  save_results
  if [ -n "$left" ]; then
    echo "cleanup: mounts left under $CT (not removing it):" >&2; echo "$left" >&2; [ "$rc" != 0 ] || rc=1
  else
    log "no mounts left under $CT (/proc/mounts)"
    rm -rf "$CT"
  fi
  # podman's lock file in /dev/shm is shared by every podman of root: remove it only if this run
  # made it and no other podman is running
  if [ -z "$SHM_LOCK_BEFORE" ] && ! pgrep -x podman >/dev/null && ! pgrep -x buildah >/dev/null; then
    rm -f /dev/shm/libpod_lock
  fi
  rm -f "$CT.lock"
  exit "$rc"
}

# ---------------------------------------------------------------- tools and images
# ensure_tools CMD...: install.sh, the one install step, for these commands (and busybox-static)
ensure_tools() { "$BENCH_SRC/install.sh" "$@" || die "install.sh $* failed"; }

ensure_layerctl() {
  if [ ! -x "$LAYERCTL" ]; then
    log "building $LAYERCTL (make build)"
    (cd "$REPO" && make build) > "$R/build.log" 2>&1 || die "make build failed: $(tail -3 "$R/build.log")"
  fi
  note "layerctl: $LAYERCTL (built $(date -r "$LAYERCTL" '+%F %T'), sha256 $(sha256sum "$LAYERCTL" | cut -c1-12))"
}

# the debian:bookworm layout of images.sh ($W/oci/debian), built when missing
ensure_debian() {
  if [ ! -f "$W/oci/debian/index.json" ]; then
    log "no $W/oci/debian: running images.sh build (debootstrap, a few minutes)"
    "$BENCH_SRC/images.sh" build >&2 || die "images.sh build failed"
  fi
}

# snapshot NAME: hard-linked copy of the layout $W/oci/NAME in $CT/img/NAME, so that a rebuild of
# the cache by another bench during this run does not change what this run reads. Read-only use
# only (umoci writes index.json in place: give it a real copy).
snapshot() {
  local i
  for i in 1 2 3; do
    rm -rf "$CT/img/$1"
    cp -al "$W/oci/$1" "$CT/img/$1" 2>/dev/null && [ -f "$CT/img/$1/index.json" ] && return 0
    sleep 2
  done
  die "could not copy the layout $W/oci/$1"
}

# layout_stats DIR: "LAYERS COMPRESSED_BYTES" of the layout's (only) manifest
layout_stats() {
  python3 - "$1" <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, 'index.json')))
m = json.load(open(os.path.join(d, 'blobs/sha256', idx['manifests'][0]['digest'][7:])))
print(len(m['layers']), sum(l['size'] for l in m['layers']))
PY
}

# ---------------------------------------------------------------- notes, failures, checked commands
note() { echo "$*" | tee -a "$R/notes" >&2; }
fail() { echo "$*" >> "$R/failed"; echo "FAILED: $*" >&2; }
failed() { [ -s "$R/failed" ]; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# chk WHAT CMD...: run a setup command; on failure record it (command, exit code, stderr, time) and
# return non-zero. Its stdout is in $CHK_OUT.
CHK_OUT=""
chk() {
  local what=$1 t0 rc; shift
  t0=$(date +%s%N)
  if CHK_OUT=$("$@" 2>"$R/chk.err"); then CHK_MS=$(ms_since "$t0"); return 0; else rc=$?; fi
  CHK_MS=$(ms_since "$t0")
  fail "$what: \`$*\` exit $rc after $CHK_MS ms: $(grep -v '^\s*$' "$R/chk.err" | tail -3 | tr '\n' ' ')"
  return $rc
}
# need WHAT CMD...: like chk, but a failure ends the bench (the cleanup trap still runs)
need() { chk "$@" || { report_and_exit; }; }

# ---------------------------------------------------------------- hyperfine
HN=(); HP=(); HC=()
hf_add() { HN+=("$1"); HP+=("${2:-}"); HC+=("$3"); }

# hf_check: run each command's prepare and command once through sh -c; drop (and report) those
# that fail, so that a failing command is never timed
hf_check() {
  local i n=${#HC[@]} keepN=() keepP=() keepC=() t0 rc ms
  for ((i = 0; i < n; i++)); do
    if [ -n "${HP[$i]}" ] && ! sh -c "${HP[$i]}" >/dev/null 2>"$R/chk.err"; then
      fail "$TABLE: '${HN[$i]}': its prepare \`${HP[$i]}\` failed: $(grep -v '^\s*$' "$R/chk.err" | tail -3 | tr '\n' ' ') (not timed)"
      continue
    fi
    t0=$(date +%s%N)
    if sh -c "${HC[$i]}" >/dev/null 2>"$R/chk.err"; then rc=0; else rc=$?; fi
    ms=$(ms_since "$t0")
    if [ $rc != 0 ]; then
      fail "$TABLE: '${HN[$i]}': \`${HC[$i]}\` exit $rc after $ms ms: $(grep -v '^\s*$' "$R/chk.err" | tail -3 | tr '\n' ' ') (not timed)"
      continue
    fi
    keepN+=("${HN[$i]}"); keepP+=("${HP[$i]}"); keepC+=("${HC[$i]}")
  done
  HN=("${keepN[@]}"); HP=("${keepP[@]}"); HC=("${keepC[@]}")
}

# hf_exec OUT ARGS...: hyperfine in its own session (so that the cleanup can stop it by PID)
hf_exec() {
  local out=$1; shift
  setsid hyperfine -N --style basic "$@" >> "$out" 2>&1 &
  HF_PID=$!
  local rc=0
  wait "$HF_PID" || rc=$?
  HF_PID=""
  return $rc
}

hf_args() {  # hf_args FIRST: hyperfine arguments for all commands, rotated to start at FIRST
  local n=${#HC[@]} k i
  A=()
  for ((k = 0; k < n; k++)); do
    i=$(( (k + $1) % n ))
    # hyperfine takes one --prepare for all commands or one per command: always give one
    A+=(--prepare "${HP[$i]:-true}" -n "${HN[$i]}" "${HC[$i]}")
  done
}

# hf_once RUNS WARMUP OUT: time the commands into $R/$TABLE.json
hf_once() {
  local runs=$1 warm=$2 out=$3 r files=()
  if [ "$INTERLEAVE" = 1 ] && [ ${#HC[@]} -gt 1 ]; then
    # one hyperfine round per run, commands in a rotated order: load from other work on the
    # machine hits every command alike. Rounds <= 0 are warm-up rounds, not kept.
    mkdir -p "$R/rounds"; rm -f "$R/rounds/$TABLE".*
    for ((r = 1 - warm; r <= runs; r++)); do
      hf_args $(( (r + warm) % ${#HC[@]} ))
      echo "--- round $r" >> "$out"
      hf_exec "$out" --runs 1 --export-json "$R/rounds/$TABLE.$r.json" "${A[@]}" || return 1
      [ $r -le 0 ] || files+=("$R/rounds/$TABLE.$r.json")
    done
    ORDER=$(printf '%s\n' "${HN[@]}") python3 - "$R/$TABLE.json" "${files[@]}" <<'PY'
import json, os, statistics, sys
out, files = sys.argv[1], sys.argv[2:]
merged = {}
for f in files:
    for r in json.load(open(f))["results"]:
        m = merged.setdefault(r["command"], {"command": r["command"], "times": [], "exit_codes": [], "u": [], "s": []})
        m["times"] += r["times"]; m["exit_codes"] += r["exit_codes"]; m["u"].append(r["user"]); m["s"].append(r["system"])
res = []
for n in [n for n in os.environ["ORDER"].split("\n") if n in merged]:
    m = merged[n]; t = m["times"]
    res.append({"command": n, "mean": statistics.mean(t), "stddev": statistics.stdev(t) if len(t) > 1 else None,
                "median": statistics.median(t), "user": statistics.mean(m["u"]), "system": statistics.mean(m["s"]),
                "min": min(t), "max": max(t), "times": t, "exit_codes": m["exit_codes"]})
json.dump({"results": res, "interleaved_rounds": len(files)}, open(out, "w"), indent=2)
PY
  else
    hf_args 0
    hf_exec "$out" --runs "$runs" --warmup "$warm" --export-json "$R/$TABLE.json" "${A[@]}"
  fi
}

# hf_run TABLE RUNS WARMUP: check, then time the added commands. A command that fails during the
# timing is reported and the table is timed again without it.
hf_run() {
  TABLE=$1; local runs=$2 warm=$3 out=$R/$1.txt name i idx l0
  : > "$out"
  hf_check
  # write back what the setup dirtied (pulls, unpacks: up to 1.2 GB), so that it does not land on
  # the fsyncs of the timed commands
  sync
  while [ ${#HC[@]} -gt 0 ]; do
    log "$TABLE: ${#HC[@]} commands x $runs runs (+$warm warm-up), interleaved=$INTERLEAVE, load $(load)"
    l0=$(load)
    if hf_once "$runs" "$warm" "$out"; then
      echo "$TABLE: load $l0 -> $(load)" >> "$R/load"
      python3 - "$R/$TABLE.json" >&2 <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(f"   {r['command']:<44} median {r['median']*1000:9.1f} ms  (min {r['min']*1000:.1f}, max {r['max']*1000:.1f}, n={len(r['times'])})")
PY
      break
    fi
    rm -f "$R/$TABLE.json"
    name=$(grep -E '^Benchmark [0-9]+: ' "$out" | tail -1 | sed 's/^Benchmark [0-9]*: //')
    idx=-1
    for i in "${!HN[@]}"; do [ "${HN[$i]}" = "$name" ] && idx=$i; done
    fail "$TABLE: hyperfine failed while timing '${name:-?}': $(grep -v '^\s*$' "$out" | grep -iE 'error|exit|fail' | tail -2 | tr '\n' ' ') (dropped from the table)"
    [ "$idx" -ge 0 ] || break
    HN=("${HN[@]:0:idx}" "${HN[@]:idx+1}"); HP=("${HP[@]:0:idx}" "${HP[@]:idx+1}"); HC=("${HC[@]:0:idx}" "${HC[@]:idx+1}")
    echo "--- again without '$name'" >> "$out"
  done
  HN=(); HP=(); HC=()
}

# report_and_exit: print the summary (what was measured so far) and exit: 1 if anything failed,
# 3 if BENCH_STRICT=1 and a target was missed
report_and_exit() {
  local rc
  set +e
  trap - ERR
  note "load at end: $(load)"
  python3 "$BENCH_SRC/report" "$BENCH_NAME" "$R" | tee "$R/summary.txt"
  rc=${PIPESTATUS[0]}
  if failed; then echo "bench FAILED: $(wc -l < "$R/failed") failure(s), listed above" >&2; exit 1; fi
  exit "$rc"
}
