#!/bin/bash
# End-to-end demo: build a small busybox OCI layout, pull it into a fresh store, look at it.
# Run from anywhere (`make demo` builds bin/layerctl first); everything goes to ./out.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYOUT=./out/busybox-layout
STORE=./out/store

# run CMD...: show the command, then run it, so the output reads like a terminal session.
run() {
  printf '\n$ %s\n' "$*"
  "$@"
}

[ -x bin/layerctl ] || { echo "bin/layerctl not built; run: make build" >&2; exit 1; }

run testdata/mkimage.sh busybox "$LAYOUT"

# A fresh store each time. Never delete a store that still has something mounted in it.
if grep -qF " $PWD/out/store" /proc/self/mountinfo; then
  echo "$STORE has mounts; umount them first" >&2
  exit 1
fi
rm -rf "$STORE"

run bin/layerctl --root "$STORE" pull "oci:$LAYOUT:latest" busybox:latest
run bin/layerctl --root "$STORE" images
run bin/layerctl --root "$STORE" inspect busybox
run bin/layerctl --root "$STORE" layers
run bin/layerctl --root "$STORE" verify busybox
run bin/layerctl --root "$STORE" info
