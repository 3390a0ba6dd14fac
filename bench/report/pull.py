"""The pull bench (bench/pull.sh): cold, warm and partial pulls against skopeo+umoci and podman, and floors."""
import os

from common import fmt, fr, med, ratio

IMAGES = ["busybox:latest", "debian:bookworm", "debian-10layer:bookworm", "many:64"]
WARM_TARGET = 0.050
FLOORS = ["pigz -dc", "zstd -dc", "tar -x (uncompressed)", "pigz -dc | tar -x", "zstd -dc | tar -x",
          "pigz -dc | tar -x && sync -f"]


def tag(ref):
    return ref.replace(":", "_").replace("/", "_")


def table(title, col, short, rows):
    """rows: (image, lc, other, podman)"""
    print(title)
    print(f"  {'image':<24} {'layerctl':>9} {col:>13} {'podman':>9} {'lc/' + short:>9} {'lc/podman':>9}")
    for ref, lc, other, pod in rows:
        print(f"  {ref:<24} {fmt(lc):>9} {fmt(other):>13} {fmt(pod):>9} {fr(ratio(lc, other)):>9} "
              f"{fr(ratio(lc, pod)):>9}")


def report(rep, runs="?", warm_runs="?"):
    print("Pull: layerctl vs skopeo+umoci vs podman from one local registry (bench/pull.sh)")
    rep.notes()
    floors = rep.load("floor-debian")
    cold = {ref: rep.load("cold-" + tag(ref)) for ref in IMAGES}
    warm = {ref: rep.load("warm-" + tag(ref)) for ref in IMAGES}
    partial = rep.load("partial-debian-10layer")
    # the floor of the debian target: timed in the cold debian table (same rounds, same load) when there
    floor_pigz, floor_where = med(cold["debian:bookworm"], "pigz -dc | tar -x"), "timed in the cold debian table"
    if floor_pigz is None:
        floor_pigz, floor_where = med(floors, "pigz -dc | tar -x"), "from the floors table"

    rows = [(ref, med(cold[ref], "layerctl"), med(cold[ref], "skopeo+umoci"), med(cold[ref], "podman"))
            for ref in IMAGES if cold[ref]]
    if rows:
        table(f"\nCOLD PULL: empty store before every run (median of {runs})", "skopeo+umoci", "s+u", rows)
        if floor_pigz is not None and cold["debian:bookworm"]:
            lc = med(cold["debian:bookworm"], "layerctl")
            print(f"  {'floor pigz -dc | tar -x':<24} {fmt(floor_pigz):>9}   (debian layer, {floor_where};"
                  f" layerctl / floor = {fr(ratio(lc, floor_pigz))})")
    rows = [(ref, med(warm[ref], "layerctl"), med(warm[ref], "skopeo copy (no unpack)"), med(warm[ref], "podman"))
            for ref in IMAGES if warm[ref]]
    if rows:
        table(f"\nWARM PULL: image already stored (median of {warm_runs}); skopeo copy with every blob present, "
              "no unpack (umoci has no warm path)", "skopeo copy", "skopeo", rows)
    if partial:
        lc_p = med(partial, "layerctl")
        table(f"\nPARTIAL PULL: debian-10layer:bookworm with debian:bookworm (its base layer) already stored "
              f"(median of {runs})", "skopeo+umoci", "s+u",
              [("debian-10layer:bookworm", lc_p, med(partial, "skopeo+umoci"), med(partial, "podman"))])
        lc_c = med(cold["debian-10layer:bookworm"], "layerctl")
        if lc_p is not None and lc_c:
            print(f"  layerctl partial / layerctl cold debian-10layer = {fr(ratio(lc_p, lc_c))}")
    if floors:
        lc_d = med(cold["debian:bookworm"], "layerctl")
        print(f"\nFLOORS: the debian layer decompressed / extracted into the same disk (median of {runs})")
        print(f"  {'command':<30} {'median':>9} {'lc cold debian / floor':>23}")
        for name in FLOORS:
            if med(floors, name) is not None:
                print(f"  {name:<30} {fmt(med(floors, name)):>9} {fr(ratio(lc_d, med(floors, name))):>23}")
        print("  (layerctl syncs the store's filesystem once per layer: 'pigz -dc | tar -x && sync -f' is its"
              " like-for-like floor)")
    targets(rep, cold, warm, floor_pigz, floor_where)
    details(rep)


def targets(rep, cold, warm, floor_pigz, floor_where):
    d = cold["debian:bookworm"]
    lc = med(d, "layerctl")
    if d:
        rep.le("debian:bookworm cold <= 0.5x podman", ratio(lc, med(d, "podman")), 0.5, fr)
        rep.le("debian:bookworm cold <= 1.5x floor 'pigz -dc | tar -x' (stretch 1.2x)", ratio(lc, floor_pigz), 1.5,
               fr, f"; {fmt(lc)} / {fmt(floor_pigz)}, floor {floor_where}")
    m = cold["many:64"]
    if m:
        rep.le("many:64 cold <= 1.0x skopeo+umoci", ratio(med(m, "layerctl"), med(m, "skopeo+umoci")), 1.0, fr)
    for ref in IMAGES:
        if warm[ref]:
            r = warm[ref].get("layerctl")
            cpu = f"; mean CPU {fmt(r['user'] + r['system'])}" if r else ""
            rep.le(f"{ref} warm <= 50 ms", med(warm[ref], "layerctl"), WARM_TARGET, fmt, cpu)


def details(rep):
    print("\nDETAILS: median (min - max) [mean user + sys CPU] per command")
    names = [("cold-" + tag(r), f"cold {r}") for r in IMAGES] + [("warm-" + tag(r), f"warm {r}") for r in IMAGES] + \
            [("partial-debian-10layer", "partial debian-10layer"), ("floor-debian", "floors")]
    loads = {}
    for line in rep.lines("load"):
        p = line.split()
        loads[p[0]] = f"load {p[1]} -> {p[4]}" + (f", stall over the last 60 s: {' '.join(p[7:])}" if len(p) > 7 else "")
    for file, title in names:
        res = rep.load(file)
        if res:
            print(f"  {title}  ({loads.get(file, '')}, n={len(next(iter(res.values()))['times'])})")
            for name, r in res.items():
                print(f"    {name:<30} {fmt(r['median']):>9} ({fmt(r['min'])} - {fmt(r['max'])})"
                      f"  [{fmt(r['user'] + r['system'])} CPU]")
    print(f"\nraw hyperfine exports (every run's time): {os.environ.get('BENCH_OUT_DIR') or rep.rdir}/*.json")
