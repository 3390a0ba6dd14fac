#!/usr/bin/env python3
"""Summary of bench/containers.sh and bench/commit.sh: tables of the hyperfine exports, ratios, targets.

usage: containers_report.py containers|commit RESULTS_DIR
Reads RESULTS_DIR/TABLE.json (hyperfine exports), RESULTS_DIR/notes, RESULTS_DIR/failed and
RESULTS_DIR/load. Exits 3 when BENCH_STRICT=1 and a target was missed or could not be measured.
"""
import json
import os
import sys

MODE, R = sys.argv[1], sys.argv[2]
targets = []  # (ok: True/False/None, text)


def load(table):
    try:
        with open(os.path.join(R, table + ".json")) as f:
            return {r["command"]: r for r in json.load(f)["results"]}
    except (OSError, ValueError, KeyError):
        return {}


def read(name):
    try:
        with open(os.path.join(R, name)) as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    except OSError:
        return []


def fmt(s):
    if s is None:
        return "-"
    if s < 0.01:
        return f"{s * 1000:.2f} ms"
    if s < 1:
        return f"{s * 1000:.1f} ms"
    return f"{s:.2f} s"


def fus(s):
    return "-" if s is None else f"{s * 1e6:.1f} µs"


def fr(x):
    return "-" if x is None else f"{x:.3f}x" if x < 1 else f"{x:.2f}x"


def med(res, name):
    r = res.get(name)
    return r["median"] if r else None


def ratio(a, b):
    return a / b if a is not None and b else None


def table(title, res, names, ref=None, extra=None):
    """Print one table; ref: the command the ratio column divides by."""
    print(f"\n### {title}\n")
    if ref:
        print(f"ratio = median / median of '{ref}'\n")
    hdr = f"| {'command':<46} | {'median':>10} | {'min – max':>21} | {'n':>2} | {'user+sys':>9} |"
    sep = f"|{'-' * 48}|{'-' * 12}|{'-' * 23}|{'-' * 4}|{'-' * 11}|"
    if ref:
        hdr += f" {'ratio':>7} |"
        sep += f"{'-' * 9}|"
    print(hdr)
    print(sep)
    for n in names:
        r = res.get(n)
        if not r:
            line = f"| {n:<46} | {'not timed':>10} | {'':>21} | {'':>2} | {'':>9} |"
            if ref:
                line += f" {'':>7} |"
            print(line)
            continue
        mm = f"{fmt(r['min'])} – {fmt(r['max'])}"
        line = (f"| {n:<46} | {fmt(r['median']):>10} | {mm:>21} | {len(r['times']):>2} |"
                f" {fmt(r['user'] + r['system']):>9} |")
        if ref:
            line += f" {fr(ratio(r['median'], med(res, ref))):>7} |"
        print(line)
    for e in extra or []:
        print(e)


def target(ok, text):
    targets.append((ok, text))


def check_le(what, value, limit, show):
    """Target value <= limit; show formats value and limit."""
    if value is None:
        target(None, f"{what}: not measured")
    else:
        target(value <= limit, f"{what}: {show(value)} (limit {show(limit)})")


