#!/usr/bin/env python3
"""Summarize the hyperfine JSON exports of pull.sh: medians, ratios and targets (PASS/MISS).

usage: report.py RESULTS_DIR [RUNS] [WARM_RUNS]
Exits 3 when BENCH_STRICT=1 and a target was missed or layerctl was not measured.
"""
import json
import os
import sys

R = sys.argv[1]
RUNS = sys.argv[2] if len(sys.argv) > 2 else "?"
WARM_RUNS = sys.argv[3] if len(sys.argv) > 3 else "?"
IMAGES = ["busybox:latest", "debian:bookworm", "debian-10layer:bookworm", "many:64"]
WARM_TARGET = 0.050
FLOORS = ["pigz -dc", "zstd -dc", "tar -x (uncompressed)", "pigz -dc | tar -x", "zstd -dc | tar -x",
          "pigz -dc | tar -x && sync -f"]
targets = []  # (ok or None, text)


def load(name):
    """{command name: result} of one export, or {}."""
    try:
        with open(os.path.join(R, name + ".json")) as f:
            return {r["command"]: r for r in json.load(f)["results"]}
    except (OSError, ValueError, KeyError):
        return {}


def med(res, name):
    r = res.get(name)
    return r["median"] if r else None


def fmt(s):
    if s is None:
        return "-"
    return f"{s * 1000:.1f} ms" if s < 0.1 else f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def ratio(a, b):
    return a / b if a is not None and b else None


def fr(x):
    return "-" if x is None else f"{x:.2f}x"


def fr3(x):
    return "-" if x is None else f"{x:.3f}x"


def target(ok_when, what, value, limit, detail):
    """Record a target: value <= limit (or < limit when ok_when == '<')."""
    if value is None:
        targets.append((None, f"{what}: not measured"))
        return
    ok = value < limit if ok_when == "<" else value <= limit
    targets.append((ok, f"{what}: {detail}"))


def tag(ref):
    return ref.replace(":", "_").replace("/", "_")


def table(title, col, short, rows):
    """rows: (image, lc, other, podman)"""
    print(title)
    print(f"  {'image':<24} {'layerctl':>9} {col:>13} {'podman':>9} {'lc/' + short:>9} {'lc/podman':>9}")
    for ref, lc, other, pod in rows:
        print(f"  {ref:<24} {fmt(lc):>9} {fmt(other):>13} {fmt(pod):>9} {fr(ratio(lc, other)):>9} "
              f"{fr(ratio(lc, pod)):>9}")


floors = load("floor-debian")
lc_any = False
cold = {ref: load("cold-" + tag(ref)) for ref in IMAGES}
# the floor of the debian target: timed in the cold debian table (same rounds, same load) when there
floor_pigz = med(cold["debian:bookworm"], "pigz -dc | tar -x")
floor_where = "timed in the cold debian table"
if floor_pigz is None:
    floor_pigz, floor_where = med(floors, "pigz -dc | tar -x"), "from the floors table"
warm = {ref: load("warm-" + tag(ref)) for ref in IMAGES}
partial = load("partial-debian-10layer")

rows = []
for ref in IMAGES:
    res = cold[ref]
    if res:
        rows.append((ref, med(res, "layerctl"), med(res, "skopeo+umoci"), med(res, "podman")))
        lc_any |= med(res, "layerctl") is not None
if rows:
    table(f"\nCOLD PULL: empty store before every run (median of {RUNS})", "skopeo+umoci", "s+u", rows)
    if cold["debian:bookworm"].get("pigz -dc | tar -x"):
        lc = med(cold["debian:bookworm"], "layerctl")
        print(f"  {'floor pigz -dc | tar -x':<24} {fmt(floor_pigz):>9}   (debian layer, timed in the same rounds;"
              f" layerctl / floor = {fr(ratio(lc, floor_pigz))})")

rows = []
for ref in IMAGES:
    res = warm[ref]
    if res:
        rows.append((ref, med(res, "layerctl"), med(res, "skopeo copy (no unpack)"), med(res, "podman")))
        lc_any |= med(res, "layerctl") is not None
if rows:
    table(f"\nWARM PULL: image already stored (median of {WARM_RUNS}); skopeo copy with every blob present, "
          "no unpack (umoci has no warm path)", "skopeo copy", "skopeo", rows)

