#!/bin/bash
# Explore bench: layerctl explore --format json and history on debian:bookworm (one layer, ~6,666
# entries) and debian-10layer:bookworm (the same base + 9 layers of changes), images of images.sh
# pulled into a store of the scratch dir first (untimed).
#
#   sudo bench/explore.sh                 full run
#   sudo RUNS=3 bench/explore.sh          quick run
#
# Table (median of RUNS after WARMUP warm-up runs, hyperfine -N: no shell, output discarded):
#   explore   explore --format json debian | explore --format json debian-10layer | history debian-10layer
#             targets: json debian < 150 ms, json debian-10layer < 250 ms, history < 250 ms
#   tui       explore debian-10layer in tmux until its first screen is drawn (bench/explore_tui.py)
#             target: < 300 ms
#
# Env: RUNS (10), WARMUP (1), INTERLEAVE (1), BENCH_DIR (image cache, /tmp/layerctl-bench),
#      CTR_SCRATCH (the store, /tmp/layerctl-bench-explore; removed at the end), LAYERCTL (bin/layerctl),
#      BENCH_STRICT=1 (exit 3 when a target is missed).
# Output: the summary on stdout, saved with the hyperfine exports in bench/out/explore-DATE/ and
# bench/out/explore-latest.txt. Exit 0 ok, 1 a command failed (it is never timed), 3 missed (strict).
set -euo pipefail
. "$(dirname "$0")/containers_lib.sh"
ctr_init explore

ensure_tools hyperfine
ensure_layerctl
ensure_debian
snapshot debian
snapshot debian10

need "layerctl pull debian" $LCX pull -q "oci:$CT/img/debian:latest" debian:bookworm
need "layerctl pull debian-10layer" $LCX pull -q "oci:$CT/img/debian10:latest" debian-10layer:bookworm
entries=$($LCX explore --format json debian:bookworm | python3 -c 'import json,sys; print(sum(len(l["added"]) for l in json.load(sys.stdin)["layers"]))')
note "debian:bookworm: $entries entries added by its layer"

hf_add "explore --format json debian" "" "$LCX explore --format json debian:bookworm"
hf_add "explore --format json debian-10layer" "" "$LCX explore --format json debian-10layer:bookworm"
hf_add "history debian-10layer" "" "$LCX history debian-10layer:bookworm"
hf_run explore "$RUNS" "$WARMUP"
# the TUI's first screen, in tmux: hyperfine cannot tell when a screen is drawn
ensure_tools tmux
chk "explore TUI first screen" python3 "$BENCH_SRC/explore_tui.py" "$R/tui.json" "$RUNS" $LCX explore debian-10layer:bookworm || true
report_and_exit
