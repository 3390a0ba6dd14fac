#!/bin/bash
# install.sh [CMD...]: the one install step of bench/. Installs the Debian 12 packages of the commands a
# benchmark needs (all of them when none is named) that are missing; a no-op on a prepared machine.
# `make bench` runs it once before the benchmarks; each script runs it for its own commands when run alone.
# busybox-static counts as missing when /bin/busybox is not the static one (it is copied into images).
set -euo pipefail
log() { printf '== %s\n' "$*" >&2; }
# command -> the package that provides it
declare -A pkg=([hyperfine]=hyperfine [skopeo]=skopeo [umoci]=umoci [docker-registry]=docker-registry
  [podman]=podman [buildah]=buildah [runc]=runc [crun]=crun [debootstrap]=debootstrap [pigz]=pigz [zstd]=zstd
  [strace]=strace [dockerd]=docker.io [nsenter]=util-linux [unshare]=util-linux [python3]=python3 [go]=golang-go [tmux]=tmux [jq]=jq)
[ $# -gt 0 ] || set -- hyperfine skopeo umoci docker-registry podman buildah runc crun debootstrap pigz zstd strace nsenter unshare tmux dockerd
need=()
for t in "$@" python3; do
  [ -n "${pkg[$t]:-}" ] || { echo "install.sh: no package known for $t" >&2; exit 2; }
  command -v "$t" >/dev/null 2>&1 || need+=("${pkg[$t]}")
done
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
[ ${#need[@]} -gt 0 ] || exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
command -v apt-get >/dev/null || { echo "install.sh: missing ${need[*]} and no apt-get to install them" >&2; exit 1; }
log "installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
  { echo "install.sh: apt-get install ${need[*]} failed" >&2; exit 1; }