if partial:
    lc_p = med(partial, "layerctl")
    table(f"\nPARTIAL PULL: debian-10layer:bookworm with debian:bookworm (its base layer) already stored "
          f"(median of {RUNS})", "skopeo+umoci", "s+u",
          [("debian-10layer:bookworm", lc_p, med(partial, "skopeo+umoci"), med(partial, "podman"))])
    lc_c = med(cold["debian-10layer:bookworm"], "layerctl")
    if lc_p is not None and lc_c:
        print(f"  layerctl partial / layerctl cold debian-10layer = {fr(ratio(lc_p, lc_c))}")

if floors:
    lc_d = med(cold["debian:bookworm"], "layerctl")
    print(f"\nFLOORS: the debian layer decompressed / extracted into the same disk (median of {RUNS})")
    print(f"  {'command':<30} {'median':>9} {'lc cold debian / floor':>23}")
    for name in FLOORS:
        m = med(floors, name)
        if m is not None:
            print(f"  {name:<30} {fmt(m):>9} {fr(ratio(lc_d, m)):>23}")
    print("  (layerctl syncs the store's filesystem once per layer: 'pigz -dc | tar -x && sync -f' is its"
          " like-for-like floor)")

# --- targets ---
d = cold["debian:bookworm"]
lc, pod = med(d, "layerctl"), med(d, "podman")
if d:
    target("<=", "debian:bookworm cold <= 0.5x podman", ratio(lc, pod), 0.5,
           f"{fmt(lc)} / {fmt(pod)} = {fr3(ratio(lc, pod))}")
if d and floor_pigz is not None:
    target("<=", "debian:bookworm cold <= 1.5x floor 'pigz -dc | tar -x'", ratio(lc, floor_pigz), 1.5,
           f"{fmt(lc)} / {fmt(floor_pigz)} = {fr3(ratio(lc, floor_pigz))} (floor {floor_where})")
m = cold["many:64"]
if m:
    lc, su = med(m, "layerctl"), med(m, "skopeo+umoci")
    target("<=", "many:64 cold <= 1.0x skopeo+umoci", ratio(lc, su), 1.0,
           f"{fmt(lc)} / {fmt(su)} = {fr3(ratio(lc, su))}")
for ref in IMAGES:
    if warm[ref]:
        lc = med(warm[ref], "layerctl")
        r = warm[ref].get("layerctl")
        cpu = f" (mean CPU {fmt(r['user'] + r['system'])})" if r else ""
        target("<", f"{ref} warm < 50 ms", lc, WARM_TARGET, fmt(lc) + cpu)
if targets:
    print("\nTARGETS")
    for ok, text in targets:
        print(f"  {'n/a ' if ok is None else 'PASS' if ok else 'MISS'}  {text}")

# --- details: every table's median, min-max, CPU ---
print("\nDETAILS: median (min - max) [mean user + sys CPU] per command")
names = [("cold-" + tag(r), f"cold {r}") for r in IMAGES] + [("warm-" + tag(r), f"warm {r}") for r in IMAGES] + \
        [("partial-debian-10layer", "partial debian-10layer"), ("floor-debian", "floors")]
loads = {}
try:
    with open(os.path.join(R, "load")) as f:
        for line in f:
            p = line.split()
            loads[p[0]] = f"load {p[1]} -> {p[4]}" + (f", stall over the last 60 s: {' '.join(p[7:])}" if len(p) > 7 else "")
except OSError:
    pass
for file, title in names:
    res = load(file)
    if not res:
        continue
    print(f"  {title}  ({loads.get(file, '')}, n={len(next(iter(res.values()))['times'])})")
    for name, r in res.items():
        print(f"    {name:<30} {fmt(r['median']):>9} ({fmt(r['min'])} - {fmt(r['max'])})"
              f"  [{fmt(r['user'] + r['system'])} CPU]")

notes = os.path.join(R, "notes")
if os.path.exists(notes):
    print("\nNOTES")
    with open(notes) as f:
        for line in f:
            print("  " + line.rstrip())

print(f"\nraw hyperfine exports (every run's time): {os.environ.get('BENCH_OUT_DIR') or R}/*.json")
missed = [t for ok, t in targets if ok is False]
if not lc_any:
    print("targets: not checked (layerctl not measured)")
else:
    print(f"targets: {sum(1 for ok, _ in targets if ok)} PASS, {len(missed)} MISS")
if os.path.exists(os.path.join(R, "failed")):
    with open(os.path.join(R, "failed")) as f:
        fails = [l.rstrip() for l in f if l.strip()]
    if fails:
        print(f"FAILED ({len(fails)}): a failing command is not timed")
        for l in fails:
            print("  " + l)
if os.environ.get("BENCH_STRICT") == "1" and (missed or not lc_any):
    sys.exit(3)
