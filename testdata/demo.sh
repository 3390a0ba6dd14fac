#!/bin/bash
# End-to-end demo: build a small busybox OCI layout, pull it into a fresh store, look at it,
# stack it into a container rootfs, change it, commit the change and push the new image.
# Run from anywhere (`make demo` builds bin/layerctl first); everything goes to ./out.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYOUT=./out/busybox-layout
STORE=./out/store

# run CMD...: show the command, then run it, so the output reads like a terminal session.
run() {
  printf '\n$'
  local a
  for a in "$@"; do
    case $a in
      *[!A-Za-z0-9_./:=@%+-]*) printf " '%s'" "${a//\'/\'\\\'\'}" ;;
      *) printf ' %s' "$a" ;;
    esac
  done
  printf '\n'
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

# A container: the image's layers, a -init layer and a read-write layer, stacked by overlayfs.
ctr=$(bin/layerctl --root "$STORE" create --name demo --hostname demo1 --add-host db:10.0.0.5 busybox)
trap 'bin/layerctl --root "$STORE" rm -f "$ctr" >/dev/null 2>&1 || true' EXIT
run bin/layerctl --root "$STORE" mount demo
rootfs=$(bin/layerctl --root "$STORE" mount demo)
run cat "$rootfs/etc/hosts"
echo 'hello from layerctl' > "$rootfs/hello.txt"
rm "$rootfs/bin/vi"
run bin/layerctl --root "$STORE" diff demo
run bin/layerctl --root "$STORE" inspect demo
run bin/layerctl --root "$STORE" umount demo
run bin/layerctl --root "$STORE" umount demo
run bin/layerctl --root "$STORE" commit -m "add hello.txt" --change 'CMD ["cat", "/hello.txt"]' demo hello:1
run bin/layerctl --root "$STORE" images
rm -rf ./out/hello-layout
run bin/layerctl --root "$STORE" push hello:1 oci:./out/hello-layout:1
run bin/layerctl --root "$STORE" rm demo
trap - EXIT

# Run the committed image: its own PID 1, hostname, mounts and network, in a cgroup.
run bin/layerctl --root "$STORE" run --rm --hostname demo2 -m 64m --pids-limit 50 hello:1
run bin/layerctl --root "$STORE" run --rm hello:1 sh -c 'echo "pid $$ on $(hostname)"; ls /; cat /hello.txt'

# Build an image from a Dockerfile, one cached layer per step, then rebuild it: every step cached.
run bin/layerctl --root "$STORE" build -t greet:1 --build-arg WHO=layerctl testdata/build
run bin/layerctl --root "$STORE" build -t greet:1 --build-arg WHO=layerctl testdata/build
run bin/layerctl --root "$STORE" run --rm greet:1
