#!/bin/bash
# Pull bench, run by run.sh once the registry serves the images (REG=HOST:PORT). Not meant to be run
# alone: run.sh starts the registry and cleans up (mounts, stores, registry) on exit or Ctrl-C.
# Writes hyperfine JSON exports to $BENCH_DIR/results and prints the summary (bench/report).
#   cold     every command starts from an empty store (--prepare reset.sh TOOL)
#   warm     the image is already stored; only the manifest needs checking
#   partial  debian-10layer:bookworm with debian:bookworm (its base layer) already stored
#   floors   the debian layer blob decompressed and extracted by pigz/zstd + tar on the same disk
#
# Runs are interleaved: each round runs every command of a table once (in a rotated order), so
# that load from other work on the machine hits all tools alike; the rounds are merged into one
# hyperfine-format export per table. INTERLEAVE=0 runs plain `hyperfine --runs N` instead.
#
# A command that fails (non-zero exit) is never timed: its table is dropped, the error is
# reproduced once and noted, and the bench exits 1 after printing what it has.
set -uo pipefail
. "$(dirname "$0")/env.sh"
: "${REG:?REG=HOST:PORT of the registry serving the bench images}"
R=$W/results; mkdir -p "$R"; rm -rf "$R"/*.json "$R"/*.txt "$R"/rounds "$R/notes" "$R/failed" "$R/load"
RUNS=${RUNS:-5} WARM_RUNS=${WARM_RUNS:-10} WARMUP=${WARMUP:-1} INTERLEAVE=${INTERLEAVE:-1}
IMAGES=${IMAGES:-$IMAGE_REFS}
LC_SKIP=${LC_SKIP:-}
[ -n "$LC_SKIP" ] || [ -x "$LAYERCTL" ] || LC_SKIP="$LAYERCTL not found"
S=$BENCH_SRC
for img in $IMAGES; do layout_of "$img" >/dev/null 2>&1 || die "IMAGES: unknown image $img (known: $IMAGE_REFS)"; done
note() { echo "$*" | tee -a "$R/notes" >&2; }
fail() { echo "$*" >> "$R/failed"; note "FAILED: $*"; }
has() { case " $IMAGES " in *" $1 "*) return 0 ;; esac; return 1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# psi: share of the last 60 s in which some task waited for CPU / for IO (pressure stall info)
psi() { local k; for k in cpu io; do printf '%s=%s%% ' "$k" "$(awk -F'[ =]' '/^some/{print $5}' /proc/pressure/$k 2>/dev/null)"; done; }

# hf_add NAME PREPARE CMD; hf_run FILE RUNS WARMUP: time the added commands into $R/FILE.json
HN=(); HP=(); HC=()
hf_add() { HN+=("$1"); HP+=("${2:-true}"); HC+=("$3"); }
hf_args() {  # hf_args FIRST: hyperfine arguments for all commands, starting at index FIRST (rotated)
  local n=${#HC[@]} k i
  A=()
  for ((k = 0; k < n; k++)); do
    i=$(( (k + $1) % n ))
    A+=(-n "${HN[$i]}" --prepare "${HP[$i]}" "${HC[$i]}")
  done
}
hf_fail() {  # hf_fail FILE OUT: name the failing command (FAILED_IDX), reproduce its error once, record it
  local file=$1 out=$2 name i msg
  FAILED_IDX=-1
  name=$(grep -E '^Benchmark [0-9]+: ' "$out" | tail -1 | sed 's/^Benchmark [0-9]*: //')
  for i in "${!HN[@]}"; do
    [ "${HN[$i]}" = "$name" ] || continue
    FAILED_IDX=$i
    if ! sh -c "${HP[$i]}" > "$R/$file.err" 2>&1; then
      msg="its prepare failed: $(grep -v '^\s*$' "$R/$file.err" | tail -3 | tr '\n' ' ')"
    elif eval "${HC[$i]}" > "$R/$file.err" 2>&1; then
      msg="exit 0 when run again ($(grep -m1 -E 'exit code|Error' "$out"))"
    else
      msg="exit $?: $(grep -v '^\s*$' "$R/$file.err" | tail -3 | tr '\n' ' ')"
    fi
    fail "$file: '$name' failed, not timed (the table is timed again without it): $msg"
    return
  done
  fail "$file: hyperfine failed: $(grep -v '^\s*$' "$out" | tail -2 | tr '\n' ' ')"
}
hf_once() {  # hf_once FILE RUNS WARMUP OUT: time the commands once into $R/FILE.json; non-zero on failure
  local file=$1 runs=$2 warm=$3 out=$4 r
  rm -rf "$R/rounds/$file".*
  if [ "$INTERLEAVE" = 1 ]; then
    mkdir -p "$R/rounds"
    for ((r = 1 - warm; r <= runs; r++)); do   # rounds <= 0 are warm-up rounds, not kept
      hf_args $(( (r + warm) % ${#HC[@]} ))
      echo "--- round $r" >> "$out"
      hyperfine -N --style basic --runs 1 --export-json "$R/rounds/$file.$r.json" "${A[@]}" >> "$out" 2>&1 || return 1
    done
    ORDER=$(printf '%s\n' "${HN[@]}") python3 - "$R/$file.json" $(for ((r = 1; r <= runs; r++)); do echo "$R/rounds/$file.$r.json"; done) <<'PY'
import json, os, statistics, sys
out, files = sys.argv[1], sys.argv[2:]
merged = {}
for f in files:
    for r in json.load(open(f))["results"]:
        m = merged.setdefault(r["command"], {"command": r["command"], "times": [], "exit_codes": [], "u": [], "s": []})
        m["times"] += r["times"]; m["exit_codes"] += r["exit_codes"]; m["u"].append(r["user"]); m["s"].append(r["system"])
res = []
order = [n for n in os.environ["ORDER"].split("\n") if n in merged]
for m in (merged[n] for n in order):
    t = m["times"]
    res.append({"command": m["command"], "mean": statistics.mean(t),
                "stddev": statistics.stdev(t) if len(t) > 1 else None, "median": statistics.median(t),
                "user": statistics.mean(m.pop("u")), "system": statistics.mean(m.pop("s")),
                "min": min(t), "max": max(t), "times": t, "exit_codes": m["exit_codes"]})
json.dump({"results": res, "interleaved_rounds": len(files)}, open(out, "w"), indent=2)
PY
  else
    hf_args 0
    hyperfine -N --style basic --runs "$runs" --warmup "$warm" --export-json "$R/$file.json" "${A[@]}" >> "$out" 2>&1
  fi
}
hf_run() {  # hf_run FILE RUNS WARMUP: time the added commands into $R/FILE.json; a failing one is dropped
  local file=$1 runs=$2 warm=$3 out l0
  out=$R/$file.txt; : > "$out"
  while [ ${#HC[@]} -gt 0 ]; do
    log "$file (${#HC[@]} commands x $runs runs)"
    l0=$(load)
    if hf_once "$file" "$runs" "$warm" "$out"; then
      echo "$file $l0 $(load) $(psi)" >> "$R/load"
      if [ "$INTERLEAVE" = 1 ]; then
        python3 - "$R/$file.json" >&2 <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = r["times"]
    print(f"   {r['command']:<32} median {r['median']*1000:9.1f} ms  (min {r['min']*1000:.1f}, max {r['max']*1000:.1f}, n={len(t)})")
PY
      else
        grep -E '^(Benchmark|  Time)' "$out" | sed 's/^/   /' >&2
      fi
      break
    fi
    rm -f "$R/$file.json"; hf_fail "$file" "$out"
    [ "$FAILED_IDX" -ge 0 ] || break
    HN=("${HN[@]:0:FAILED_IDX}" "${HN[@]:FAILED_IDX+1}")
    HP=("${HP[@]:0:FAILED_IDX}" "${HP[@]:FAILED_IDX+1}")
    HC=("${HC[@]:0:FAILED_IDX}" "${HC[@]:FAILED_IDX+1}")
    echo "--- again without the failing command" >> "$out"
  done
  HN=(); HP=(); HC=()
}
tag() { echo "$1" | tr ':/' '__'; }
SU="sh -c 'skopeo copy -q --src-tls-verify=false docker://$REG/%s oci:$SCR/pull/oci:t && umoci unpack --image $SCR/pull/oci:t $SCR/pull/bundle >/dev/null'"
su_cmd() { printf "$SU" "$1"; }
LCPULL="$LC pull --insecure -q"
PODPULL="$PODMAN pull -q --tls-verify=false"

# blob_gets FROM_LINE : blob GETs in the registry's access log after line FROM_LINE ("count bytes digests...")
REGLOG=$W/registry.log
loglines() { wc -l < "$REGLOG"; }
blob_gets() {
  tail -n +"$(( $1 + 1 ))" "$REGLOG" | python3 -c '
import re, sys
n = b = 0; ds = []
for l in sys.stdin:
    m = re.search(r"\"GET /v2/\S+/blobs/(sha256:[0-9a-f]+) HTTP/[0-9.]+\" (\d+) (\d+)", l)
    if m and m.group(2) in ("200", "206"):
        n += 1; b += int(m.group(3)); ds.append(m.group(1))
print(n, b, *ds)'
}
layer_digest() {  # layer_digest LAYOUT INDEX
  python3 - "$W/oci/$1" "$2" <<'PY'
import json, os, sys
d, i = sys.argv[1], int(sys.argv[2])
idx = json.load(open(os.path.join(d, 'index.json')))
m = json.load(open(os.path.join(d, 'blobs/sha256', idx['manifests'][0]['digest'][7:])))
print(m['layers'][i]['digest'])
PY
}

note "machine: $(nproc) cores, load $(load) at start, stall $(psi)(avg60); kernel $(uname -r)"
note "stores and floors: $SCR, BENCH_FS=$BENCH_FS: $(findmnt -no SOURCE,FSTYPE -T "$SCR" | tr -s ' ')$(
  [ "$BENCH_FS" = loop ] && echo " (fresh ext4 with a journal in $W/scratch.img, direct-io loop)" ||
  echo " (the filesystem of $W)")"
note "busiest processes at start (top, 0.5 s): $(top -b -n 2 -d 0.5 -o %CPU -w 200 2>/dev/null |
  awk '/^top -/ {n++} n == 2 && $1 ~ /^[0-9]+$/ {printf "%s %s%%; ", $12, $9; if (++k == 5) exit}')"
note "versions: $(hyperfine --version); skopeo $(skopeo --version | awk '{print $3}'); umoci $(umoci --version | awk '{print $3}'); podman $(podman --version | awk '{print $3}'); pigz $(pigz --version 2>&1 | awk '{print $2}'); zstd $(zstd -V | grep -o 'v[0-9.]*')"
note "runs: cold/partial/floors $RUNS (+$WARMUP warm-up), warm $WARM_RUNS (+2 warm-up), interleaved=$INTERLEAVE, old stores $([ "${BENCH_DELETE:-0}" = 1 ] && echo deleted || echo kept) between runs; images: $IMAGES"

# --- layerctl: one checked pull (and verify) per image first; an image it cannot pull is not timed ---
declare -A LC_OK=()
if [ -n "$LC_SKIP" ]; then
  note "layerctl: not measured: $LC_SKIP"
else
  note "layerctl: $LAYERCTL (built $(date -r "$LAYERCTL" '+%F %T'); tree at $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') with $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | wc -l) modified files)"
  for img in $IMAGES; do
    "$S/reset.sh" lc || die "reset.sh lc failed"
    t0=$(date +%s%N)
    if out=$($LCPULL "$REG/$img" 2>"$R/lc-check.err"); then
      t=$(( ($(date +%s%N) - t0) / 1000000 ))
      id=$(printf '%s\n' "$out" | tail -1)
      case $id in
      sha256:*)
        if v=$($LC verify "$REG/$img" 2>&1); then
          LC_OK[$img]=1
          note "layerctl pull $img: ok in $t ms, $id; verify: $(grep -c ' ok$' <<<"$v") layers ok"
        else
          fail "layerctl verify $img after pull (not timed): $(tail -2 <<<"$v" | tr '\n' ' ')"
        fi ;;
      *) fail "layerctl pull $img: exit 0 but the last stdout line is not an image ID: '$id' (not timed)" ;;
      esac
    else
      rc=$?
      fail "layerctl pull $img: exit $rc (not timed): $(grep -v '^\s*$' "$R/lc-check.err" | tail -2 | tr '\n' ' ')"
    fi
  done
  "$S/reset.sh" lc
fi

# --- cold pulls (debian's table also times its floor 'pigz -dc | tar -x', for a ratio under the same load) ---
GZ=$W/oci/debian/blobs/sha256/$(layer_digest debian 0 | cut -c8-)
FLOOR_PIGZ="sh -c 'pigz -dc $GZ | tar -x -C $SCR/floor'"
for img in $IMAGES; do
  [ -z "${LC_OK[$img]:-}" ] || hf_add layerctl "$S/reset.sh lc" "$LCPULL $REG/$img"
  hf_add skopeo+umoci "$S/reset.sh oci" "$(su_cmd "$img")"
  hf_add podman "$S/reset.sh podman" "$PODPULL $REG/$img"
  [ "$img" != debian:bookworm ] || hf_add "pigz -dc | tar -x" "$S/reset.sh floor" "$FLOOR_PIGZ"
  hf_run "cold-$(tag "$img")" "$RUNS" "$WARMUP"
done

# --- warm pulls: everything stored ---
for img in $IMAGES; do
  if [ -n "${LC_OK[$img]:-}" ]; then
    if "$S/reset.sh" lc "$REG/$img" 2>"$R/lc-check.err"; then
      hf_add layerctl "" "$LCPULL $REG/$img"
    else
      fail "warm setup: layerctl pull $img failed, not timed: $(grep -v '^\s*$' "$R/lc-check.err" | tail -2 | tr '\n' ' ')"
    fi
  fi
  "$S/reset.sh" oci "$REG/$img" t || fail "warm setup: skopeo copy $img failed"
  hf_add "skopeo copy (no unpack)" "" "skopeo copy -q --src-tls-verify=false docker://$REG/$img oci:$SCR/pull/oci:t"
  "$S/reset.sh" podman "$REG/$img" || fail "warm setup: podman pull $img failed"
  hf_add podman "" "$PODPULL $REG/$img"
  hf_run "warm-$(tag "$img")" "$WARM_RUNS" 2
  if [ -n "${LC_OK[$img]:-}" ]; then   # what does a warm pull fetch?
    n0=$(loglines)
    if $LCPULL "$REG/$img" >/dev/null 2>"$R/lc-check.err"; then
      sleep 0.2; read -r cnt bytes _ <<<"$(blob_gets "$n0")"
      note "layerctl warm pull $img: fetched $cnt blobs ($bytes bytes)"
    else
      fail "layerctl warm pull $img: $(tail -1 "$R/lc-check.err")"
    fi
  fi
done

# --- partially warm: debian-10layer with the debian base layer already stored ---
if has debian:bookworm && has debian-10layer:bookworm; then
  base=$REG/debian:bookworm img=debian-10layer:bookworm
  lc_partial=; [ -z "${LC_OK[$img]:-}" ] || [ -z "${LC_OK[debian:bookworm]:-}" ] || lc_partial=1
  [ -z "$lc_partial" ] || hf_add layerctl "$S/reset.sh lc $base" "$LCPULL $REG/$img"
  hf_add skopeo+umoci "$S/reset.sh oci $base" "$(su_cmd "$img")"
  hf_add podman "$S/reset.sh podman $base" "$PODPULL $REG/$img"
  hf_run partial-debian-10layer "$RUNS" "$WARMUP"
  if [ -n "$lc_partial" ]; then
    "$S/reset.sh" lc "$base"
    n0=$(loglines)
    if $LCPULL "$REG/$img" >/dev/null 2>"$R/lc-check.err"; then
      sleep 0.2; read -r cnt bytes digests <<<"$(blob_gets "$n0")"
      bd=$(layer_digest debian10 0)
      case " $digests " in
        *" $bd "*) fail "layerctl partial pull: fetched $cnt blobs ($bytes bytes), INCLUDING the stored base layer ${bd:0:19}" ;;
        *) note "layerctl partial pull: fetched $cnt blobs ($bytes bytes), base layer ${bd:0:19} not fetched (ok)" ;;
      esac
    else
      fail "layerctl partial pull: $(tail -1 "$R/lc-check.err")"
    fi
  fi
fi

# --- floors: the debian layer into the same filesystem as the stores ($SCR/floor) ---
if has debian:bookworm; then
  TAR=$W/tars/debian/l01.tar
  ZST=$W/floor-cache/debian.tar.zst
  mkdir -p "$W/floor-cache"
  [ "$ZST" -nt "$GZ" ] || pigz -dc "$GZ" | zstd -q -3 -T0 -f -o "$ZST" || fail "floors: zstd -3 of the debian layer failed"
  [ "$(pigz -dc "$GZ" | sha256sum | cut -c1-64)" = "$(sha256sum < "$TAR" | cut -c1-64)" ] ||
    fail "floors: $TAR is not the uncompressed debian layer blob (rebuild: rm -rf $W/oci)"
  note "floor inputs: gzip $(stat -c %s "$GZ") B, zstd -3 $(stat -c %s "$ZST") B, tar $(stat -c %s "$TAR") B, $(tar -tf "$TAR" | wc -l) entries"
  FP="$S/reset.sh floor"
  hf_add "pigz -dc" "" "pigz -dc $GZ"
  hf_add "zstd -dc" "" "zstd -dc $ZST"
  hf_add "tar -x (uncompressed)" "$FP" "tar -xf $TAR -C $SCR/floor"
  hf_add "pigz -dc | tar -x" "$FP" "$FLOOR_PIGZ"
  hf_add "zstd -dc | tar -x" "$FP" "sh -c 'zstd -dc $ZST | tar -x -C $SCR/floor'"
  hf_add "pigz -dc | tar -x && sync -f" "$FP" "sh -c 'pigz -dc $GZ | tar -x -C $SCR/floor && sync -f $SCR/floor'"
  hf_run floor-debian "$RUNS" "$WARMUP"
  "$S/reset.sh" floor
fi
"$S/reset.sh" lc; "$S/reset.sh" podman; "$S/reset.sh" oci
note "load at end: $(load), stall $(psi)(avg60)"
[ ! -d "$TRASH" ] || note "old stores kept until the end (not deleted between runs, see reset.sh): $(du -sh "$TRASH" | cut -f1)"

python3 "$S/report" pull "$R" "$RUNS" "$WARM_RUNS" | tee "$R/summary.txt"
rc=${PIPESTATUS[0]}
if [ -s "$R/failed" ]; then
  echo "bench FAILED: $(wc -l < "$R/failed") failure(s), see notes above" >&2
  exit 1
fi
exit "$rc"