def containers():
    cyc = load("cycle")
    L, P = "layerctl create+mount+umount+rm", "podman create+mount+umount+rm"
    table("Create + mount + umount + rm of a debian:bookworm container (one sh -c per cycle)", cyc, [L, P], ref=P)
    check_le("create-mount cycle, layerctl / podman", ratio(med(cyc, L), med(cyc, P)), 0.2, fr)

    first = load("mount-600-first")
    mnt = load("mount")
    mnt.update(first)
    counts = [1, 64, 260, 600]
    lb = lambda n: "1 layer" if n == 1 else f"{n} layers"
    names = ["layerctl mount, 600 layers, first (flattens)"]
    names += [f"layerctl mount, {lb(n)}" for n in counts]
    names += [f"layerctl umount, {lb(n)}" for n in counts]
    pm = [n for n in ("podman mount, 64 layers", "podman umount, 64 layers") if n in mnt]
    ex = []
    t1, t260 = med(mnt, "layerctl mount, 1 layer"), med(mnt, "layerctl mount, 260 layers")
    u1, u260 = med(mnt, "layerctl umount, 1 layer"), med(mnt, "layerctl umount, 260 layers")
    g = (t260 - t1) / 259 if t1 is not None and t260 is not None else None
    gu = (u260 - u1) / 259 if u1 is not None and u260 is not None else None
    mn = lambda n: mnt[n]["min"] if n in mnt else None
    m1, m260 = mn("layerctl mount, 1 layer"), mn("layerctl mount, 260 layers")
    gm = (m260 - m1) / 259 if m1 is not None and m260 is not None else None
    ex.append(f"\ngrowth per layer, (t260 - t1) / 259: mount {fus(g)}, umount {fus(gu)} (medians); "
              f"mount {fus(gm)} (from the minimums, less sensitive to load)")
    pairs = [(n, med(mnt, f"layerctl mount, {lb(n)}"), med(mnt, f"layerctl umount, {lb(n)}")) for n in counts]
    ex.append("mount + umount (sum of medians): " + ", ".join(
        f"{lb(n)} {fmt(a + b)}" for n, a, b in pairs if a is not None and b is not None))
    f600, l600 = med(mnt, names[0]), med(mnt, "layerctl mount, 600 layers")
    if f600 is not None and l600 is not None:
        ex.append(f"600 layers: first mount (flattening included) {fmt(f600)}, later mounts {fmt(l600)} "
                  f"({fr(ratio(f600, l600))})")
    p64, l64 = med(mnt, "podman mount, 64 layers"), med(mnt, "layerctl mount, 64 layers")
    if p64 is not None:
        ex.append(f"64 layers: layerctl mount {fmt(l64)} vs podman mount {fmt(p64)} ({fr(ratio(l64, p64))}); "
                  f"peers' reference figure for podman mount of 64 layers: 77 ms")
    else:
        ex.append("peers' reference figure: podman mount of a 64-layer container 77 ms")
    table("Mount / umount of an existing container (testdata/mkimage.sh many N); whole commands",
          mnt, names + pm, extra=ex)
    check_le("260-layer layerctl mount, whole command", t260, 0.015, fmt)

    d = load("diff")
    D0, D1, DK = "layerctl diff, 0 changes", "layerctl diff, 1 change", "layerctl diff, 10,000 changes"
    a0, a1, ak = med(d, D0), med(d, D1), med(d, DK)
    ex = []
    if a1 is not None and ak is not None:
        ex.append(f"\n10,000 changes / 1 change: {fr(ratio(ak, a1))}; cost per change (t10000 - t1) / 9999: "
                  f"{fus((ak - a1) / 9999)}")
    if a0 is not None and a1 is not None:
        ex.append(f"1 change - 0 changes: {fmt(a1 - a0) if a1 >= a0 else '-' + fmt(a0 - a1)}")
    table("diff of a debian:bookworm container after N changes made through the merged path", d, [D0, D1, DK],
          ref=D1, extra=ex)


def commit():
    c = load("commit")
    L, B, P, U = "layerctl commit", "buildah commit", "podman commit", "umoci repack (whole-rootfs diff)"
    rows = [L, B, P, U]
    table("Commit of one changed file (/etc/motd + 1 line) on debian:bookworm", c, rows, ref=L)
    check_le("commit, layerctl / buildah", ratio(med(c, L), med(c, B)), 0.5, fr)
    check_le("commit, layerctl / umoci repack", ratio(med(c, L), med(c, U)), 0.05, fr)

    big = load("commit-big")
    S, G = "layerctl commit, debian (1x)", "layerctl commit, debian-big (10x)"
    size = read("big-size")
    table("The same one-line commit on a 10x larger image (timed side by side)", big, [S, G], ref=S,
          extra=["\n" + size[0]] if size else None)
    check_le("commit on the 10x image / on debian", ratio(med(big, G), med(big, S)), 1.2, fr)


print(f"## layerctl {MODE} bench")
notes = read("notes")
if notes:
    print()
    for n in notes:
        print(f"- {n}")
if MODE == "containers":
    containers()
elif MODE == "commit":
    commit()
else:
    sys.exit(f"unknown mode {MODE}")
ld = read("load")
if ld:
    print("\nload average (1/5/15 min) before -> after each table: " + "; ".join(ld))
print("\n### Targets\n")
for ok, text in targets:
    print(f"- {'PASS' if ok else 'MISS' if ok is False else 'N/A '}  {text}")
failed = read("failed")
if failed:
    print("\n### Failures (these commands were not timed)\n")
    for f in failed:
        print(f"- {f}")
strict = os.environ.get("BENCH_STRICT") == "1"
sys.exit(3 if strict and any(ok is not True for ok, _ in targets) else 0)
